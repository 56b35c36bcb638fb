"""marts.customer_clv and the CLV ops tables: hand-computed on the tiny shop (whose four
buyers are too few to fit either model: the failure path), cross-checked against
`lifetimes` on generated data (the success path)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from lifetimes import BetaGeoFitter
from lifetimes.utils import summary_data_from_transaction_data

from pipelines.config import Settings
from tests.sql.harness import published
from tests.unit.clv.test_lifetimes import same_to_significant_figures


def test_tiny_shop_summary_and_failed_fits(tiny_shop: Settings) -> None:
    customers = published(
        tiny_shop,
        "select customer_id, cohort_month, frequency, recency_days, tenure_days,"
        " monetary_value, historical_clv_to_date, p_alive, clv_12m, params_as_of, is_stale"
        " from marts.customer_clv",
    )
    jan, feb, mar = (dt.date(2025, month, 1) for month in (1, 2, 3))
    assert customers.rows() == [
        # C1 buys 01-10 (100), 02-28 (50), 03-01 (30): three purchase days, frequency 2;
        # recency 01-10 -> 03-01 = 21 + 28 + 1 = 50 days; T 01-10 -> 03-15 = 64 days;
        # monetary (50 + 30) / 2 = 40; revenue to date 180. No parameters: predictions
        # NULL (never 0), stale.
        ("C1", jan, 2, 50, 64, 40.0, 180.0, None, None, None, True),
        # C2: one purchase day 01-31 (80 - 20 refunded = 60): T = 0 + 28 + 15 = 43.
        ("C2", jan, 0, 0, 43, 0.0, 60.0, None, None, None, True),
        # C3 never bought (refunded in full): not a row. C4: 02-14, 100 RON = 20.10 EUR.
        ("C4", feb, 0, 0, 29, 0.0, 20.1, None, None, None, True),
        ("C5", mar, 0, 0, 5, 0.0, 10.0, None, None, None, True),
    ]
    status = published(
        tiny_shop, "select model, status, is_stale, params_as_of from ops.clv_fit_status"
    )
    assert status.rows() == [("bgnbd", "failed", True, None), ("gamma_gamma", "failed", True, None)]
    backtest = published(tiny_shop, "select calibration_end, status from ops.clv_backtests")
    # 2025-03-15 - 90 days = 2024-12-15: nobody had bought yet.
    assert backtest.rows() == [(dt.date(2024, 12, 15), "skipped")]


@pytest.mark.integration
def test_matches_lifetimes_on_generated_data(generated_run: Settings) -> None:
    """Every customer of the published mart against lifetimes on the same order facts."""
    orders = pl.read_parquet(generated_run.paths.fact_files("orders"))
    as_of = published(generated_run, "select max(as_of) as as_of from ops.releases")["as_of"][0]
    transactions = (
        orders.filter(pl.col("is_purchase"))
        .with_columns(pl.col("ordered_at").dt.replace_time_zone(None))
        .to_pandas()
    )
    theirs = summary_data_from_transaction_data(
        transactions,
        "customer_id",
        "ordered_at",
        monetary_value_col="net_amount",
        observation_period_end=as_of.isoformat(),
    )
    model = BetaGeoFitter().fit(theirs["frequency"], theirs["recency"], theirs["T"])
    ours = published(generated_run, "from marts.customer_clv order by customer_id")
    assert ours["customer_id"].to_list() == theirs.index.to_list()
    for column, reference in (
        ("frequency", "frequency"),
        ("recency_days", "recency"),
        ("tenure_days", "T"),
        ("monetary_value", "monetary_value"),
    ):
        assert np.allclose(ours[column], theirs[reference], rtol=1e-12, atol=0), column
    alive = model.conditional_probability_alive(theirs["frequency"], theirs["recency"], theirs["T"])
    assert all(map(same_to_significant_figures, ours["p_alive"], alive))
    assert not ours["is_stale"].any()
