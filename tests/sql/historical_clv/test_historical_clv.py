"""marts.historical_clv: hand-computed on the behaviour shop (gross margin 0.4) and the tiny
shop (no margin set), cross-checked against an independent computation on generated data."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    SegmentKey,
    add_months,
    load_shop,
    months_between,
    segment_rows,
)

JAN, FEB = dt.date(2025, 1, 1), dt.date(2025, 2, 1)


def _clv(settings: Settings, cohort: dt.date, segment: SegmentKey = ("all", "all")) -> list:
    columns = "period_index, cumulative_net_revenue, historical_clv, historical_clv_margin"
    where = f"cohort_month = '{cohort}'"
    return segment_rows(settings, "marts.historical_clv", columns, segment, where)


def test_behaviour_shop_january_cohort(behaviour_shop: Settings) -> None:
    # {A, B, D}: January 100 + 60 + 20 = 180; February A 50; March A 30; April nothing;
    # May B 40 + D 25 = 65; June nothing. Per member: / 3; margin: x 0.4.
    assert _clv(behaviour_shop, JAN) == [
        (0, 180.0, 60.0, pytest.approx(24.0)),
        (1, 230.0, pytest.approx(230 / 3), pytest.approx(0.4 * 230 / 3)),
        (2, 260.0, pytest.approx(260 / 3), pytest.approx(0.4 * 260 / 3)),
        (3, 260.0, pytest.approx(260 / 3), pytest.approx(0.4 * 260 / 3)),  # April: flat
        (4, 325.0, pytest.approx(325 / 3), pytest.approx(0.4 * 325 / 3)),
        (5, 325.0, pytest.approx(325 / 3), pytest.approx(0.4 * 325 / 3)),  # June, so far
    ]


def test_behaviour_shop_stops_at_the_as_of_month(behaviour_shop: Settings) -> None:
    # {G}: 30 + 50 in February, 20 in March. Index 5 is July: NULL, not carried forward.
    assert _clv(behaviour_shop, FEB) == [
        (0, 80.0, 80.0, 32.0),
        (1, 100.0, 100.0, 40.0),
        (2, 100.0, 100.0, 40.0),
        (3, 100.0, 100.0, 40.0),
        (4, 100.0, 100.0, 40.0),
        (5, None, None, None),
    ]


def test_without_a_margin_rate_the_margin_column_is_null(tiny_shop: Settings) -> None:
    # Tiny shop, January cohort {C1, C2}: 100 + 60 = 160, then C1 50 and 30.
    assert _clv(tiny_shop, JAN) == [
        (0, 160.0, 80.0, None),
        (1, 210.0, 105.0, None),
        (2, 240.0, 120.0, None),
    ]


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    margin = generated_behaviour_run.gross_margin_rate
    assert margin is not None
    shop = load_shop(generated_behaviour_run)
    for segment, buyers in shop.by_segment("all", "country").items():
        for cohort in {buyer.cohort_month for buyer in buyers}:
            members = [buyer for buyer in buyers if buyer.cohort_month == cohort]
            age = months_between(cohort, shop.as_of_month)
            expected = []
            for index in range(age + 1):
                month = add_months(cohort, index)
                total = sum(
                    purchase.net_revenue
                    for buyer in members
                    for purchase in buyer.purchases
                    if purchase.day < add_months(month, 1)
                )
                clv = total / len(members)
                expected.append((index, total, clv, clv * margin))
            actual = _clv(generated_behaviour_run, cohort, segment)
            assert actual[: age + 1] == [pytest.approx(row) for row in expected], (segment, cohort)
            assert all(row[1:] == (None, None, None) for row in actual[age + 1 :])
