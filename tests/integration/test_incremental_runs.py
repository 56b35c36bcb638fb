"""Nightly runs are incremental, idempotent and order-free, and two runs whose steps
interleave (a backfill beside the nightly) publish what one after the other would: every
published table is compared, by checksum, with the warehouse of the same dates run in order."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines import checksums, run, storage
from pipelines.config import MONTHLY_FACTS, Settings
from pipelines.errors import SupersededError
from pipelines.synth import SynthConfig, generate
from tests.conftest import TEST_PII_KEY

pytestmark = pytest.mark.integration

STAGED = ("customers", "orders", "held_orders", "survey_responses")
# The steps of a run after its raw gate, as the DAG's tasks call them.
STEPS = ("stage", "build_facts", "gate_facts", "build_clv", "build_marts", "gate_marts", "publish")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dt.date]:
    """Two months of exports, backfilled up to three days before the last export date."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("history") / "data", pii_key=TEST_PII_KEY)
    exports = generate(settings.paths, SynthConfig(customers=400, months=2, seed=5))
    run.backfill(settings, exports.start, exports.end - dt.timedelta(days=3))
    return settings, exports.end


def _copy(history: tuple[Settings, dt.date], tmp_path: Path) -> tuple[Settings, list[dt.date]]:
    """A copy of the history in `tmp_path`/data (replacing any), and the three days left."""
    settings, end = history
    shutil.rmtree(tmp_path / "data", ignore_errors=True)
    shutil.copytree(settings.data_dir, tmp_path / "data", symlinks=True)
    days = [end - dt.timedelta(days=back) for back in (2, 1, 0)]
    return Settings(data_dir=tmp_path / "data", pii_key=TEST_PII_KEY), days


def _published(settings: Settings) -> dict[str, str]:
    return checksums.of_database(settings.paths.warehouse_db)


def _staged(settings: Settings) -> dict[str, pl.DataFrame]:
    def read(table: str) -> pl.DataFrame:
        frame = pl.read_parquet(settings.paths.staging_files(table))
        return frame.sort(frame.columns)

    return {table: read(table) for table in STAGED}


def test_reruns_and_out_of_order_dates_publish_what_runs_in_order_do(
    history: tuple[Settings, dt.date], tmp_path: Path
) -> None:
    in_order, days = _copy(history, tmp_path)
    for day in days:
        run.run_all(in_order, day)
    expected = _published(in_order)
    assert len(expected) > 25  # every mart and ops table

    run.run_all(in_order, days[-1])  # the same date twice
    assert _published(in_order) == expected
    run.run_all(in_order, days[0])  # an old date again, after later ones
    assert _published(in_order) == expected

    # Elsewhere: what the warehouse records of the files (the load audit) is relative to
    # the data folder, so a copy in another place publishes the same tables.
    shuffled, _ = _copy(history, tmp_path / "elsewhere")
    for day in (days[2], days[0], days[1]):
        release = run.run_all(shuffled, day)
        assert release.as_of == days[2]  # always as of the newest accepted delivery
    assert _published(shuffled) == expected


def test_a_nightly_run_merges_only_the_new_day_and_equals_a_full_refresh(
    history: tuple[Settings, dt.date], tmp_path: Path
) -> None:
    settings, days = _copy(history, tmp_path)
    before = (settings.paths.staging / "manifest.json").resolve()
    months_before = _month_files(settings)
    run.run_all(settings, days[0])
    after = (settings.paths.staging / "manifest.json").resolve()
    assert before.parent != after.parent  # a new snapshot, committed by one rename
    assert not before.parent.exists()  # the previous one removed once replaced
    staged, published = _staged(settings), _published(settings)
    # Only the months the day's orders and responses fall in were recomputed.
    months_after = _month_files(settings)
    rewritten = {key for key, file in months_after.items() if months_before.get(key) != file}
    assert {month for _, month in rewritten} <= _months_delivered(settings, days[0])
    assert {table for table, _ in rewritten} == set(MONTHLY_FACTS)
    assert len(rewritten) < len(months_after)
    by_month = {table: pl.read_parquet(settings.paths.fact_files(table)) for table in MONTHLY_FACTS}

    run.rebuild(settings, days[0])  # nothing newer to stage: the snapshot stays
    assert (settings.paths.staging / "manifest.json").resolve() == after
    assert _month_files(settings) == months_after  # no month recomputed
    assert _published(settings) == published

    run.rebuild(settings, days[0], full_refresh=True)
    for table, frame in _staged(settings).items():
        assert frame.equals(staged[table]), table
    refreshed = _month_files(settings)
    assert refreshed.keys() == months_after.keys()
    assert not set(refreshed.items()) & set(months_after.items())  # every month recomputed
    for table, frame in by_month.items():
        assert pl.read_parquet(settings.paths.fact_files(table)).equals(frame), table
    assert _published(settings) == published


