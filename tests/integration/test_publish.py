"""Publishing swaps whole releases: readers are never blocked and never see half a load."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines import publish, run
from pipelines.config import Settings

pytestmark = pytest.mark.integration


def _as_of_published(settings: Settings) -> dt.date:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        return connection.sql("select max(as_of) from ops.releases").fetchall()[0][0]


def test_a_reader_keeps_its_release_while_a_new_one_is_published(generated_run: Settings) -> None:
    reader = duckdb.connect(str(generated_run.paths.warehouse_db), read_only=True)
    before = reader.sql("select count(*), sum(nps) from marts.nps_monthly").fetchall()
    as_of = _as_of_published(generated_run)
    run.publish(generated_run, as_of)
    # The open connection still reads its own, complete release.
    assert reader.sql("select count(*), sum(nps) from marts.nps_monthly").fetchall() == before
    reader.close()
    with duckdb.connect(str(generated_run.paths.warehouse_db), read_only=True) as fresh:
        releases = fresh.sql("select count(*) from ops.releases").fetchall()[0][0]
    assert releases >= 2


def test_a_failure_while_publishing_leaves_the_last_release(
    generated_run: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = (generated_run.paths.warehouse_dir / "current").resolve()

    def crash(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(publish, "_record_release", crash)
    with pytest.raises(OSError, match="disk full"):
        run.publish(generated_run, _as_of_published(generated_run))
    assert (generated_run.paths.warehouse_dir / "current").resolve() == current
    assert not list((generated_run.paths.warehouse_dir / "releases").glob(".*"))
    with duckdb.connect(str(generated_run.paths.warehouse_db), read_only=True) as connection:
        assert connection.sql("select count(*) from marts.cohort_retention").fetchall()[0][0] > 0


def test_every_published_table_is_also_parquet(generated_run: Settings) -> None:
    parquet = generated_run.paths.warehouse_parquet
    with duckdb.connect(str(generated_run.paths.warehouse_db), read_only=True) as connection:
        tables = connection.sql(
            "select schema_name || '.' || table_name from duckdb_tables() order by 1"
        ).fetchall()
        for (table,) in tables:
            rows = connection.sql(f"select count(*) from {table}").fetchall()[0][0]
            exported = connection.execute(
                "select count(*) from read_parquet($path)",
                {"path": str(parquet / f"{table}.parquet")},
            ).fetchall()[0][0]
            assert exported == rows, table
    assert ("marts.cohort_retention",) in tables and ("ops.load_audit",) in tables


def test_old_releases_are_pruned(generated_run: Settings) -> None:
    as_of = _as_of_published(generated_run)
    for _ in range(publish.KEEP_RELEASES + 1):
        run.publish(generated_run, as_of)
    releases = [p for p in (generated_run.paths.warehouse_dir / "releases").iterdir()]
    assert len(releases) == publish.KEEP_RELEASES
