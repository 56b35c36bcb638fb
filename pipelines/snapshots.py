"""Staging snapshots: each run's staging tables in a directory of their own, committed by
swapping the `staging` symlink to it, with a manifest of the deliveries it holds.

    staging -> staging_snapshots/<id>     swapped atomically once every table is written
    staging_snapshots/<id>/<table>.parquet
    staging_snapshots/<id>/manifest.json  {"deliveries": {export date: acceptance id}}

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

from pipelines import storage
from pipelines.config import Layout

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"

Deliveries = dict[dt.date, str]  # export date -> acceptance id (`pipelines.deliveries`)


def current_deliveries(layout: Layout) -> Deliveries | None:
    """The deliveries the current snapshot was built from; None when there is none."""
    manifest = layout.staging / MANIFEST
    if not manifest.is_file():
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


def commit(
    layout: Layout,
    tables: dict[str, pl.LazyFrame | Path],
    keys: dict[str, tuple[str, ...]],
    batch_rows: int,
    deliveries: Deliveries,
    in_key_order: Collection[str] = (),
) -> dict[str, int]:
    """Write a new snapshot (a Path is an unchanged table, linked, not copied; a frame is
    written sorted by its `keys`, `batch_rows` at a time, or streamed as it is when it is
    named in `in_key_order`), then make it current. Returns the rows of each table."""
    snapshot = layout.staging_snapshots / uuid.uuid4().hex
    snapshot.mkdir(parents=True)
    counts = {}
    for name, table in tables.items():
        path = snapshot / f"{name}.parquet"
        if isinstance(table, Path):
            os.link(table, path)
        else:
            storage.write_parquet_sorted(
                table, keys[name], path, batch_rows, in_key_order=name in in_key_order
            )
        counts[name] = storage.row_count(path)
        log.info("staged %s: %d rows", name, counts[name])
    recorded = {day.isoformat(): acceptance for day, acceptance in deliveries.items()}
    storage.write_text_atomic(json.dumps({"deliveries": recorded}, indent=1), snapshot / MANIFEST)
    storage.fsync(snapshot)
    if layout.staging.is_dir() and not layout.staging.is_symlink():
        shutil.rmtree(layout.staging)  # staging written before snapshots existed
    storage.point(layout.staging, Path(layout.staging_snapshots.name) / snapshot.name)
    _remove_all_but(layout.staging_snapshots, snapshot.name)
    return counts


def table(layout: Layout, name: str) -> Path:
    """The file of a table in the current snapshot (through the symlink, resolved, so a
    new snapshot can link it)."""
    return (layout.staging / f"{name}.parquet").resolve()


def row_counts(layout: Layout, names: Iterable[str]) -> dict[str, int]:
    """The rows of each table of the current snapshot."""
    return {name: storage.row_count(table(layout, name)) for name in names}


def clear(layout: Layout) -> None:
    if layout.staging.is_symlink():
        layout.staging.unlink()
    shutil.rmtree(layout.staging, ignore_errors=True)  # staging written before snapshots
    shutil.rmtree(layout.staging_snapshots, ignore_errors=True)


def _remove_all_but(snapshots: Path, keep: str) -> None:
    for child in snapshots.iterdir():
        if child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
