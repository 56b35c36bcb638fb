"""Crash safety: a nightly run killed (SIGKILL) at random points, many times. Each time the
published warehouse is intact and opens, and the next run publishes what an uninterrupted
run does. Also: a failed backfill resumes at the first date not yet done."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import checksums, run
from pipelines.config import Settings
from pipelines.errors import ContractError
from pipelines.synth import SynthConfig, generate
from tests.conftest import TEST_PII_KEY

pytestmark = pytest.mark.integration

LOYALTY = str(Path(sys.executable).parent / "loyalty")
KILLS = 8
SEED = 20261123  # the kill points are random, but the same on every run of the test


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, pii_key=TEST_PII_KEY)


def _start_nightly(data_dir: Path, day: dt.date) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env |= {"LOYALTY_DATA_DIR": str(data_dir), "LOYALTY_PII_KEY": TEST_PII_KEY}
    return subprocess.Popen(
        [LOYALTY, "run", "--date", day.isoformat()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes every child too
    )


def _published(settings: Settings) -> dict[str, str]:
    """Opening the warehouse read-only, as a BI tool does, and reading every table."""
    return checksums.of_database(settings.paths.warehouse_db)


def test_a_run_killed_at_random_points_leaves_the_warehouse_intact_and_recovers(
    tmp_path: Path,
) -> None:
    history = _settings(tmp_path / "history")
    exports = generate(history.paths, SynthConfig(customers=300, months=2, seed=3))
    day = exports.end
    run.backfill(history, exports.start, day - dt.timedelta(days=1))
    before = _published(history)

    uninterrupted = _settings(tmp_path / "data")
    shutil.copytree(history.data_dir, uninterrupted.data_dir, symlinks=True)
    started = time.monotonic()
    assert _start_nightly(uninterrupted.data_dir, day).wait() == 0
    duration = time.monotonic() - started
    expected = _published(uninterrupted)
    assert expected != before  # the day changes the warehouse, so a lost run would show
    shutil.rmtree(uninterrupted.data_dir)

    # The same place as the uninterrupted run: the load audit records landing paths.
    crashed = _settings(tmp_path / "data")
    shutil.copytree(history.data_dir, crashed.data_dir, symlinks=True)
    chance = random.Random(SEED)
    for kill in range(KILLS):
        process = _start_nightly(crashed.data_dir, day)
        time.sleep(chance.uniform(0.2, duration))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        published = _published(crashed)
        assert published in (before, expected), f"kill {kill}: a torn warehouse"
    assert _start_nightly(crashed.data_dir, day).wait() == 0
    assert _published(crashed) == expected
    # Nothing half-written is left behind to be mistaken for a layer.
    assert len(list(crashed.paths.staging_snapshots.iterdir())) == 1
    assert not list((crashed.paths.warehouse_dir / "releases").glob(".*.partial"))


def test_a_failed_backfill_resumes_at_the_first_date_not_done(settings: Settings) -> None:
    exports = generate(settings.paths, SynthConfig(customers=200, months=3, seed=2))
    broken = settings.paths.landing_dir(exports.start + dt.timedelta(days=40)) / "orders.csv"
    good = broken.read_bytes()
    broken.write_text("not,the,orders,header\n")
    loaded: list[dt.date] = []
    with pytest.raises(ContractError):
        run.backfill(
            settings, exports.start, exports.end, lambda step: loaded.append(step.export_date)
        )
    assert loaded == [exports.start + dt.timedelta(days=30)]  # the first batch was done

    broken.write_bytes(good)
    resumed: list[dt.date] = []
    release = run.backfill(
        settings, exports.start, exports.end, lambda step: resumed.append(step.export_date)
    )
    assert release.as_of == exports.end
    assert resumed[0] == exports.start + dt.timedelta(days=61)  # from day 31, a 31-day batch
    assert not settings.paths.backfill_progress.exists()
