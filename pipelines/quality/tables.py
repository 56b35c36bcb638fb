"""How a gated table reaches Great Expectations: as a Polars scan, in bounded pandas chunks.

Polars scans the table where it lies (Parquet partitions, a frame of check numbers, a
table of the build database), keeps only the columns the suite names, computes its
derived columns (SQL expressions, read by `pl.sql_expr`) and hands it over
`gate_chunk_rows` rows at a time. A table that needs several chunks is split on the hash
of its first grain column, so every row of one customer (say) lands in the same chunk and
a uniqueness check on the grain stays exact; it is read once, split into files by chunk.
Memory is bounded by the chunk, not the table.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import polars.selectors as cs

from pipelines.quality.suites import Suite

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Table:
    name: str
    scan: Callable[[], pl.LazyFrame]  # raises if the table is not there
    described_as: str  # where it lies, for messages


def chunks(
    table: Table, suite: Suite, chunk_rows: int, scratch: Path
) -> tuple[int, Iterator[pd.DataFrame]]:
    """The number of chunks, and the chunks: the suite's columns that the table has (GX
    reports the others as missing) and its derived columns.

    A table of several chunks is read once and split into files under `scratch` (removed
    once the chunks are consumed): filtering the table once per chunk would read it as
    many times, a cost growing with the square of its rows.

    Raises a Polars error here, not half way through the chunks, if the table cannot be
    read or a derived column cannot be computed.
    """
    frame = table.scan()
    present = [name for name in suite.columns() if name in frame.collect_schema()]
    derived = [pl.sql_expr(sql).alias(name) for name, sql in suite.derived_columns.items()]
    rows = frame.select(pl.len()).collect().item()
    count = max(1, math.ceil(rows / chunk_rows))
    # UTC wall time without the zone: GX's pandas code trips over zoned timestamps
    # (pandas deprecation warnings), and every timestamp here is UTC anyway.
    naive = cs.datetime(time_zone="*").dt.replace_time_zone(None)
    # GX's pandas `between` is vectorised for int64 and float64 columns only: an int32 or
    # a decimal column is compared one Python call per value (on M, 3 s of the facts gate,
    # 9 s of the marts gate). Widened here: integers to int64, decimals to their nearest
    # double.
    widened = (cs.integer().cast(pl.Int64), (cs.decimal() | cs.float()).cast(pl.Float64))
    gated = frame.select(*present, *derived).with_columns(naive, *widened)
    if count == 1:
        return count, iter([gated.collect().to_pandas()])
    split = gated.with_columns(_chunk=pl.col(suite.grain[0]).hash() % count)
    schema = split.drop("_chunk").collect_schema()
    scratch.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=f"{table.name}-", dir=scratch))
    try:
        split.sink_parquet(pl.PartitionBy(directory, key="_chunk", include_key=False), mkdir=True)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return count, _read_chunks(directory, count, schema)


def _read_chunks(directory: Path, count: int, schema: pl.Schema) -> Iterator[pd.DataFrame]:
    try:
        for index in range(count):
            files = sorted((directory / f"_chunk={index}").glob("*.parquet"))
            part = (
                pl.scan_parquet(files, hive_partitioning=False)
                if files
                else pl.LazyFrame(schema=schema)
            )
            yield part.collect().to_pandas()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
