"""marts.rfm_scores: hand-computed on the behaviour shop, cross-checked against an
independent Python computation (ranking and the segment map written again) on generated
data."""

from __future__ import annotations

import bisect
import datetime as dt

import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import load_shop, query

COLUMNS = (
    "customer_id, last_purchase_on, recency_days, completed_orders, net_revenue,"
    " recency_score, frequency_score, monetary_score, rfm_cell, rfm_segment"
)

# The map of docs/metrics.md, as (segment, recency scores, frequency scores).
SEGMENT_MAP = (
    ("champions", {5}, {4, 5}),
    ("loyal", {3, 4}, {4, 5}),
    ("potential_loyalist", {4, 5}, {2, 3}),
    ("new", {5}, {1}),
    ("promising", {4}, {1}),
    ("need_attention", {3}, {3}),
    ("about_to_sleep", {3}, {1, 2}),
    ("cannot_lose", {1, 2}, {5}),
    ("at_risk", {1, 2}, {3, 4}),
    ("hibernating", {2}, {1, 2}),
    ("lost", {1}, {1, 2}),
)


def _scores(settings: Settings) -> list[tuple]:
    return query(settings, f"select {COLUMNS} from marts.rfm_scores order by customer_id")


def test_behaviour_shop(behaviour_shop: Settings) -> None:
    # n = 7 scored customers (C never bought); score = 1 + floor(5 * w / 7), w = customers
    # strictly worse: w 0 -> 1, 1 -> 1, 2 -> 2, 3 -> 3, 4 -> 3, 5 -> 4, 6 -> 5.
    # Recency (days to 06-15), worst first: A 106, F 105, G 92, B 45, H 36, D 26, E 5
    #   -> w = 0..6 -> A 1, F 1, G 2, B 3, H 3, D 4, E 5.
    # Frequency: E, F, H 1 order (w 0 -> 1); B, D 2 (w 3 -> 3); A, G 3 (w 5 -> 4): ties
    #   share a score.
    # Monetary: E 10 (w 0 -> 1), H 15 (w 1 -> 1), D and F 45 (w 2 -> 2), B and G 100
    #   (w 4 -> 3), A 180 (w 6 -> 5).
    may, march = dt.date(2025, 5, 1), dt.date(2025, 3, 1)
    assert _scores(behaviour_shop) == [
        ("A", march, 106, 3, 180.0, 1, 4, 5, "145", "at_risk"),  # last bought 03-01 00:00
        ("B", may, 45, 2, 100.0, 3, 3, 3, "333", "need_attention"),
        ("D", dt.date(2025, 5, 20), 26, 2, 45.0, 4, 3, 2, "432", "potential_loyalist"),
        ("E", dt.date(2025, 6, 10), 5, 1, 10.0, 5, 1, 1, "511", "new"),
        ("F", dt.date(2025, 3, 2), 105, 1, 45.0, 1, 1, 2, "112", "lost"),
        ("G", dt.date(2025, 3, 15), 92, 3, 100.0, 2, 4, 3, "243", "at_risk"),
        ("H", dt.date(2025, 5, 10), 36, 1, 15.0, 3, 1, 1, "311", "about_to_sleep"),
    ]


def test_segment_map_covers_every_cell_once() -> None:
    for recency in range(1, 6):
        for frequency in range(1, 6):
            matches = [
                name
                for name, recencies, frequencies in SEGMENT_MAP
                if recency in recencies and frequency in frequencies
            ]
            assert len(matches) == 1, (recency, frequency, matches)


def _quintile_scores(values: list[float]) -> list[int]:
    """1 + floor(5 * (values strictly lower) / n), higher values being better."""
    ordered = sorted(values)
    return [1 + 5 * bisect.bisect_left(ordered, value) // len(values) for value in values]


def _segment(recency: int, frequency: int) -> str:
    return next(
        name
        for name, recencies, frequencies in SEGMENT_MAP
        if recency in recencies and frequency in frequencies
    )


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    buyers = sorted(shop.buyers, key=lambda buyer: buyer.customer_id)
    recency = [(shop.as_of - buyer.last_purchase).days for buyer in buyers]
    orders = [len(buyer.purchases) for buyer in buyers]
    revenue = [sum(purchase.net_revenue for purchase in buyer.purchases) for buyer in buyers]
    recency_scores = _quintile_scores([-days for days in recency])  # fewer days is better
    frequency_scores = _quintile_scores(orders)
    monetary_scores = _quintile_scores([round(amount, 2) for amount in revenue])
    expected = [
        (
            buyer.customer_id,
            buyer.last_purchase,
            recency[i],
            orders[i],
            pytest.approx(revenue[i]),
            recency_scores[i],
            frequency_scores[i],
            monetary_scores[i],
            f"{recency_scores[i]}{frequency_scores[i]}{monetary_scores[i]}",
            _segment(recency_scores[i], frequency_scores[i]),
        )
        for i, buyer in enumerate(buyers)
    ]
    actual = _scores(generated_behaviour_run)
    assert actual == expected
    # The generated data reaches every score and every segment of the map.
    assert {row[5] for row in actual} == {1, 2, 3, 4, 5}
    assert len({row[9] for row in actual}) == len(SEGMENT_MAP)  # every segment occurs
