"""The SQL models build the same tables, to the last bit, on one DuckDB thread and on four.

In parallel DuckDB adds a group's rows in the order its threads reach them, so a sum of
doubles changes in its last bits from run to run. The models sum money and scores exactly
(decimals, integers) and add the doubles that remain in a fixed order; this test holds
them to it. The facts are rewritten in row groups of a few hundred rows first: DuckDB
splits a scan by row group, so the small sample is then read by all four threads.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import models, run
from pipelines.config import Settings
from tests.conftest import TEST_PII_KEY

pytestmark = pytest.mark.integration

ROW_GROUP_ROWS = 500


def _copy_with_small_row_groups(source: Settings, data_dir: Path) -> None:
    shutil.copytree(source.data_dir, data_dir, symlinks=True)
    for parquet in [*(data_dir / "facts").glob("*.parquet"), data_dir / "clv/customers.parquet"]:
        pl.read_parquet(parquet).write_parquet(parquet, row_group_size=ROW_GROUP_ROWS)


def _tables_that_differ(first: Path, second: Path) -> dict[str, int]:
    """`schema.table` -> rows of `first` missing from `second` or the other way round."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{first}' as first (read_only)")
        connection.execute(f"attach '{second}' as second (read_only)")
        tables = connection.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where database_name = 'first' and schema_name not in ('facts', 'settings')"
        ).fetchall()
        kept = {table for (table,) in tables}
        # Every model that is kept is compared; the working tables live in memory only.
        assert {
            m.table for m in models.discover() if m.schema not in models.WORKING_SCHEMAS
        } <= kept
        assert not any(table.split(".")[0] in models.WORKING_SCHEMAS for table in kept)
        differing = {}
        for (table,) in tables:
            rows = connection.execute(
                f"select count(*) from ((from first.{table} except all from second.{table}) "
                f"union all (from second.{table} except all from first.{table}))"
            ).fetchone()
            if rows and rows[0]:
                differing[table] = rows[0]
        return differing


def test_the_models_build_the_same_tables_on_one_thread_and_on_four(
    generated_run: Settings, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    _copy_with_small_row_groups(generated_run, data_dir)
    manifest = json.loads((data_dir / "build" / "manifest.json").read_text())
    as_of = dt.date.fromisoformat(manifest["as_of"])
    builds = {}
    for threads in (1, 4):
        settings = Settings(data_dir=data_dir, pii_key=TEST_PII_KEY, duckdb_threads=threads)
        run.build_marts(settings, as_of)
        builds[threads] = tmp_path / f"build-{threads}-threads.duckdb"
        shutil.copy(settings.paths.build_db, builds[threads])

    assert _tables_that_differ(builds[1], builds[4]) == {}
