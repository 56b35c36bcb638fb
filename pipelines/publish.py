"""Publish the build as a new warehouse release and switch readers to it in one rename.

    warehouse/
      releases/<release>/loyalty.duckdb   one self-contained DuckDB file per release
      releases/<release>/parquet/         every published table as Parquet
      current -> releases/<release>        swapped atomically (rename of a symlink)
      loyalty.duckdb -> current/loyalty.duckdb   the stable path BI tools open
      parquet -> current/parquet

A release is complete before `current` points at it, and the old one is left alone, so a
BI reader is never blocked, never sees half a load, and a crash at any point leaves the
last published warehouse intact. The pipeline never opens a published file read-write.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import storage
from pipelines.config import Layout
from pipelines.errors import MissingInputError

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("marts", "ops")
DATABASE_FILE = "loyalty.duckdb"
KEEP_RELEASES = 3


@dataclass(frozen=True)
class Release:
    name: str
    as_of: dt.date
    path: Path
    tables: dict[str, int]  # schema.table -> rows


def sql_literal(text: str) -> str:
    """A quoted SQL string, for the few statements that cannot bind a parameter (ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def publish(layout: Layout, as_of: dt.date) -> Release:
    if not layout.build_db.is_file():
        raise MissingInputError(f"nothing to publish: {layout.build_db} does not exist")
    releases = layout.warehouse_dir / "releases"
    name = f"{as_of.isoformat()}_{uuid.uuid4().hex[:8]}"
    staging_dir = releases / f".{name}.partial"
    staging_dir.mkdir(parents=True)
    try:
        tables = _write_release(layout, staging_dir, as_of, name)
        staging_dir.rename(releases / name)
    except BaseException:
        shutil.rmtree(staging_dir, ignore_errors=True)
        raise
    storage.fsync(releases)
    storage.point(layout.warehouse_dir / "current", Path("releases") / name)
    _ensure_link(layout.warehouse_db, Path("current") / DATABASE_FILE)
    _ensure_link(layout.warehouse_parquet, Path("current") / "parquet")
    _prune(releases, keep=KEEP_RELEASES)
    log.info("published release %s: %d tables", name, len(tables))
    return Release(name, as_of, releases / name, tables)


def _write_release(layout: Layout, directory: Path, as_of: dt.date, name: str) -> dict[str, int]:
    database = directory / DATABASE_FILE
    tables: dict[str, int] = {}
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"attach {sql_literal(str(layout.build_db))} as build (read_only)")
        for schema, table in connection.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = 'build' and list_contains($schemas, schema_name) "
            "order by schema_name, table_name",
            {"schemas": list(PUBLISHED_SCHEMAS)},
        ).fetchall():
            connection.execute(f"create schema if not exists {schema}")
            connection.execute(f"create table {schema}.{table} as from build.{schema}.{table}")
            tables[f"{schema}.{table}"] = connection.sql(
                f"select count(*) from {schema}.{table}"
            ).fetchall()[0][0]
        connection.execute("detach build")
        _record_release(connection, layout, as_of, name, tables)
        (directory / "parquet").mkdir()
        for table in tables:
            connection.table(table).write_parquet(str(directory / "parquet" / f"{table}.parquet"))
        connection.execute("checkpoint")
    storage.fsync(database)
    return tables


def _record_release(
    connection: duckdb.DuckDBPyConnection,
    layout: Layout,
    as_of: dt.date,
    name: str,
    tables: dict[str, int],
) -> None:
    """ops.releases: every release so far, carried over from the one being replaced."""
    connection.execute(
        "create table ops.releases "
        "(release varchar, as_of date, published_at timestamptz, tables integer)"
    )
    previous = layout.warehouse_dir / "current" / DATABASE_FILE
    if previous.is_file():
        connection.execute(f"attach {sql_literal(str(previous))} as previous (read_only)")
        has_history = connection.execute(
            "select count(*) from duckdb_tables() where database_name = 'previous' "
            "and schema_name = 'ops' and table_name = 'releases'"
        ).fetchall()[0][0]
        if has_history:
            connection.execute("insert into ops.releases from previous.ops.releases")
        connection.execute("detach previous")
    # Wall-clock time is recorded here as metadata only; it decides nothing.
    connection.execute(
        "insert into ops.releases values ($release, $as_of, now(), $tables)",
        {"release": name, "as_of": as_of, "tables": len(tables)},
    )
    tables["ops.releases"] = connection.sql("select count(*) from ops.releases").fetchall()[0][0]


def _ensure_link(link: Path, target: Path) -> None:
    if not (link.is_symlink() and link.readlink() == target):
        storage.point(link, target)


def _prune(releases: Path, keep: int) -> None:
    """Drop old releases; a reader that still has one open keeps reading it (POSIX)."""
    current = (releases.parent / "current").resolve()
    finished = sorted(
        (path for path in releases.iterdir() if not path.name.startswith(".")),
        key=lambda path: path.stat().st_mtime,
    )
    for path in finished[:-keep]:
        if path.resolve() != current:
            shutil.rmtree(path, ignore_errors=True)
    for partial in releases.glob(".*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
