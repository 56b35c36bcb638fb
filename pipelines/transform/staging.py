"""Staging: the current state of each entity, from every raw delivery up to the as-of date."""

from __future__ import annotations

import polars as pl

# A later update wins; for the same update time, the later delivery; then the later row.
VERSION_ORDER = ("updated_at", "_export_date", "_source_row")
LINEAGE = ("_source_file", "_source_row", "_source_line", "_load_id")
HELD_REASON_COLUMN = "_quarantine_reason"
HELD_REASON = "customer_id not among the customers delivered up to the as-of date"


def latest_version(raw: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """One row per `key`: its newest version. `_export_date` stays as the version's delivery.

    The winner is chosen on the key and the version order only, then picked out by its
    place (delivery, row): grouping every column of every version would hold the whole
    history in memory several times over (docs/performance.md).
    """
    place = ["_export_date", "_source_row"]  # unique per raw row
    winners = raw.group_by(key).agg(pl.col(place).sort_by(list(VERSION_ORDER)).last())
    return (
        raw.join(winners, on=[key, *place], how="semi")
        .drop(LINEAGE)
        .rename({"_export_date": "export_date"})
    )


def merge_latest(current: pl.LazyFrame, newer: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """`current` (staged) with `newer` (staged from later deliveries only) merged in.

    Equal to staging every delivery at once: between two versions of a key, the later
    update wins, and on the same update time the later delivery, which is always `newer`'s.
    Rows whose key `newer` does not touch are kept as they are.

    `current` is in `key` order (a staging table), and so is the result: the untouched
    rows keep their order and the winners, sorted, are merged in as a stream, so the
    snapshot is written in one pass instead of sorted again.
    """
    return replace_versions(current, newer.select(key), newest_versions(current, newer, key), key)


def newest_versions(current: pl.LazyFrame, newer: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """The winning version of each key `newer` touches, between `current`'s row of that
    key (if any) and `newer`'s, in `key` order (see `merge_latest`)."""
    contenders = pl.concat(
        [current.join(newer.select(key), on=key, how="semi"), newer], how="diagonal_relaxed"
    )
    schema = current.collect_schema()
    return (
        contenders.group_by(key)
        .agg(pl.all().sort_by(["updated_at", "export_date"]).last())
        .select(schema.names())
        .cast(dict(schema))
        .sort(key)
    )


def replace_versions(
    current: pl.LazyFrame, replaced: pl.LazyFrame, versions: pl.LazyFrame, key: str
) -> pl.LazyFrame:
    """`current` without the keys in `replaced`, with `versions` merged in; both frames
    in `key` order, and so is the result."""
    untouched = current.join(replaced, on=key, how="anti", maintain_order="left")
    return untouched.merge_sorted(versions, key)


def split_by_known_customer(
    raw_orders: pl.LazyFrame, customers: pl.LazyFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Orders of customers the CRM has delivered, and the others, held with a reason.

    An order may reach the export before its customer does. It is held, not dropped: the
    first run after the customer's delivery takes it in. Every raw version of a held order
    stays, with its lineage, so each raw row is either staged or held.
    """
    known = customers.select(pl.col("customer_id").unique())
    return (
        raw_orders.join(known, on="customer_id", how="semi"),
        raw_orders.join(known, on="customer_id", how="anti").with_columns(
            pl.lit(HELD_REASON).alias(HELD_REASON_COLUMN)
        ),
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
