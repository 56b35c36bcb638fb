"""The RFM summary the buy-till-you-die models read, per customer as of a date.

The convention of the BG/NBD literature and of the `lifetimes` library, in days:
purchases on the same (UTC) day count as one purchase day and their revenue is summed;
- `frequency`: purchase days after the first one (repeat purchase days);
- `recency_days`: days from the first to the last purchase day (0 for one-time buyers);
- `tenure_days`: days from the first purchase day to the as-of date (`T` in the papers);
- `monetary_value`: mean revenue of the repeat purchase days, the first day excluded
  (0 for one-time buyers, who have no repeat day).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.periods import cutoff
from pipelines.transform.money import MICROS, micros

RFM_COLUMNS = ("customer_id", "frequency", "recency_days", "tenure_days", "monetary_value")


def purchase_days(purchases: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """One row per customer and day with a purchase up to `as_of`, revenue summed (in
    millionths: `revenue_micros`).

    `purchases` holds completed purchases only: customer_id, ordered_at (UTC), net_amount.
    """
    return (
        purchases.filter(pl.col("ordered_at") < cutoff(as_of))
        .group_by("customer_id", purchase_day=pl.col("ordered_at").dt.date())
        .agg(revenue_micros=micros(pl.col("net_amount")).sum())
    )


def rfm_summary(purchases: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """One row per customer with a purchase up to `as_of`, sorted by customer_id."""
    return rfm_of_days(purchase_days(purchases, as_of), as_of)


def rfm_of_days(days: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """`rfm_summary` from the purchase days (`purchase_days`) up to `as_of`."""
    day = pl.col("purchase_day")
    first_day = day.min()
    # Marking repeat days before aggregating keeps every aggregate a plain one, which
    # Polars computes in parallel without evaluating each customer's group on its own.
    repeat_micros = pl.when(day > first_day.over("customer_id")).then(pl.col("revenue_micros"))
    return (
        days.with_columns(repeat_micros=repeat_micros)
        .group_by("customer_id")
        .agg(
            frequency=(pl.len() - 1).cast(pl.Int64),
            recency_days=(day.max() - first_day).dt.total_days(),
            tenure_days=(pl.lit(as_of) - first_day).dt.total_days(),
            # A mean of whole millionths, exact in doubles below 2**53: the same purchases
            # give the fits the same input on every run (pipelines/transform/money.py).
            monetary_value=(pl.col("repeat_micros").mean() / MICROS).fill_null(0.0),
        )
        .sort("customer_id")
        .select(RFM_COLUMNS)
    )
