"""marts.cohort_activity: hand-computed on the behaviour shop (tests/behaviour_shop.py),
cross-checked against an independent Python computation on generated data."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    Buyer,
    add_months,
    customer_months,
    load_shop,
    month_of,
    query,
    segment_rows,
)

COUNTS = (
    "cohort_size, active_customers, new_customers, returning_customers, resurrecting_customers,"
    " dormant_customers, inactive_customers, retained_customers, repeat_customers,"
    " completed_orders"
)
JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2025, month, 1) for month in range(1, 7))


def _activity(settings: Settings, segment: str, value: str) -> dict[tuple, tuple]:
    columns = f"cohort_month, period_month, period_index, {COUNTS}, net_revenue, is_complete_period"
    rows = segment_rows(settings, "marts.cohort_activity", columns, (segment, value))
    return {row[:3]: row[3:] for row in rows}


def test_behaviour_shop_overall(behaviour_shop: Settings) -> None:
    # Columns: size, active, new, returning, resurrecting, dormant, inactive, retained,
    # repeat, orders, net revenue, complete. Retained = active now or in a later month;
    # repeat = 2+ purchases so far. June is incomplete (as of 06-15).
    assert _activity(behaviour_shop, "all", "all") == {
        # January cohort {A, B, D}; last active months A March (index 2), B and D May (4).
        # January: all three new; revenue A 100 + B (80 - 20 refunded) 60 + D 20 = 180.
        (JAN, JAN, 0): (3, 3, 3, 0, 0, 0, 0, 3, 0, 3, 180.0, True),
        # February: A returns (its 02-28 23:59:59 order is February); B (only a cancelled
        # order) and D are dormant. Still retained: all 3 (A in March, B and D in May).
        (JAN, FEB, 1): (3, 1, 0, 1, 0, 2, 0, 3, 1, 1, 50.0, True),
        # March: A again (03-01 00:00:00 is March); B and D inactive a second month.
        (JAN, MAR, 2): (3, 1, 0, 1, 0, 0, 2, 3, 1, 1, 30.0, True),
        # April, nobody in the shop buys: A dormant, B and D inactive; retained B and D.
        (JAN, APR, 3): (3, 0, 0, 0, 0, 1, 2, 2, 1, 0, 0.0, True),
        # May: B and D come back, resurrecting (not active in April, not new): 40 + 25 = 65.
        # Both now have 2 purchases: repeat = A, B, D = 3.
        (JAN, MAY, 4): (3, 2, 0, 0, 2, 0, 1, 2, 3, 2, 65.0, True),
        (JAN, JUN, 5): (3, 0, 0, 0, 0, 2, 1, 0, 3, 0, 0.0, False),
        # February cohort {G}: two orders in February (30 + 50), a repeat buyer at once.
        (FEB, FEB, 0): (1, 1, 1, 0, 0, 0, 0, 1, 1, 2, 80.0, True),
        (FEB, MAR, 1): (1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 20.0, True),
        (FEB, APR, 2): (1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0.0, True),
        (FEB, MAY, 3): (1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0.0, True),
        (FEB, JUN, 4): (1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0.0, False),
        # March cohort {F}: one purchase of 45.
        (MAR, MAR, 0): (1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 45.0, True),
        (MAR, APR, 1): (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0.0, True),
        (MAR, MAY, 2): (1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0.0, True),
        (MAR, JUN, 3): (1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0.0, False),
        # May cohort {H}: 15; the second order (35) was refunded in full: 1 order, no repeat.
        (MAY, MAY, 0): (1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 15.0, True),
        (MAY, JUN, 1): (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0.0, False),
        # June cohort {E}, in the month of the as-of date; the cancelled order is no purchase.
        (JUN, JUN, 0): (1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 10.0, False),
        # C (refunds only) has no cohort and appears nowhere.
    }


def test_behaviour_shop_by_segment(behaviour_shop: Settings) -> None:
    moldova = _activity(behaviour_shop, "country", "MD")
    # MD = {D, G, H}: D is the whole January cohort of MD.
    assert moldova[(JAN, JAN, 0)][:2] == (1, 1)
    assert moldova[(JAN, MAY, 4)][:5] == (1, 1, 0, 0, 1)  # D resurrects in May
    assert moldova[(JAN, MAY, 4)][-2] == 25.0
    assert (MAR, MAR, 0) not in moldova  # F is Romanian
    members = _activity(behaviour_shop, "is_loyalty_member", "true")
    assert {key[0] for key in members} == {FEB, MAY}  # G and H
    segments = query(
        behaviour_shop, "select distinct segment, segment_value from marts.cohort_activity"
    )
    assert set(segments) == {
        ("all", "all"),
        ("country", "RO"),
        ("country", "MD"),
        ("acquisition_channel", "organic"),
        ("age_band", "35-44"),  # born 1990: 35 in 2025
        ("is_loyalty_member", "true"),
        ("is_loyalty_member", "false"),
        ("programme_arm", "none"),
        ("programme_arm", "variant_a"),
    }


def _lifecycle_class(buyer: Buyer, month: dt.date, index: int) -> str:
    if index == 0:
        return "new"
    was_active = buyer.is_active_in(add_months(month, -1))
    if buyer.is_active_in(month):
        return "returning" if was_active else "resurrecting"
    return "dormant" if was_active else "inactive"


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    classes = ("new", "returning", "resurrecting", "dormant", "inactive")
    expected: dict[tuple, list[float]] = {}
    for buyer, month, index in customer_months(shop):
        purchases = buyer.purchases_in(month)
        lifecycle = _lifecycle_class(buyer, month, index)
        values = [
            1,
            int(bool(purchases)),
            *(int(lifecycle == name) for name in classes),
            int(month_of(buyer.last_purchase) >= month),
            int(buyer.orders_through(month) >= 2),
            len(purchases),
            buyer.revenue_in(month),
        ]
        for segment in buyer.segments:
            totals = expected.setdefault((*segment, buyer.cohort_month, month), [0] * len(values))
            for position, value in enumerate(values):
                totals[position] += value
    rows = query(
        generated_behaviour_run,
        "select segment, segment_value, cohort_month, period_month, cohort_size,"
        " active_customers, new_customers, returning_customers, resurrecting_customers,"
        " dormant_customers, inactive_customers, retained_customers, repeat_customers,"
        " completed_orders, net_revenue from marts.cohort_activity",
    )
    actual = {row[:4]: list(row[4:]) for row in rows}
    assert actual.keys() == expected.keys()
    for key, values in expected.items():
        assert actual[key][:-1] == values[:-1], key
        assert actual[key][-1] == pytest.approx(values[-1]), key
