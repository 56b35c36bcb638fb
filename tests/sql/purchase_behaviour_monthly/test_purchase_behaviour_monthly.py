"""marts.purchase_behaviour_monthly: hand-computed on the behaviour shop, cross-checked
against an independent Python computation on generated data."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    Buyer,
    acquired_by,
    load_shop,
    segment_rows,
)

COLUMNS = (
    "period_month, active_customers, completed_orders, net_revenue, new_customer_orders,"
    " repeat_customer_orders, purchase_frequency, average_order_value,"
    " net_revenue_per_active_customer, new_customer_order_share"
)
JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2025, month, 1) for month in range(1, 7))


def _behaviour(settings: Settings, segment: str, value: str) -> list[tuple]:
    return segment_rows(settings, "marts.purchase_behaviour_monthly", COLUMNS, (segment, value))


def test_behaviour_shop_overall(behaviour_shop: Settings) -> None:
    # (month, active, orders, revenue, new-customer orders, repeat-customer orders,
    #  orders / active, revenue / orders, revenue / active, new orders / orders)
    assert _behaviour(behaviour_shop, "all", "all") == [
        # A 100, B 80 - 20 refunded = 60, D 20: all three in their first month.
        (JAN, 3, 3, 180.0, 3, 0, 1.0, 60.0, 60.0, 1.0),
        # A 50 (repeat customer); G 30 + 50 (new): 3 orders by 2 customers = 1.5;
        # 130 / 3 = 43.33; 130 / 2 = 65; new share 2 / 3. B's cancelled order counts nowhere.
        (FEB, 2, 3, 130.0, 2, 1, 1.5, pytest.approx(130 / 3), 65.0, pytest.approx(2 / 3)),
        # A 30 and G 20 (repeat), F 45 (new): 95 / 3 per order and per customer.
        (MAR, 3, 3, 95.0, 1, 2, 1.0, pytest.approx(95 / 3), pytest.approx(95 / 3), 1 / 3),
        # No activity at all: zero counts, and the ratios are NULL, not 0 or an error.
        (APR, 0, 0, 0.0, 0, 0, None, None, None, None),
        # B 40 and D 25 (repeat), H 15 (new; its refunded 35 is no order): 80 / 3.
        (MAY, 3, 3, 80.0, 1, 2, 1.0, pytest.approx(80 / 3), pytest.approx(80 / 3), 1 / 3),
        # E 10 (new; its cancelled order is no order). June so far.
        (JUN, 1, 1, 10.0, 1, 0, 1.0, 10.0, 10.0, 1.0),
    ]


def test_behaviour_shop_loyalty_members(behaviour_shop: Settings) -> None:
    # Members G (from February) and H (from May).
    rows = {row[0]: row[1:] for row in _behaviour(behaviour_shop, "is_loyalty_member", "true")}
    assert rows[FEB][:6] == (1, 2, 80.0, 2, 0, 2.0)  # G: 2 orders, new
    assert rows[MAR][:5] == (1, 1, 20.0, 0, 1)  # G: a repeat-customer order
    assert JAN not in rows  # no member bought before February


def _behaviour_of(known: list[Buyer], month: dt.date) -> tuple:
    """The row of `month`, from the purchases of the buyers acquired by then."""
    orders = [(buyer, purchase) for buyer in known for purchase in buyer.purchases_in(month)]
    if not orders:
        return (month, 0, 0, 0.0, 0, 0, None, None, None, None)
    revenue = sum(purchase.net_revenue for _, purchase in orders)
    active = len({buyer.customer_id for buyer, _ in orders})
    new_orders = sum(1 for buyer, _ in orders if buyer.cohort_month == month)
    return (
        month,
        active,
        len(orders),
        revenue,
        new_orders,
        len(orders) - new_orders,
        len(orders) / active,
        revenue / len(orders),
        revenue / active,
        new_orders / len(orders),
    )


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    for (segment, value), buyers in shop.by_segment("all", "is_loyalty_member").items():
        expected = [
            pytest.approx(_behaviour_of(acquired_by(buyers, month), month))
            for month in shop.months
            if acquired_by(buyers, month)
        ]
        assert _behaviour(generated_behaviour_run, segment, value) == expected, (segment, value)