def _month_files(settings: Settings) -> dict[tuple[str, str], int]:
    """Each month file of the facts kept by month, by the inode a rewrite replaces."""
    return {
        (table, path.stem): path.stat().st_ino
        for table in MONTHLY_FACTS
        for path in settings.paths.fact_files(table)
    }


def _months_delivered(settings: Settings, day: dt.date) -> set[str]:
    """The months (YYYY-MM) of the orders and responses delivered on `day`."""
    months: set[str] = set()
    for source, column in (("orders", "ordered_at"), ("survey_responses", "submitted_at")):
        raw = pl.read_parquet(storage.partition_path(settings.paths.raw_dir(source), day))
        months |= set(raw[column].dt.strftime("%Y-%m"))
    return months


def _gate(settings: Settings, day: dt.date) -> dt.date:
    """A run's extract and gate_raw tasks; returns the as-of date its steps build."""
    run.extract(settings, day)
    return run.gate_raw(settings, day)


def _steps(settings: Settings, as_of: dt.date, names: tuple[str, ...]) -> None:
    for name in names:
        getattr(run, name)(settings, as_of)


def test_a_run_overtaken_by_a_newer_one_stops_and_the_newer_one_publishes(
    history: tuple[Settings, dt.date], tmp_path: Path, subtests: pytest.Subtests
) -> None:
    in_order, days = _copy(history, tmp_path)
    for day in days[:2]:
        run.run_all(in_order, day)
    expected = _published(in_order)

    # Run A (days[0]) does its first steps; run B (days[1]) runs whole; A goes on.
    for cut_in in (1, 3, 5):  # after stage, after the facts gate, after the marts
        with subtests.test(a_stops_after=STEPS[cut_in - 1]):
            settings, _ = _copy(history, tmp_path)
            a = _gate(settings, days[0])
            _steps(settings, a, STEPS[:cut_in])
            b = _gate(settings, days[1])
            _steps(settings, b, STEPS)
            with pytest.raises(SupersededError, match=f"{days[1]}"):
                _steps(settings, a, STEPS[cut_in:])
            assert _published(settings) == expected


def test_a_run_whose_facts_another_run_rebuilt_leaves_them_to_that_run(
    history: tuple[Settings, dt.date], tmp_path: Path
) -> None:
    """The same date twice at once (a cleared run beside its backfill run): the facts the
    second run rebuilt are not judged yet when the first run wants them."""
    in_order, days = _copy(history, tmp_path)
    run.run_all(in_order, days[0])
    expected = _published(in_order)

    settings, _ = _copy(history, tmp_path)
    first = _gate(settings, days[0])
    _steps(settings, first, STEPS[:3])  # up to the facts gate
    second = _gate(settings, days[0])
    _steps(settings, second, STEPS[:2])  # facts rebuilt, not judged yet
    with pytest.raises(SupersededError, match="not been judged"):
        run.build_clv(settings, first)
    _steps(settings, second, STEPS[2:])
    assert _published(settings) == expected


def test_two_runs_started_at_once_take_turns_and_publish_what_runs_in_order_do(
    history: tuple[Settings, dt.date], tmp_path: Path
) -> None:
    in_order, days = _copy(history, tmp_path)
    for day in days[:2]:
        run.run_all(in_order, day)
    expected = _published(in_order)

    settings, _ = _copy(history, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env |= {"LOYALTY_DATA_DIR": str(settings.data_dir), "LOYALTY_PII_KEY": TEST_PII_KEY}
    loyalty = str(Path(sys.executable).parent / "loyalty")
    runs = [
        subprocess.Popen(
            [loyalty, "run", "--date", day.isoformat()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for day in days[:2]
    ]
    outputs = [process.communicate() for process in runs]
    assert [process.returncode for process in runs] == [0, 0], outputs
    log = (settings.paths.logs / "loyalty.log").read_text()
    assert "waiting for the build lock, held by run (pid" in log
    assert _published(settings) == expected
