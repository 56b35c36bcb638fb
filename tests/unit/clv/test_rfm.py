"""The RFM summary: hand-computed on a tiny purchase log."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.clv.rfm import rfm_summary

AS_OF = dt.date(2025, 3, 15)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_hand_computed_summary() -> None:
    purchases = pl.LazyFrame(
        [
            # A: three purchase days; two orders on 2025-01-10 are one purchase day.
            ("A", _at("2025-01-10 09:00:00"), 100.0),
            ("A", _at("2025-01-10 23:59:59"), 20.0),
            ("A", _at("2025-02-01 00:00:00"), 30.0),
            ("A", _at("2025-03-05 12:00:00"), 50.0),
            # B: one purchase day only, two orders on it.
            ("B", _at("2025-03-01 10:00:00"), 15.0),
            ("B", _at("2025-03-01 11:00:00"), 5.0),
            # C: its second purchase is after the as-of date, so it does not exist yet.
            ("C", _at("2025-03-15 23:59:59"), 40.0),
            ("C", _at("2025-03-16 00:00:00"), 60.0),
            # D: buys first after the as-of date: not a customer yet.
            ("D", _at("2025-04-01 10:00:00"), 10.0),
        ],
        schema={
            "customer_id": pl.String,
            "ordered_at": pl.Datetime("us", "UTC"),
            "net_amount": pl.Float64,
        },
        orient="row",
    )
    assert rfm_summary(purchases, AS_OF).collect().rows() == [
        # frequency = 3 days - 1 = 2; recency = 01-10 -> 03-05 = 21 + 28 + 5 = 54 days;
        # T = 01-10 -> 03-15 = 21 + 28 + 15 = 64 days; monetary = (30 + 50) / 2 = 40
        # (the first day's 100 + 20 is not a repeat purchase).
        ("A", 2, 54, 64, 40.0),
        # One purchase day: frequency 0, recency 0, T = 03-01 -> 03-15 = 14, monetary 0.
        ("B", 0, 0, 14, 0.0),
        # First purchase on the as-of date itself: T = 0.
        ("C", 0, 0, 0, 0.0),
    ]
