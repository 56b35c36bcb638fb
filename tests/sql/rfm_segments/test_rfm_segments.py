"""marts.rfm_segments: hand-computed on the behaviour shop, cross-checked against an
independent Python computation on generated data."""

from __future__ import annotations

from collections import defaultdict

import pytest

from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    load_shop,
    query,
    segment_rows,
)


def _segments(settings: Settings, segment: str, value: str) -> list[tuple]:
    columns = "rfm_segment, customers, net_revenue, customer_share, revenue_share"
    return segment_rows(settings, "marts.rfm_segments", columns, (segment, value))


def test_behaviour_shop(behaviour_shop: Settings) -> None:
    # From tests/sql/rfm_scores: at_risk A (180) and G (100); need_attention B (100);
    # potential_loyalist D (45); new E (10); lost F (45); about_to_sleep H (15).
    # 7 customers, 495 of revenue in all.
    assert _segments(behaviour_shop, "all", "all") == [
        ("about_to_sleep", 1, 15.0, pytest.approx(1 / 7), pytest.approx(15 / 495)),
        ("at_risk", 2, 280.0, pytest.approx(2 / 7), pytest.approx(280 / 495)),
        ("lost", 1, 45.0, pytest.approx(1 / 7), pytest.approx(45 / 495)),
        ("need_attention", 1, 100.0, pytest.approx(1 / 7), pytest.approx(100 / 495)),
        ("new", 1, 10.0, pytest.approx(1 / 7), pytest.approx(10 / 495)),
        ("potential_loyalist", 1, 45.0, pytest.approx(1 / 7), pytest.approx(45 / 495)),
    ]
    # MD = {D (45), G (100), H (15)}: 160 in all. Scores stay those of the whole shop.
    assert _segments(behaviour_shop, "country", "MD") == [
        ("about_to_sleep", 1, 15.0, pytest.approx(1 / 3), pytest.approx(15 / 160)),
        ("at_risk", 1, 100.0, pytest.approx(1 / 3), pytest.approx(100 / 160)),
        ("potential_loyalist", 1, 45.0, pytest.approx(1 / 3), pytest.approx(45 / 160)),
    ]


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    # The segment of each customer comes from marts.rfm_scores (checked on its own in
    # tests/sql/rfm_scores); counts, revenue and shares are summed here from the purchases.
    shop = load_shop(generated_behaviour_run)
    rfm_segment_of = dict(
        query(generated_behaviour_run, "select customer_id, rfm_segment from marts.rfm_scores")
    )
    totals: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0])
    for buyer in shop.buyers:
        for segment, value in buyer.segments:
            key = (segment, value, rfm_segment_of[buyer.customer_id])
            totals[key][0] += 1
            totals[key][1] += sum(purchase.net_revenue for purchase in buyer.purchases)
    group_totals: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0])
    for (segment, value, _), (count, revenue) in totals.items():
        group_totals[(segment, value)][0] += count
        group_totals[(segment, value)][1] += revenue
    actual = {
        row[:3]: row[3:]
        for row in query(
            generated_behaviour_run,
            "select segment, segment_value, rfm_segment, customers, net_revenue,"
            " customer_share, revenue_share from marts.rfm_segments",
        )
    }
    assert actual.keys() == totals.keys()
    for key, (count, revenue) in totals.items():
        all_count, all_revenue = group_totals[key[:2]]
        assert actual[key] == pytest.approx(
            (count, revenue, count / all_count, revenue / all_revenue)
        ), key
