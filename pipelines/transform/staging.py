"""Staging: the current state of each entity, from every raw delivery up to the as-of date."""

from __future__ import annotations

import polars as pl

# A later update wins; for the same update time, the later delivery; then the later row.
VERSION_ORDER = ("updated_at", "_export_date", "_source_row")
LINEAGE = ("_source_file", "_source_row", "_load_id")


def latest_version(raw: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """One row per `key`: its newest version. `_export_date` stays as the version's delivery."""
    return (
        raw.group_by(key)
        .agg(pl.all().sort_by(list(VERSION_ORDER)).last())
        .drop(LINEAGE)
        .rename({"_export_date": "export_date"})
    )


def stage_customers(raw: pl.LazyFrame) -> pl.LazyFrame:
    return latest_version(raw, "customer_id")


def stage_orders(raw: pl.LazyFrame, fx_rates: dict[str, float]) -> pl.LazyFrame:
    """Orders in the reporting currency, with the net amount that counts as revenue.

    Net amount: a completed order's amount less its refunds; a cancelled or fully
    refunded order counts nothing. A purchase is a completed order with a positive net.
    """
    rate = pl.col("currency").replace_strict(fx_rates, return_dtype=pl.Float64)
    net = pl.when(pl.col("status") == "completed").then(
        (pl.col("amount") - pl.col("refund_amount").fill_null(0.0)) * rate
    )
    return (
        latest_version(raw, "order_id")
        .with_columns(
            amount_reporting=pl.col("amount") * rate,
            net_amount=net.fill_null(0.0),
        )
        .with_columns(is_purchase=pl.col("net_amount") > 0)
    )


def stage_survey_responses(raw: pl.LazyFrame) -> pl.LazyFrame:
    return latest_version(raw, "response_id")
