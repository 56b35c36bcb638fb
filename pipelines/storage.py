"""Parquet files between stages: one partition per delivery, written atomically.

A file is written beside its final name and renamed into place, so a reader (or a run
killed half way) never sees a half-written partition, and writing the same partition
again replaces it: loads are idempotent.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.errors import MissingInputError

log = logging.getLogger(__name__)

PARTITION_FILE = "data.parquet"


def partition_path(base: Path, day: dt.date, key: str = "export_date") -> Path:
    """`key` names the date a partition is for: the export date of a delivery, or the
    as-of date of a run (CLV fits and backtests)."""
    return base / f"{key}={day.isoformat()}" / PARTITION_FILE


def write_partition(
    frame: pl.DataFrame, base: Path, day: dt.date, key: str = "export_date"
) -> Path:
    path = partition_path(base, day, key)
    write_parquet_atomic(frame, path)
    return path


def write_parquet_atomic(
    frame: pl.DataFrame | pl.LazyFrame, path: Path, metadata: dict[str, str] | None = None
) -> None:
    """`metadata`: key-value pairs stored in the file's footer."""
    with _replacing(path) as temporary:
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(temporary, metadata=metadata)
        else:
            frame.write_parquet(temporary, metadata=metadata)


def write_parquet_sorted(
    frame: pl.LazyFrame,
    by: Sequence[str],
    path: Path,
    batch_rows: int,
    *,
    in_key_order: bool = False,
) -> None:
    """`frame` sorted by `by`, computed and sorted one range of its first key at a time.

    A filter on the key reaches the scans beneath the joins and group-bys keyed on it, so a
    range reads and holds only its own rows: memory follows `batch_rows`, not the table.
    The ranges are written in order and joined by a streaming copy, so the file is the one
    sorting the whole table at once would write.

    `in_key_order` says `frame` keeps the order of a table already sorted by its single
    key `by` (a filter and derived columns of it): it is then streamed to the file in one
    pass, and the file's key is checked; should it not be in order, the frame is sorted
    after all, with a warning.
    """
    with _replacing(path) as temporary:
        if in_key_order:
            (key,) = by
            frame.sink_parquet(temporary)
            if _is_sorted(temporary, key):
                return
            log.warning(
                "%s: the rows were not in key order (%s) as declared; sorting them", path, key
            )
        ranges = _key_ranges(frame, by[0], batch_rows)
        if len(ranges) == 1:
            frame.sort(by).sink_parquet(temporary)
            return
        parts = [temporary.with_name(f"{temporary.name}.{index}") for index in range(len(ranges))]
        try:
            for in_range, part in zip(ranges, parts, strict=True):
                frame.filter(in_range).sort(by).sink_parquet(part)
            pl.scan_parquet(parts).sink_parquet(temporary)
        finally:
            for part in parts:
                part.unlink(missing_ok=True)


def write_parquet_sorted_parts(
    frame: pl.LazyFrame,
    by: Sequence[str],
    part: pl.Expr,
    path_of: Callable[[Any], Path],
    batch_rows: int,
) -> list[Path]:
    """`frame` sorted by `by`, one file per value of `part` (`path_of(value)`), each file
    sorted; computed one range of the first key at a time, as `write_parquet_sorted` does.

    Each range's rows of a part become a piece; a part's pieces, in key order, are joined
    by a streaming copy (a part in a single range is renamed). Returns the files, in the
    order of their part values. A row whose part is null has no file: refused.
    """
    pieces: dict[Any, list[Path]] = {}
    for index, in_range in enumerate(_key_ranges(frame, by[0], batch_rows)):
        rows = frame.filter(in_range).sort(by).with_columns(_part=part).collect()
        if rows["_part"].null_count():
            raise ValueError(f"{rows['_part'].null_count()} rows have no part to be written to")
        for value in rows["_part"].unique().sort():
            piece = path_of(value).with_name(f"{path_of(value).name}.{index}")
            rows.filter(pl.col("_part") == value).drop("_part").write_parquet(piece)
            pieces.setdefault(value, []).append(piece)
    for value, parts in pieces.items():
        if len(parts) == 1:
            parts[0].rename(path_of(value))
            continue
        pl.scan_parquet(parts).sink_parquet(path_of(value))
        for piece in parts:
            piece.unlink()
    return [path_of(value) for value in sorted(pieces)]


