"""marts.cohort_retention: hand-computed on the tiny shop, cross-checked against an
independent Python computation on generated data."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines.config import Settings


def _retention(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        return connection.sql(
            "select cohort_month, period_index, period_month, cohort_size, active_customers,"
            " retention_rate, is_observable, is_complete_period from marts.cohort_retention"
            " where segment = 'all' order by cohort_month, period_index"
        ).fetchall()


def test_tiny_shop_triangle(tiny_shop: Settings) -> None:
    jan, feb, mar, apr, may = (dt.date(2025, month, 1) for month in range(1, 6))
    assert _retention(tiny_shop) == [
        # January cohort = {C1, C2}: size 2.
        (jan, 0, jan, 2, 2, 1.0, True, True),  # both bought in January: 2 / 2
        (jan, 1, feb, 2, 1, 0.5, True, True),  # only C1 in February: 1 / 2
        (jan, 2, mar, 2, 1, 0.5, True, False),  # C1 in March (incomplete as of 03-15): 1 / 2
        # February cohort = {C4} (C3's only order was refunded: no cohort).
        (feb, 0, feb, 1, 1, 1.0, True, True),
        (feb, 1, mar, 1, 0, 0.0, True, False),  # observable, nobody active: 0, not NULL
        (feb, 2, apr, 1, None, None, False, False),  # April is after the as-of month: NULL
        # March cohort = {C5}, in the month of the as-of date.
        (mar, 0, mar, 1, 1, 1.0, True, False),
        (mar, 1, apr, 1, None, None, False, False),
        (mar, 2, may, 1, None, None, False, False),
    ]


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(generated_run: Settings) -> None:
    # Independent route: from the staged orders, in plain Python sets.
    orders = pl.read_parquet(generated_run.paths.staging / "orders.parquet")
    as_of = generated_run_as_of(generated_run)
    active_months: dict[str, set[tuple[int, int]]] = {}
    for customer_id, status, amount, refund, currency, ordered_at in orders.select(
        "customer_id", "status", "amount", "refund_amount", "currency", "ordered_at"
    ).iter_rows():
        net = (amount - (refund or 0.0)) * generated_run.fx_rates[currency]
        if status == "completed" and net > 0 and ordered_at.date() <= as_of:
            active_months.setdefault(customer_id, set()).add((ordered_at.year, ordered_at.month))
    cohort_of = {customer: min(months) for customer, months in active_months.items()}
    expected: dict[tuple[dt.date, int], tuple[int, int]] = {}
    for customer, months in active_months.items():
        year, month = cohort_of[customer]
        for active_year, active_month in months:
            index = (active_year - year) * 12 + active_month - month
            key = (dt.date(year, month, 1), index)
            size, active = expected.get(key, (0, 0))
            expected[key] = (size, active + 1)
    sizes: dict[dt.date, int] = {}
    for year, month in cohort_of.values():
        sizes[dt.date(year, month, 1)] = sizes.get(dt.date(year, month, 1), 0) + 1

    actual = {
        (cohort, index): (size, active)
        for cohort, index, _, size, active, _, observable, _ in _retention(generated_run)
        if observable
    }
    for (cohort, index), (size, active) in actual.items():
        assert size == sizes[cohort]
        assert active == expected.get((cohort, index), (0, 0))[1], (cohort, index)
    assert {key for key, (_, active) in expected.items()} <= actual.keys()


def generated_run_as_of(settings: Settings) -> dt.date:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        return connection.sql("select max(as_of) from ops.releases").fetchall()[0][0]
