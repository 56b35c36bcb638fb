"""marts.clv_by_cohort: hand-computed on the tiny shop, cross-checked against an
independent Polars aggregation of marts.customer_clv on generated data."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.config import Settings
from tests.sql.harness import published

SEGMENTS = ("country", "acquisition_channel", "age_band", "is_loyalty_member", "programme_arm")


def test_tiny_shop_cohorts(tiny_shop: Settings) -> None:
    rows = published(
        tiny_shop,
        "select cohort_month, segment, segment_value, customers_n, historical_clv_total,"
        " historical_clv_per_customer, clv_12m_total, clv_12m_per_customer, is_stale"
        " from marts.clv_by_cohort where segment in ('all', 'country')",
    )
    jan, feb, mar = (dt.date(2025, month, 1) for month in (1, 2, 3))
    assert rows.rows() == [
        # January cohort {C1, C2}: revenue 180 + 60 = 240, per customer 240 / 2 = 120.
        # Both fits failed in the tiny shop: predicted CLV is NULL, not 0, and stale.
        (jan, "all", "all", 2, 240.0, 120.0, None, None, True),
        (jan, "country", "RO", 2, 240.0, 120.0, None, None, True),
        (feb, "all", "all", 1, 20.1, 20.1, None, None, True),  # C4: 100 RON * 0.201
        (feb, "country", "RO", 1, 20.1, 20.1, None, None, True),
        (mar, "all", "all", 1, 10.0, 10.0, None, None, True),
        (mar, "country", "RO", 1, 10.0, 10.0, None, None, True),
    ]


@pytest.mark.integration
def test_matches_an_independent_aggregation_on_generated_data(generated_run: Settings) -> None:
    customers = published(generated_run, "from marts.customer_clv").with_columns(
        pl.col("is_loyalty_member").cast(pl.String).str.to_lowercase()
    )
    totals = [
        pl.len().alias("customers_n"),
        pl.col("p_alive").sum().alias("expected_alive_customers"),
        pl.col("expected_purchases_365d").sum(),
        pl.col("clv_12m").sum().alias("clv_12m_total"),
        pl.col("historical_clv_to_date").sum().alias("historical_clv_total"),
    ]
    expected = pl.concat(
        [
            customers.group_by("cohort_month")
            .agg(*totals)
            .with_columns(segment=pl.lit("all"), segment_value=pl.lit("all")),
            *(
                customers.group_by("cohort_month", segment_value=segment)
                .agg(*totals)
                .with_columns(segment=pl.lit(segment))
                for segment in SEGMENTS
            ),
        ],
        how="diagonal",
    )
    columns = [
        "cohort_month",
        "segment",
        "segment_value",
        "customers_n",
        "expected_alive_customers",
        "expected_purchases_365d",
        "clv_12m_total",
        "historical_clv_total",
    ]
    actual = published(generated_run, f"select {', '.join(columns)} from marts.clv_by_cohort")
    assert_frame_equal(
        actual.sort(columns[:3]),
        expected.select(columns).sort(columns[:3]),
        check_dtypes=False,
        rel_tol=1e-9,
    )
