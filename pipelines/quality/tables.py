"""How a gated table reaches Great Expectations: as a Polars scan, in bounded pandas chunks.

Polars scans the table where it lies (Parquet partitions, a frame of check numbers, a
table of the build database), keeps only the columns the suite names, computes its
derived columns (SQL expressions, read by `pl.sql_expr`) and hands it over
`gate_chunk_rows` rows at a time. A table that needs several chunks is split on the hash
of its first grain column, so every row of one customer (say) lands in the same chunk and
a uniqueness check on the grain stays exact. Memory is bounded by the chunk, not the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


def chunks(table: Table, suite: Suite, chunk_rows: int) -> tuple[int, Iterator[pd.DataFrame]]:
    """The number of chunks, and the chunks: the suite's columns that the table has (GX
    reports the others as missing) and its derived columns.

    Raises a Polars error here, not half way through the chunks, if the table cannot be
    read or a derived column cannot be computed.
    """
    frame = table.scan()
    present = [name for name in suite.columns() if name in frame.collect_schema()]
    derived = [pl.sql_expr(sql).alias(name) for name, sql in suite.derived_columns.items()]
    rows = frame.select(pl.len()).collect().item()
    count = max(1, math.ceil(rows / chunk_rows))

    def part(index: int) -> pd.DataFrame:
        rows_of_part = frame
        if count > 1:
            rows_of_part = frame.filter(pl.col(suite.grain[0]).hash() % count == index)
        selected = rows_of_part.select(*present, *derived).with_columns(
            # UTC wall time without the zone: GX's pandas code trips over zoned timestamps
            # (pandas deprecation warnings), and every timestamp here is UTC anyway.
            cs.datetime(time_zone="*").dt.replace_time_zone(None)
        )
        return selected.collect().to_pandas()

    frame.select(*present, *derived).collect_schema()
    return count, (part(index) for index in range(count))
