"""Staging snapshots: each run's staging tables in a directory of their own, committed by
swapping the `staging` symlink to it, with a manifest of the deliveries it holds.

    staging -> staging_snapshots/<id>     swapped atomically once every table is written
    staging_snapshots/<id>/<table>.parquet
    staging_snapshots/<id>/<table>/<YYYY-MM>.parquet   a table kept by month (orders)
    staging_snapshots/<id>/manifest.json  {"deliveries": {export date: acceptance id}}

A table kept by month (`MONTHLY_STAGING`) holds each row in the file of its timestamp's
month, sorted by key: a nightly merge rewrites the months its deliveries touch, and the
others are hard links to the previous snapshot's files, so it costs what the day changes.

A run killed half way leaves the previous snapshot current and whole; the next run
removes the orphan. The manifest tells the next run whether it may merge only the newer
deliveries into this snapshot (`newer_deliveries`) or must stage everything again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import uuid
from collections.abc import Collection, Iterable
from pathlib import Path

import polars as pl

from pipelines import month_partitions, storage
from pipelines.config import MONTHLY_STAGING, Layout
from pipelines.transform import staging
from pipelines.transform.facts import month_of

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"

Deliveries = dict[dt.date, str]  # export date -> acceptance id (`pipelines.deliveries`)


def current_deliveries(layout: Layout) -> Deliveries | None:
    """The deliveries the current snapshot was built from; None when there is none, or
    when it keeps a table by month as one file (written before that table was kept by
    month): nothing can be merged into it."""
    manifest = layout.staging / MANIFEST
    if not manifest.is_file():
        return None
    for name in MONTHLY_STAGING:
        if (layout.staging / f"{name}.parquet").exists():
            log.info("the staging snapshot keeps %s as one file, not by month", name)
            return None
    recorded = json.loads(manifest.read_text())["deliveries"]
    return {dt.date.fromisoformat(day): acceptance for day, acceptance in recorded.items()}


def current_id(layout: Layout) -> str:
    """The id of the current snapshot (its directory's name)."""
    return layout.staging.resolve().name


def newer_deliveries(built_from: Deliveries | None, accepted: Deliveries) -> list[dt.date] | None:
    """The accepted deliveries to merge into the snapshot built from `built_from`, or None
    when merging cannot equal staging everything again.

    Merging is exact only when the snapshot's deliveries are all still accepted unchanged
    and every delivery to add is newer than all of them: an older delivery arriving late,
    or one loaded again, changes which version of a row is the latest in ways only a full
    restage sees.
    """
    if built_from is None:
        return None
    if any(accepted.get(day) != acceptance for day, acceptance in built_from.items()):
        return None
    added = sorted(day for day in accepted if day not in built_from)
    if added and built_from and added[0] <= max(built_from):
        return None
    return added


Table = pl.LazyFrame | Path  # a Path is a file (or a month directory) of the current snapshot
MonthFiles = dict[dt.date, Table]  # a table kept by month, merged: month -> its rows


def commit(
    layout: Layout,
    tables: dict[str, Table | MonthFiles],
    keys: dict[str, tuple[str, ...]],
    batch_rows: int,
    deliveries: Deliveries,
    in_key_order: Collection[str] = (),
) -> dict[str, int]:
    """Write a new snapshot, then make it current. Returns the rows of each table.

    A Path is an unchanged table (or month), linked, not copied; a frame is written
    sorted by its `keys`, `batch_rows` at a time, or streamed as it is when its table is
    named in `in_key_order`. A table kept by month is split into its months when given
    whole (`MONTHLY_STAGING`)."""
    snapshot = layout.staging_snapshots / uuid.uuid4().hex
    snapshot.mkdir(parents=True)
    counts = {}
    for name, table in tables.items():
        if name in MONTHLY_STAGING:
            written = _write_by_month(
                table, snapshot / name, keys[name], batch_rows, MONTHLY_STAGING[name]
            )
        elif isinstance(table, dict):
            raise TypeError(f"staging table {name} is not kept by month")
        else:
            path = snapshot / f"{name}.parquet"
            written = [_write(table, path, keys[name], batch_rows, name in in_key_order)]
        counts[name] = storage.row_count(written) if written else 0
        log.info("staged %s: %d rows", name, counts[name])
    recorded = {day.isoformat(): acceptance for day, acceptance in deliveries.items()}
    storage.write_text_atomic(json.dumps({"deliveries": recorded}, indent=1), snapshot / MANIFEST)
    storage.fsync(snapshot)
    if layout.staging.is_dir() and not layout.staging.is_symlink():
        shutil.rmtree(layout.staging)  # staging written before snapshots existed
    storage.point(layout.staging, Path(layout.staging_snapshots.name) / snapshot.name)
    _remove_all_but(layout.staging_snapshots, snapshot.name)
    return counts


def merge_by_month(
    current: dict[dt.date, Path], newer: pl.LazyFrame, key: str, timestamp: str
) -> MonthFiles:
    """A table kept by month (`current`: its files) with `newer` merged in
    (`staging.merge_latest`, month by month): the months holding a key `newer` touches
    lose that row, the month of each winning version gains it, and every other month is
    linked as it is."""
    newer = newer.collect().lazy()  # the new deliveries' rows, read by every month below
    changed = newer.select(key)
    holding: set[str] = set()
    if current:  # which files hold a changed key: their key column only is read
        holding = set(
            pl.scan_parquet(list(current.values()), include_file_paths="_file")
            .select(key, "_file")
            .join(changed, on=key, how="semi")
            .select(pl.col("_file").unique())
            .collect()["_file"]
        )
    affected = [month for month, path in current.items() if str(path) in holding]
    # With no month affected, any month's file still gives the versions the table's schema.
    files = [current[month] for month in affected] or list(current.values())[:1]
    previous = pl.scan_parquet(files) if files else newer.clear()
    versions = (
        staging.newest_versions(previous, newer, key)
        .with_columns(_month=month_of(timestamp))
        .collect()
    )
    merged: MonthFiles = dict(current)
    for month in sorted(set(affected) | set(versions["_month"])):
        in_month = versions.filter(pl.col("_month") == month).drop("_month").lazy()
        merged[month] = (
            staging.replace_versions(pl.scan_parquet(current[month]), changed, in_month, key)
            if month in current
            else in_month
        )
    return merged


def _write(table: Table, path: Path, key: tuple[str, ...], batch_rows: int, in_order: bool) -> Path:
    if isinstance(table, Path):
        os.link(table, path)
    else:
        storage.write_parquet_sorted(table, key, path, batch_rows, in_key_order=in_order)
    return path


def _write_by_month(
    table: Table | MonthFiles,
    directory: Path,
    key: tuple[str, ...],
    batch_rows: int,
    timestamp: str,
) -> list[Path]:
    """A table kept by month: linked month by month from a month directory, merged (each
    month linked or streamed in key order), or a whole frame written by month."""
    directory.mkdir()
    if isinstance(table, Path):
        table = month_partitions.by_month(table)
    if isinstance(table, dict):
        return [
            _write(rows, month_partitions.path(directory, month), key, batch_rows, True)
            for month, rows in sorted(table.items())
        ]
    return storage.write_parquet_sorted_parts(
        table,
        key,
        month_of(timestamp),
        lambda month: month_partitions.path(directory, month),
        batch_rows,
    )


def table(layout: Layout, name: str) -> Path:
    """The file of a table in the current snapshot, or its month directory for a table
    kept by month (through the symlink, resolved, so a new snapshot can link it)."""
    return layout.staging_table(name).resolve()


def month_files(layout: Layout, name: str) -> dict[dt.date, Path]:
    """Each month's file of a table kept by month, in the current snapshot (resolved)."""
    return month_partitions.by_month(table(layout, name))


def row_counts(layout: Layout, names: Iterable[str]) -> dict[str, int]:
    """The rows of each table of the current snapshot."""
    counts = {}
    for name in names:
        files = layout.staging_files(name)
        counts[name] = storage.row_count(files) if files else 0
    return counts


def clear(layout: Layout) -> None:
    if layout.staging.is_symlink():
        layout.staging.unlink()
    shutil.rmtree(layout.staging, ignore_errors=True)  # staging written before snapshots
    shutil.rmtree(layout.staging_snapshots, ignore_errors=True)


def _remove_all_but(snapshots: Path, keep: str) -> None:
    for child in snapshots.iterdir():
        if child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
