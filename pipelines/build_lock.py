"""One step at a time: every step that reads or writes the layers after landing holds the
build lock while it runs.

Two runs can be active at once: Airflow counts a backfill's runs apart from the scheduled
ones (so `max_active_runs=1` does not keep them apart), and `loyalty backfill` may run
beside the DAG. The lock keeps their steps from overlapping; `pipelines.lineage` keeps a
step from building on inputs another run's steps replaced in between.

The lock is an exclusive `flock` on `ops/build.lock` in the data directory: the kernel
releases it when its holder exits, killed or not, so a crash never leaves it held. It
works between processes of one machine (and on file systems that honour flock); a
step in this process that already holds it (`loyalty run` around its steps) takes it
again without waiting.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from pipelines.config import Layout, Settings
from pipelines.errors import LoyaltyError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
REPORT_EVERY_SECONDS = 60.0
NAME_GRACE_SECONDS = 5.0

P = ParamSpec("P")
R = TypeVar("R")


class LockTimeoutError(LoyaltyError):
    """Another run held the build lock for longer than this step would wait."""


class _Holding:
    """How many nested steps of this process hold the lock (0: not held)."""

    depth = 0


def lock_path(layout: Layout) -> Path:
    return layout.root / "ops" / "build.lock"


@contextmanager
def held(layout: Layout, step: str, timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold the build lock for `step`, waiting for another holder (at most
    `timeout_seconds`; None waits as long as it takes)."""
    if _Holding.depth:
        _Holding.depth += 1
        try:
            yield
        finally:
            _Holding.depth -= 1
        return
    path = lock_path(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        _acquire(handle.fileno(), path, step, timeout_seconds)
        # Who holds it, for the next waiter's log line: metadata only, it decides nothing.
        handle.seek(0)
        handle.truncate()
        handle.write(f"{step} (pid {os.getpid()}, since {dt.datetime.now(dt.UTC):%H:%M:%S} UTC)")
        handle.flush()
        _Holding.depth = 1
        try:
            yield
        finally:
            _Holding.depth = 0
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _acquire(descriptor: int, path: Path, step: str, timeout_seconds: float | None) -> None:
    started = time.monotonic()
    reported = None
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if reported is not None:
                log.info("%s: got the build lock after %.0fs", step, time.monotonic() - started)
            return
        except BlockingIOError:
            waited = time.monotonic() - started
            if timeout_seconds is not None and waited >= timeout_seconds:
                raise LockTimeoutError(
                    f"{step}: another run still holds the build lock after {waited:.0f}s "
                    f"({_holder(path) or 'holder unknown'}); it is released when that step ends"
                ) from None
            holder = _holder(path)
            # The holder names itself just after taking the lock: wait a moment for that
            # name rather than report an anonymous holder.
            named = holder is not None or waited >= NAME_GRACE_SECONDS
            if named and (reported is None or waited - reported >= REPORT_EVERY_SECONDS):
                log.info(
                    "%s: waiting for the build lock, held by %s",
                    step,
                    holder or "a step that has just started",
                )
                reported = waited
            time.sleep(POLL_SECONDS)


def _holder(path: Path) -> str | None:
    return path.read_text().strip() or None


def locked(
    step: str,
) -> Callable[[Callable[Concatenate[Settings, P], R]], Callable[Concatenate[Settings, P], R]]:
    """Run the decorated step (first argument: the settings) holding the build lock."""

    def decorate(
        function: Callable[Concatenate[Settings, P], R],
    ) -> Callable[Concatenate[Settings, P], R]:
        @wraps(function)
        def run_locked(settings: Settings, *args: P.args, **kwargs: P.kwargs) -> R:
            with held(settings.paths, step):
                return function(settings, *args, **kwargs)

        return run_locked

    return decorate
