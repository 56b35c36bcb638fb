"""Batch-level numbers, computed in Polars as small frames for the gates to judge.

Checks about a delivery or the whole history (row accounting, volume against the trailing
deliveries, freshness, the share of orders held back, the share of responses linked to a
customer) are aggregates, not row rules. They are computed here, a few rows per run, and
validated by the `checks.*` suites like any table, so each threshold is an expectation with
a severity, its result lands in `ops.gate_results` and in Data Docs like every other.

A share or ratio over fewer than `quality_min_rows` rows is null: not judged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines import storage
from pipelines.config import SOURCES, Settings


def delivery_checks(settings: Settings, export_dates: Sequence[dt.date]) -> pl.DataFrame:
    """One row per source and delivery of `export_dates`; grain: source, export_date."""
    paths = settings.paths
    last = max(export_dates)
    audit = _audit(settings, last).sort("source", "export_date")
    trailing = (
        pl.col("rows_read")
        .shift(1)
        # Judged once the window is full: the first days of a history (a business growing,
        # a sample starting) would otherwise read as spikes.
        .rolling_median(
            settings.volume_trailing_deliveries, min_samples=settings.volume_trailing_deliveries
        )
        .over("source")
    )
    on_disk = pl.concat(
        [
            _partition_counts(paths.raw_dir(source), export_dates, "raw_rows", newest="updated_at")
            .join(
                _partition_counts(paths.quarantine_dir(source), export_dates, "quarantine_rows"),
                on="export_date",
                how="full",
                coalesce=True,
            )
            .with_columns(source=pl.lit(source))
            for source in SOURCES
        ],
        how="diagonal_relaxed",
    )
    end_of_day = (pl.col("export_date") + pl.duration(days=1)).cast(pl.Datetime("us", "UTC"))
    judged = pl.col("rows_read") >= settings.quality_min_rows
    return (
        audit.with_columns(trailing_median_rows=trailing)
        .filter(pl.col("export_date").is_in(list(export_dates)))
        .join(on_disk, on=["source", "export_date"], how="left")
        .select(
            "source",
            "export_date",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            unbalanced_rows=pl.col("rows_read")
            - pl.col("rows_loaded")
            - pl.col("rows_quarantined"),
            # Rows the audit counts that are not in the partitions on disk (or the reverse).
            partition_row_gap=pl.col("rows_loaded")
            + pl.col("rows_quarantined")
            - pl.col("raw_rows").fill_null(0)
            - pl.col("quarantine_rows").fill_null(0),
            quarantine_share=pl.when(judged).then(pl.col("rows_quarantined") / pl.col("rows_read")),
            trailing_median_rows="trailing_median_rows",
            volume_ratio=pl.when(pl.col("trailing_median_rows") >= settings.quality_min_rows).then(
                pl.col("rows_read") / pl.col("trailing_median_rows")
            ),
            newest_updated_at="newest_updated_at",
            freshness_lag_hours=(end_of_day - pl.col("newest_updated_at")).dt.total_seconds()
            / 3600,
            extra_columns=pl.when(pl.col("extra_columns") != "").then(pl.col("extra_columns")),
        )
        .sort("source", "export_date")
    )


def integrity_checks(settings: Settings, as_of: dt.date) -> pl.DataFrame:
    """One row per source, over every delivery up to `as_of`; grain: source.

    Row accounting of the whole history (each delivery balanced, the partitions holding
    what the audit says), the orders held back because their customer is unknown, orders
    in the facts whose customer is not in the facts, and the share of responses linked.
    """
    paths = settings.paths
    audit = (
        _audit(settings, as_of)
        .group_by("source")
        .agg(
            deliveries=pl.len(),
            unbalanced_deliveries=(
                pl.col("rows_read") != pl.col("rows_loaded") + pl.col("rows_quarantined")
            ).sum(),
            audit_rows_loaded=pl.col("rows_loaded").sum(),
            audit_rows_quarantined=pl.col("rows_quarantined").sum(),
        )
    )
    on_disk = pl.DataFrame(
        {
            "source": list(SOURCES),
            "raw_rows": [
                _rows(paths.raw_dir(source), as_of, f"raw {source}") for source in SOURCES
            ],
            "quarantine_rows": [
                _rows(paths.quarantine_dir(source), as_of, f"quarantined {source}")
                for source in SOURCES
            ],
        }
    )
    return (
        audit.join(on_disk, on="source", how="full", coalesce=True)
        .join(_order_integrity(settings), on="source", how="left")
        .join(_response_linkage(settings), on="source", how="left")
        .select(
            "source",
            "deliveries",
            "unbalanced_deliveries",
            raw_rows_gap=pl.col("raw_rows") - pl.col("audit_rows_loaded"),
            quarantine_rows_gap=pl.col("quarantine_rows") - pl.col("audit_rows_quarantined"),
            held_rows="held_rows",
            held_share=pl.when(pl.col("raw_rows") >= settings.quality_min_rows).then(
                pl.col("held_rows") / pl.col("raw_rows")
            ),
            orders_without_customer="orders_without_customer",
            linked_share=pl.when(pl.col("responses") >= settings.quality_min_rows).then(
                pl.col("linked_responses") / pl.col("responses")
            ),
        )
        .sort("source")
    )


def _audit(settings: Settings, up_to: dt.date) -> pl.DataFrame:
    return storage.scan_partitions(settings.paths.load_audit_dir, up_to, "load audit").collect()


def _partition_counts(
    base: Path, export_dates: Sequence[dt.date], name: str, newest: str | None = None
) -> pl.DataFrame:
    """Rows (and the newest value of `newest`) in each partition of `export_dates`.

    A partition that is missing counts nothing, so the accounting shows the gap.
    """
    aggregates = [pl.len().cast(pl.Int64).alias(name)]
    schema: dict[str, pl.DataType] = {"export_date": pl.Date(), name: pl.Int64()}
    if newest is not None:
        aggregates.append(pl.col(newest).max().alias(f"newest_{newest}"))
        schema[f"newest_{newest}"] = pl.Datetime("us", "UTC")
    files = [storage.partition_path(base, day) for day in export_dates]
    existing = [path for path in files if path.is_file()]
    if not existing:
        return pl.DataFrame(schema=schema)
    return pl.scan_parquet(existing).group_by(export_date="_export_date").agg(aggregates).collect()


def _rows(base: Path, up_to: dt.date, what: str) -> int:
    return storage.scan_partitions(base, up_to, what).select(pl.len()).collect().item()


def _order_integrity(settings: Settings) -> pl.DataFrame:
    paths = settings.paths
    held = storage.read_table(paths.held_orders, "staging table held_orders")
    orders = storage.read_table(paths.fact_files("orders"), "facts table orders")
    customers = storage.read_table(paths.fact_table("customers"), "facts table customers")
    return pl.DataFrame(
        {
            "source": ["orders"],
            "held_rows": [held.select(pl.len()).collect().item()],
            "orders_without_customer": [
                orders.join(customers, on="customer_id", how="anti")
                .select(pl.len())
                .collect()
                .item()
            ],
        }
    )


def _response_linkage(settings: Settings) -> pl.DataFrame:
    responses = storage.read_table(
        settings.paths.fact_table("survey_responses"), "facts table survey_responses"
    )
    return responses.select(
        source=pl.lit("survey_responses"),
        responses=pl.len(),
        linked_responses=pl.col("is_linked").sum(),
    ).collect()
