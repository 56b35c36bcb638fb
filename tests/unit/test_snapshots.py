"""Staging tables kept by month: a merge rewrites the months it touches, links the rest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines import month_partitions
from pipelines.config import Layout
from pipelines.snapshots import MANIFEST, current_deliveries, merge_by_month
from pipelines.transform.staging import merge_latest

JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)


def _orders(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    """(order_id, ordered_at, updated_at, export_date) rows of staged orders."""
    return pl.DataFrame(
        rows, schema=["order_id", "ordered_at", "updated_at", "export_date"], orient="row"
    ).with_columns(
        pl.col("ordered_at", "updated_at").str.to_datetime(time_zone="UTC"),
        pl.col("export_date").str.to_date(),
    )


def _month_files(directory: Path, staged: pl.DataFrame) -> dict[dt.date, Path]:
    directory.mkdir()
    months = staged.with_columns(month=pl.col("ordered_at").dt.truncate("1mo").dt.date())
    files = {}
    for (month,), rows in months.group_by("month"):
        files[month] = month_partitions.path(directory, month)
        rows.drop("month").sort("order_id").write_parquet(files[month])
    return files


def test_a_merge_rewrites_the_months_it_touches_and_links_the_others(tmp_path: Path) -> None:
    current = _orders(
        [
            ("O1", "2025-01-10T10:00:00Z", "2025-01-10T10:00:00Z", "2025-01-11"),
            ("O2", "2025-01-20T10:00:00Z", "2025-01-20T10:00:00Z", "2025-01-21"),
            ("O3", "2025-02-05T10:00:00Z", "2025-02-05T10:00:00Z", "2025-02-06"),
            ("O4", "2025-02-07T10:00:00Z", "2025-02-07T10:00:00Z", "2025-02-08"),
        ]
    )
    newer = _orders(
        [
            # O2's new version was placed in February (its date corrected): January loses
            # it and February gains it.
            ("O2", "2025-02-01T00:00:00Z", "2025-03-02T10:00:00Z", "2025-03-03"),
            ("O5", "2025-03-02T10:00:00Z", "2025-03-02T10:00:00Z", "2025-03-03"),  # new, March
            # An older version of O3 delivered late: February keeps the newer one it has.
            ("O3", "2025-02-05T10:00:00Z", "2025-02-01T10:00:00Z", "2025-03-03"),
        ]
    )
    files = _month_files(tmp_path / "orders", current)
    merged = merge_by_month(files, newer.lazy(), "order_id", "ordered_at")

    assert sorted(merged) == [JAN, FEB, MAR]
    assert not any(isinstance(rows, Path) for rows in merged.values())  # each one touched
    by_month = {month: rows.collect()["order_id"].to_list() for month, rows in merged.items()}
    assert by_month == {JAN: ["O1"], FEB: ["O2", "O3", "O4"], MAR: ["O5"]}  # in key order
    whole = merge_latest(current.lazy(), newer.lazy(), "order_id").collect()
    assert pl.concat([rows.collect() for rows in merged.values()]).sort("order_id").equals(whole)


def test_a_month_no_key_of_the_merge_is_in_stays_a_link(tmp_path: Path) -> None:
    current = _orders(
        [
            ("O1", "2025-01-10T10:00:00Z", "2025-01-10T10:00:00Z", "2025-01-11"),
            ("O3", "2025-02-05T10:00:00Z", "2025-02-05T10:00:00Z", "2025-02-06"),
        ]
    )
    newer = _orders([("O3", "2025-02-05T10:00:00Z", "2025-03-01T10:00:00Z", "2025-03-02")])
    files = _month_files(tmp_path / "orders", current)
    merged = merge_by_month(files, newer.lazy(), "order_id", "ordered_at")
    assert merged[JAN] == files[JAN]  # the file itself: the snapshot links it
    assert isinstance(merged[FEB], pl.LazyFrame)
    assert merged[FEB].collect()["updated_at"].to_list() == [
        dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)
    ]


def test_a_snapshot_holding_orders_as_one_file_is_staged_again(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.staging.mkdir()
    (layout.staging / MANIFEST).write_text('{"deliveries": {"2025-01-01": "a1"}}')
    month_partitions.path(layout.staging / "orders", JAN).parent.mkdir()
    assert current_deliveries(layout) == {dt.date(2025, 1, 1): "a1"}
    # Written before orders were kept by month: merging into it would lose every order.
    (layout.staging / "orders.parquet").touch()
    assert current_deliveries(layout) is None


def test_new_keys_only_take_the_schema_of_the_month_files(tmp_path: Path) -> None:
    current = _orders([("O1", "2025-01-10T10:00:00Z", "2025-01-10T10:00:00Z", "2025-01-11")])
    newer = _orders([("O2", "2025-02-03T10:00:00Z", "2025-02-03T10:00:00Z", "2025-02-04")])
    files = _month_files(tmp_path / "orders", current)
    reordered = newer.select(reversed(newer.columns)).lazy()  # no month holds O2
    merged = merge_by_month(files, reordered, "order_id", "ordered_at")
    assert merged[JAN] == files[JAN]
    assert merged[FEB].collect_schema() == current.schema  # every month file alike
