from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.transform.staging import latest_version, stage_orders


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
