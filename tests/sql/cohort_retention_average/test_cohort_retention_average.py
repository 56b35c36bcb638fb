"""marts.cohort_retention_average: hand-computed on the behaviour shop, cross-checked against
an independent Python computation on generated data."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    Buyer,
    add_months,
    load_shop,
    month_end,
    month_of,
    query,
    segment_rows,
)

COLUMNS = (
    "period_index, cohorts, cohort_customers, retention_rate, cumulative_retention_rate,"
    " revenue_retention_rate, repeat_purchase_rate"
)


def _curve(settings: Settings, segment: str, value: str) -> list[tuple]:
    return segment_rows(settings, "marts.cohort_retention_average", COLUMNS, (segment, value))


def test_behaviour_shop_pools_complete_cohorts_only(behaviour_shop: Settings) -> None:
    # Cohorts: January {A, B, D} (revenue 180 in January), February {G} (80), March {F}
    # (45), May {H} (15), June {E} (10). June (the month of the as-of date, 06-15) is
    # incomplete, so a cohort's June cell never counts.
    assert _curve(behaviour_shop, "all", "all") == [
        # Index 0: January, February, March, May (June's index 0 is June): 6 customers, all
        # active; repeat: only G (two orders in February): 1 / 6.
        (0, 4, 6, 1.0, 1.0, 1.0, pytest.approx(1 / 6)),
        # Index 1: January (February: A), February (March: G), March (April: nobody); May's
        # index 1 is June. Active 2 / 5; still to come back: A, B, D, G = 4 / 5; revenue
        # (50 + 20 + 0) / (180 + 80 + 45) = 70 / 305; repeat A, G = 2 / 5.
        (1, 3, 5, 0.4, 0.8, pytest.approx(70 / 305), 0.4),
        # Index 2: January (March: A), February (April), March (May): active 1 / 5; to come
        # back: A, B, D = 3 / 5; revenue 30 / 305; repeat A, G = 2 / 5.
        (2, 3, 5, 0.2, 0.6, pytest.approx(30 / 305), 0.4),
        # Index 3: January (April), February (May); March's is June. Active 0 / 4; B, D to
        # come back: 2 / 4; revenue 0 / (180 + 80); repeat A, G = 2 / 4.
        (3, 2, 4, 0.0, 0.5, 0.0, 0.5),
        # Index 4: January only (May: B, D): 2 / 3; revenue 65 / 180; repeat A, B, D = 3 / 3.
        (4, 1, 3, pytest.approx(2 / 3), pytest.approx(2 / 3), pytest.approx(65 / 180), 1.0),
        # Index 5: only January reaches it, in June (incomplete): no cohort, NULL, not 0.
        (5, 0, 0, None, None, None, None),
    ]


def test_behaviour_shop_by_segment(behaviour_shop: Settings) -> None:
    # Loyalty members: G (February) and H (May). Index 1: G active in March, H's index 1 is
    # June (incomplete): 1 cohort, 1 / 1.
    assert _curve(behaviour_shop, "is_loyalty_member", "true")[1][:4] == (1, 1, 1, 1.0)


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    last_complete = max(month for month in shop.months if month_end(month) <= shop.as_of)
    for (segment, value), buyers in shop.by_segment("all", "programme_arm").items():
        expected = [_pooled(buyers, index, last_complete) for index in range(len(shop.months))]
        assert _curve(generated_behaviour_run, segment, value) == [
            pytest.approx(row) for row in expected
        ], (segment, value)


def _pooled(buyers: list[Buyer], index: int, last_complete: dt.date) -> tuple:
    """One row of the average curve, from the buyers whose age-`index` month is complete."""
    members = [buyer for buyer in buyers if add_months(buyer.cohort_month, index) <= last_complete]
    if not members:
        return (index, 0, 0, None, None, None, None)
    aged = [(buyer, add_months(buyer.cohort_month, index)) for buyer in members]
    return (
        index,
        len({buyer.cohort_month for buyer in members}),
        len(members),
        sum(buyer.is_active_in(month) for buyer, month in aged) / len(members),
        sum(month_of(buyer.last_purchase) >= month for buyer, month in aged) / len(members),
        sum(buyer.revenue_in(month) for buyer, month in aged)
        / sum(buyer.revenue_in(buyer.cohort_month) for buyer in members),
        sum(buyer.orders_through(month) >= 2 for buyer, month in aged) / len(members),
    )


def test_every_segment_value_has_every_index(behaviour_shop: Settings) -> None:
    # The oldest cohort (January) is 5 months old in June: indexes 0..5 for every value.
    rows = query(
        behaviour_shop,
        "select segment, segment_value, count(*), max(period_index)"
        " from marts.cohort_retention_average group by all",
    )
    assert {row[2:] for row in rows} == {(6, 5)}
