"""The short account `loyalty demo` and `loyalty run` print: what the warehouse now says."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import Layout
from pipelines.periods import last_complete_month

RETENTION_AGE_MONTHS = 3


@dataclass(frozen=True)
class Summary:
    as_of: dt.date
    entity_counts: dict[str, int]
    held_orders: int  # orders whose customer the CRM has not delivered (not in the counts)
    rows_read: int
    rows_quarantined: int
    nps_month: dt.date | None
    nps: float | None
    nps_moe_95: float | None
    nps_responses: int | None
    retention_cohort: dt.date | None
    retention_rate: float | None
    clv_12m_per_customer: float | None  # None: no model parameters yet
    backtest_ratio: float | None  # predicted / actual purchases of this run's backtest
    warehouse: Path
    parquet: Path
    log_file: Path


def summarise(layout: Layout, as_of: dt.date, log_file: Path) -> Summary:
    """Read the published warehouse (read-only, as a BI tool would)."""
    with duckdb.connect(str(layout.warehouse_db), read_only=True) as connection:
        counts = dict(
            connection.sql("select entity, entity_count from ops.entity_counts").fetchall()
        )
        rows_read, rows_quarantined = connection.sql(
            "select sum(rows_read), sum(rows_quarantined) from ops.load_audit"
        ).fetchall()[0]
        nps_row = connection.execute(
            "select period_month, nps, nps_moe_95, responses_n from marts.nps_monthly "
            "where period_month = $month",
            {"month": last_complete_month(as_of)},
        ).fetchall()
        retention_row = connection.execute(
            "select cohort_month, retention_rate from marts.cohort_retention "
            "where segment = 'all' and period_index = $age and is_complete_period "
            "order by cohort_month desc limit 1",
            {"age": RETENTION_AGE_MONTHS},
        ).fetchall()
        clv_12m, backtest_ratio = connection.execute(
            "select (select avg(clv_12m) from marts.customer_clv), "
            "(select predicted_to_actual_ratio from ops.clv_backtests where as_of = $as_of)",
            {"as_of": as_of},
        ).fetchall()[0]
    nps_month, nps, moe, responses = nps_row[0] if nps_row else (None, None, None, None)
    cohort, retention = retention_row[0] if retention_row else (None, None)
    return Summary(
        as_of=as_of,
        entity_counts=counts,
        held_orders=_held_orders(layout),
        rows_read=int(rows_read or 0),
        rows_quarantined=int(rows_quarantined or 0),
        nps_month=nps_month,
        nps=nps,
        nps_moe_95=moe,
        nps_responses=responses,
        retention_cohort=cohort,
        retention_rate=retention,
        clv_12m_per_customer=clv_12m,
        backtest_ratio=backtest_ratio,
        warehouse=layout.warehouse_db,
        parquet=layout.warehouse_parquet,
        log_file=log_file,
    )


def _held_orders(layout: Layout) -> int:
    """Distinct orders held at staging as of the run (every raw version of one is kept)."""
    if not layout.held_orders.is_file():
        return 0
    return (
        pl.scan_parquet(layout.held_orders).select(pl.col("order_id").n_unique()).collect().item()
    )


def render(summary: Summary) -> str:
    counts = summary.entity_counts
    lines = [
        f"Loyalty warehouse as of {summary.as_of}",
        f"  customers         {counts.get('customers', 0):>10,}"
        f"  ({counts.get('customers with a purchase', 0):,} with a purchase)",
        f"  orders            {counts.get('orders', 0):>10,}"
        f"  ({counts.get('purchases', 0):,} count as purchases;"
        f" {summary.held_orders:,} more held: customer unknown)",
        f"  survey responses  {counts.get('survey responses', 0):>10,}"
        f"  ({counts.get('survey responses linked to a customer', 0):,} linked to a customer)",
        f"  rows quarantined  {summary.rows_quarantined:>10,}  of {summary.rows_read:,} read",
    ]
    if summary.nps is not None and summary.nps_month is not None:
        lines.append(
            f"  NPS {summary.nps_month:%B %Y}: {summary.nps:+.1f} "
            f"± {summary.nps_moe_95:.1f} (95%, n = {summary.nps_responses:,})"
        )
    else:
        lines.append("  NPS: no responses in the latest complete month")
    if summary.retention_rate is not None and summary.retention_cohort is not None:
        lines.append(
            f"  {RETENTION_AGE_MONTHS}-month retention of the {summary.retention_cohort:%B %Y} "
            f"cohort: {summary.retention_rate:.1%}"
        )
    else:
        lines.append(f"  {RETENTION_AGE_MONTHS}-month retention: no cohort is old enough yet")
    if summary.clv_12m_per_customer is not None:
        backtest = (
            f" (backtest predicted/actual {summary.backtest_ratio:.2f})"
            if summary.backtest_ratio is not None
            else ""
        )
        lines.append(
            f"  predicted 12-month CLV: {summary.clv_12m_per_customer:,.2f} per buyer" + backtest
        )
    else:
        lines.append("  predicted CLV: no model parameters yet (see ops.clv_fit_status)")
    lines += [
        f"  warehouse  {summary.warehouse}",
        f"  parquet    {summary.parquet}",
        f"  log        {summary.log_file}",
    ]
    return "\n".join(lines)