def _is_sorted(path: Path, key: str) -> bool:
    """Whether the key of a Parquet file never decreases from one row to the next, nulls
    first (as a sort puts them)."""
    current, previous = pl.col(key), pl.col(key).shift(1)
    in_order = (
        pl.when(previous.is_null())
        .then(True)
        .when(current.is_null())
        .then(False)
        .otherwise(current >= previous)
    )
    return bool(pl.scan_parquet(path).select(in_order.all()).collect().item())


def row_count(path: Path | list[Path]) -> int:
    """Rows of Parquet files, from their metadata."""
    return pl.scan_parquet(path).select(pl.len()).collect().item()


# One key in about this many is read to place the range boundaries of a sorted write.
KEY_SAMPLE_EVERY = 1024


def _key_ranges(frame: pl.LazyFrame, key: str, batch_rows: int) -> list[pl.Expr]:
    """Filters that split `frame` into ranges of `key` of about `batch_rows` rows each,
    placed by a sample of the keys taken by their hash (a filter that reaches the scans
    too). Nulls, sorted first, go with the first range."""
    column = pl.col(key)
    sample = (
        (frame.select(column).filter(column.hash() % KEY_SAMPLE_EVERY == 0).collect()[key])
        .drop_nulls()
        .sort()
    )
    count = math.ceil(len(sample) * KEY_SAMPLE_EVERY / batch_rows)
    if count <= 1:
        return [pl.lit(True)]
    cuts = sorted(set(sample.gather([len(sample) * index // count for index in range(1, count)])))
    return (
        [column.is_null() | (column < cuts[0])]
        + [(column >= low) & (column < high) for low, high in itertools.pairwise(cuts)]
        + [column >= cuts[-1]]
    )


def write_text_atomic(text: str, path: Path) -> None:
    with _replacing(path) as temporary:
        temporary.write_text(text)


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path`, flushed and renamed onto it once written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        fsync(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a file, or a directory's entries, to disk before it is pointed at."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def point(link: Path, target: Path) -> None:
    """Make the symlink `link` point at `target` in one atomic rename: a reader sees the
    old target or the new one, never neither."""
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex}")
    temporary.symlink_to(target)
    temporary.replace(link)
    fsync(link.parent)


def partition_dates(base: Path, key: str = "export_date") -> list[dt.date]:
    """Dates that have a partition under `base`, oldest first."""
    if not base.is_dir():
        return []
    return sorted(
        dt.date.fromisoformat(child.name.removeprefix(f"{key}="))
        for child in base.iterdir()
        if child.name.startswith(f"{key}=") and (child / PARTITION_FILE).is_file()
    )


def scan_partitions(base: Path, up_to: dt.date, what: str) -> pl.LazyFrame:
    """Every partition of `base` with an export date on or before `up_to`."""
    files = [partition_path(base, day) for day in partition_dates(base) if day <= up_to]
    if not files:
        raise MissingInputError(
            f"no {what} loaded on or before {up_to} under {base}: run `loyalty run` or "
            f"`loyalty backfill` for those dates first"
        )
    return pl.scan_parquet(files)


def scan_dates(base: Path, days: list[dt.date]) -> pl.LazyFrame | None:
    """The partitions of `base` for `days` that exist; None when there is none."""
    files = [path for path in (partition_path(base, day) for day in days) if path.is_file()]
    return pl.scan_parquet(files) if files else None


def read_table(files: Path | list[Path], what: str) -> pl.LazyFrame:
    """A table kept as one Parquet file, or as several (`Layout.fact_files`)."""
    files = files if isinstance(files, list) else [files]
    if not files:
        raise MissingInputError(f"{what} not built yet (it has no file)")
    for path in files:
        if not path.is_file():
            raise MissingInputError(f"{what} not built yet ({path} is missing)")
    return pl.scan_parquet(files)
