"""The build lock keeps the steps of two runs apart, and a killed holder never keeps it."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pipelines import build_lock
from pipelines.config import Settings

# Holds the lock in another process until its standard input closes.
HOLDER = """
import sys
import threading
from pathlib import Path
from pipelines import build_lock
from pipelines.config import Layout
with build_lock.held(Layout(Path(sys.argv[1])), "stage"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def holder(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.paths.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_step_waits_for_the_holder_and_says_who_it_is(settings: Settings) -> None:
    with (
        holder(settings),
        pytest.raises(build_lock.LockTimeoutError, match=r"stage \(pid \d+"),
        build_lock.held(settings.paths, "publish", timeout_seconds=1),
    ):
        pass  # pragma: no cover - the lock is never granted


def test_a_killed_holder_releases_the_lock(settings: Settings) -> None:
    with holder(settings) as process:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        with build_lock.held(settings.paths, "publish", timeout_seconds=5):
            pass


def test_a_step_inside_a_step_of_the_same_process_does_not_wait(settings: Settings) -> None:
    with (
        build_lock.held(settings.paths, "run", timeout_seconds=1),
        build_lock.held(settings.paths, "stage", timeout_seconds=1),
    ):
        pass
    # Released once the outer step ends: another process gets it.
    with holder(settings):
        pass


def test_a_waiter_reports_the_holder_by_name_once_it_has_named_itself(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Taken here, unnamed for a moment, as by a holder that has just got it: the waiter
    # waits for the name instead of reporting an anonymous holder.
    path = build_lock.lock_path(settings.paths)
    path.parent.mkdir(parents=True)
    with path.open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        threading.Timer(1.0, lambda: path.write_text("stage (pid 1, since 00:00:00 UTC)")).start()
        threading.Timer(2.0, lambda: fcntl.flock(handle.fileno(), fcntl.LOCK_UN)).start()
        with caplog.at_level("INFO"), build_lock.held(settings.paths, "publish"):
            pass
    assert "publish: waiting for the build lock, held by stage (pid 1" in caplog.text
    assert "just started" not in caplog.text
