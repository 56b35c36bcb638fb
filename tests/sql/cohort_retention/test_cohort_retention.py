"""marts.cohort_retention: hand-computed on the tiny shop, cross-checked against an
independent Python computation on generated data."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    Buyer,
    SegmentKey,
    add_months,
    load_shop,
    month_of,
    months_between,
    query,
    segment_rows,
)


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
    orders = pl.read_parquet(generated_run.paths.staging_files("orders"))
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


def _rates(
    settings: Settings, segment: SegmentKey = ("all", "all")
) -> dict[tuple[dt.date, int], tuple]:
    """(logo, cumulative, revenue, repeat) rates of the observable cells of one segment value."""
    columns = (
        "cohort_month, period_index, retention_rate, cumulative_retention_rate,"
        " revenue_retention_rate, repeat_purchase_rate"
    )
    rows = segment_rows(settings, "marts.cohort_retention", columns, segment, "is_observable")
    return {row[:2]: row[2:] for row in rows}


def test_behaviour_shop_cumulative_revenue_and_repeat(behaviour_shop: Settings) -> None:
    jan, feb, mar, may, jun = (dt.date(2025, month, 1) for month in (1, 2, 3, 5, 6))
    third = pytest.approx(1 / 3)
    # (logo, cumulative, revenue, repeat). January cohort {A, B, D}, revenue 180 in January;
    # A last bought in March (index 2), B and D in May (index 4).
    expected = {
        (jan, 0): (1.0, 1.0, 1.0, 0.0),
        (jan, 1): (third, 1.0, pytest.approx(50 / 180), third),  # A; A has 2 orders
        (jan, 2): (third, 1.0, pytest.approx(30 / 180), third),
        (jan, 3): (0.0, pytest.approx(2 / 3), 0.0, third),  # B, D still to come back
        (jan, 4): (pytest.approx(2 / 3), pytest.approx(2 / 3), pytest.approx(65 / 180), 1.0),
        (jan, 5): (0.0, 0.0, 0.0, 1.0),  # June, incomplete: nobody yet
        # February cohort {G}: 80 in February (two orders: repeat from index 0), 20 in March.
        (feb, 0): (1.0, 1.0, 1.0, 1.0),
        (feb, 1): (1.0, 1.0, 20 / 80, 1.0),
        (feb, 2): (0.0, 0.0, 0.0, 1.0),
        (feb, 3): (0.0, 0.0, 0.0, 1.0),
        (feb, 4): (0.0, 0.0, 0.0, 1.0),
        # March {F}, May {H} and June {E}: one purchase each.
        (mar, 0): (1.0, 1.0, 1.0, 0.0),
        (mar, 1): (0.0, 0.0, 0.0, 0.0),
        (mar, 2): (0.0, 0.0, 0.0, 0.0),
        (mar, 3): (0.0, 0.0, 0.0, 0.0),
        (may, 0): (1.0, 1.0, 1.0, 0.0),
        (may, 1): (0.0, 0.0, 0.0, 0.0),
        (jun, 0): (1.0, 1.0, 1.0, 0.0),
    }
    assert _rates(behaviour_shop) == expected
    # The other 30 - 18 = 12 cells are after June: every count and rate NULL, never 0.
    unobservable = query(
        behaviour_shop,
        "select active_customers, retained_customers, repeat_customers, net_revenue,"
        " retention_rate, cumulative_retention_rate, revenue_retention_rate,"
        " repeat_purchase_rate from marts.cohort_retention"
        " where segment = 'all' and not is_observable",
    )
    assert unobservable == [(None,) * 8] * 12


def test_behaviour_shop_stores_what_re_aggregates(behaviour_shop: Settings) -> None:
    rows = query(
        behaviour_shop,
        "select cohort_month, cohort_size, acquisition_net_revenue from marts.cohort_retention"
        " where segment = 'country' and segment_value = 'MD' and period_index = 0",
    )
    # MD = {D (January, 20), G (February, 30 + 50), H (May, 15)}.
    assert sorted(rows) == [
        (dt.date(2025, 1, 1), 1, 20.0),
        (dt.date(2025, 2, 1), 1, 80.0),
        (dt.date(2025, 5, 1), 1, 15.0),
    ]


@pytest.mark.integration
def test_rates_match_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    for segment, buyers in shop.by_segment("all", "acquisition_channel").items():
        expected: dict[tuple[dt.date, int], tuple] = {}
        cohorts: dict[dt.date, list[Buyer]] = {}
        for buyer in buyers:
            cohorts.setdefault(buyer.cohort_month, []).append(buyer)
        for cohort, members in cohorts.items():
            first_month_revenue = sum(buyer.revenue_in(cohort) for buyer in members)
            for index in range(months_between(cohort, shop.as_of_month) + 1):
                month = add_months(cohort, index)
                expected[(cohort, index)] = (
                    sum(buyer.is_active_in(month) for buyer in members) / len(members),
                    sum(month_of(buyer.last_purchase) >= month for buyer in members) / len(members),
                    sum(buyer.revenue_in(month) for buyer in members) / first_month_revenue,
                    sum(buyer.orders_through(month) >= 2 for buyer in members) / len(members),
                )
        actual = _rates(generated_behaviour_run, segment)
        assert actual.keys() == expected.keys(), segment
        for key, rates in expected.items():
            assert actual[key] == pytest.approx(rates), (segment, key)
