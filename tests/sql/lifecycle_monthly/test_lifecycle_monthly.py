"""marts.lifecycle_monthly: hand-computed on the behaviour shop, cross-checked against an
independent Python computation on generated data."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    Buyer,
    acquired_by,
    add_months,
    load_shop,
    segment_rows,
)

COLUMNS = (
    "period_month, customers_to_date, active_customers, new_customers, returning_customers,"
    " resurrecting_customers, dormant_customers, inactive_customers"
)
JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2025, month, 1) for month in range(1, 7))


def _lifecycle(settings: Settings, segment: str, value: str) -> list[tuple]:
    columns = f"{COLUMNS}, is_complete_period"
    return segment_rows(settings, "marts.lifecycle_monthly", columns, (segment, value))


def test_behaviour_shop_overall(behaviour_shop: Settings) -> None:
    # (month, customers so far, active, new, returning, resurrecting, dormant, inactive)
    assert _lifecycle(behaviour_shop, "all", "all") == [
        (JAN, 3, 3, 3, 0, 0, 0, 0, True),  # A, B, D buy for the first time
        # G new; A returns (02-28 23:59:59); B (cancelled order only) and D dormant.
        (FEB, 4, 2, 1, 1, 0, 2, 0, True),
        # F new; A (03-01 00:00:00) and G return; B and D inactive a second month.
        (MAR, 5, 3, 1, 2, 0, 0, 2, True),
        # Nobody buys: A, F, G go dormant; B, D stay inactive. 0 + 3 + 2 = 5.
        (APR, 5, 0, 0, 0, 0, 3, 2, True),
        # H new (its refunded second order does not count); B and D resurrect; A, F, G
        # inactive. 3 + 0 + 3 = 6.
        (MAY, 6, 3, 1, 0, 2, 0, 3, True),
        # E new (a cohort in the month of the as-of date); B, D, H dormant; A, F, G
        # inactive. 1 + 3 + 3 = 7. June is incomplete.
        (JUN, 7, 1, 1, 0, 0, 3, 3, False),
    ]


def test_behaviour_shop_by_country(behaviour_shop: Settings) -> None:
    # MD = {D (January), G (February), H (May)}.
    assert _lifecycle(behaviour_shop, "country", "MD") == [
        (JAN, 1, 1, 1, 0, 0, 0, 0, True),
        (FEB, 2, 1, 1, 0, 0, 1, 0, True),  # G new, D dormant
        (MAR, 2, 1, 0, 1, 0, 0, 1, True),  # G returning, D inactive
        (APR, 2, 0, 0, 0, 0, 1, 1, True),  # G dormant, D inactive
        (MAY, 3, 2, 1, 0, 1, 0, 1, True),  # H new, D resurrecting, G inactive
        (JUN, 3, 0, 0, 0, 0, 2, 1, False),  # D, H dormant, G inactive
    ]


def _lifecycle_of(known: list[Buyer], month: dt.date) -> tuple:
    """The lifecycle row of `month`, from the buyers acquired by then, as sets of ids."""
    now = {buyer.customer_id for buyer in known if buyer.is_active_in(month)}
    before = {buyer.customer_id for buyer in known if buyer.is_active_in(add_months(month, -1))}
    new = {buyer.customer_id for buyer in known if buyer.cohort_month == month}
    everyone = {buyer.customer_id for buyer in known}
    return (
        month,
        len(everyone),
        len(now),
        len(new),
        len(now & before),
        len(now - before - new),
        len(before - now),
        len(everyone - now - before),
    )


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    for (segment, value), buyers in shop.by_segment("all", "age_band").items():
        expected = [
            _lifecycle_of(acquired_by(buyers, month), month)
            for month in shop.months
            if acquired_by(buyers, month)
        ]
        actual = [row[:-1] for row in _lifecycle(generated_behaviour_run, segment, value)]
        assert actual == expected, (segment, value)
