from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.snapshots import newer_deliveries
from pipelines.transform.staging import latest_version, merge_latest, stage_orders


def _raw(rows: list[tuple[str, str, str, int, float, str]]) -> pl.LazyFrame:
    return (
        pl.DataFrame(
            rows,
            schema=["order_id", "status", "updated_at", "_source_row", "amount", "_export_date"],
            orient="row",
        )
        .with_columns(
            pl.col("updated_at").str.to_datetime(time_zone="UTC"),
            pl.col("_export_date").str.to_date(),
            _source_file=pl.lit("orders.csv"),
            _source_line=pl.col("_source_row") + 1,
            _load_id=pl.lit("x"),
            refund_amount=pl.lit(0.0),
            currency=pl.lit("EUR"),
        )
        .lazy()
    )


def test_latest_update_wins_then_latest_delivery_then_latest_row() -> None:
    raw = _raw(
        [
            ("O1", "completed", "2025-01-01T10:00:00Z", 1, 10.0, "2025-01-01"),
            ("O1", "refunded", "2025-01-03T10:00:00Z", 1, 10.0, "2025-01-03"),
            # A late re-delivery of an older version does not overwrite the newer one.
            ("O1", "cancelled", "2025-01-02T10:00:00Z", 1, 10.0, "2025-01-05"),
            # Same update time in two deliveries: the later delivery wins.
            ("O2", "completed", "2025-01-01T10:00:00Z", 1, 10.0, "2025-01-01"),
            ("O2", "cancelled", "2025-01-01T10:00:00Z", 7, 10.0, "2025-01-02"),
        ]
    )
    latest = latest_version(raw, "order_id").collect().sort("order_id")
    assert latest.select("order_id", "status", "export_date").rows() == [
        ("O1", "refunded", dt.date(2025, 1, 3)),
        ("O2", "cancelled", dt.date(2025, 1, 2)),
    ]
    assert not {"_source_file", "_load_id", "_source_row", "_source_line"} & set(latest.columns)


def test_net_amount_counts_only_completed_orders_less_refunds() -> None:
    raw = _raw(
        [
            ("O1", "completed", "2025-01-01T10:00:00Z", 1, 100.0, "2025-01-01"),
            ("O2", "cancelled", "2025-01-01T10:00:00Z", 2, 100.0, "2025-01-01"),
            ("O3", "refunded", "2025-01-01T10:00:00Z", 3, 100.0, "2025-01-01"),
        ]
    ).with_columns(refund_amount=pl.when(pl.col("order_id") == "O1").then(25.0).otherwise(0.0))
    staged = stage_orders(raw, {"EUR": 1.0}).collect().sort("order_id")
    # O1: 100 - 25 = 75; cancelled and refunded orders are worth nothing.
    assert staged.select("order_id", "net_amount", "is_purchase").rows() == [
        ("O1", 75.0, True),
        ("O2", 0.0, False),
        ("O3", 0.0, False),
    ]


def test_merging_newer_deliveries_one_by_one_equals_staging_them_all_at_once() -> None:
    raw = _raw(
        [
            ("O1", "completed", "2025-01-01T10:00:00Z", 1, 10.0, "2025-01-01"),
            ("O2", "completed", "2025-01-01T10:00:00Z", 2, 20.0, "2025-01-01"),
            ("O1", "refunded", "2025-01-03T10:00:00Z", 1, 10.0, "2025-01-02"),
            # A re-delivery of an older version: the staged newer one stays.
            ("O2", "cancelled", "2024-12-31T10:00:00Z", 1, 20.0, "2025-01-02"),
            # Same update time as the staged version: the later delivery wins.
            ("O1", "cancelled", "2025-01-03T10:00:00Z", 4, 10.0, "2025-01-03"),
            # Two versions in one delivery: the later row wins; and a new order.
            ("O3", "completed", "2025-01-03T10:00:00Z", 2, 30.0, "2025-01-03"),
            ("O3", "cancelled", "2025-01-03T10:00:00Z", 3, 30.0, "2025-01-03"),
        ]
    )
    fx = {"EUR": 1.0}
    day = pl.col("_export_date")
    merged = stage_orders(raw.filter(day == dt.date(2025, 1, 1)), fx)
    for later in (dt.date(2025, 1, 2), dt.date(2025, 1, 3)):
        merged = merge_latest(merged, stage_orders(raw.filter(day == later), fx), "order_id")
    everything = stage_orders(raw, fx)
    assert merged.collect().sort("order_id").equals(everything.collect().sort("order_id"))
    assert merged.collect().sort("order_id")["status"].to_list() == [
        "cancelled",
        "completed",
        "cancelled",
    ]


def test_a_snapshot_takes_in_only_deliveries_newer_than_all_it_holds() -> None:
    jan = {dt.date(2025, 1, day): f"a{day}" for day in (1, 2)}
    assert newer_deliveries(None, jan) is None  # nothing staged yet
    assert newer_deliveries(jan, jan) == []
    assert newer_deliveries(jan, jan | {dt.date(2025, 1, 3): "a3"}) == [dt.date(2025, 1, 3)]
    # Loaded again (a new acceptance), withdrawn, or older than the snapshot: stage it all.
    assert newer_deliveries(jan, jan | {dt.date(2025, 1, 2): "b2"}) is None
    assert newer_deliveries(jan, {dt.date(2025, 1, 1): "a1"}) is None
    late = {dt.date(2024, 12, 31): "z"}
    assert newer_deliveries(jan, late | jan) is None
