"""marts.churn: hand-computed on the behaviour shop (windows 30d and 90d; the standings
at each month end are tabled in tests/behaviour_shop.py), cross-checked against an
independent Python computation on generated data (the default windows)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict

import pytest

from pipelines.config import Settings
from tests.behaviour_shop import AS_OF
from tests.sql import harness
from tests.sql.behaviour_reference import (
    Buyer,
    SegmentKey,
    Shop,
    add_months,
    load_shop,
    month_end,
    month_of,
    query,
    segment_rows,
)

COUNTS = (
    "customers_start, customers_end, new_customers, lost_customers, reactivated_customers,"
    " churned_customers"
)
JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2025, month, 1) for month in range(1, 7))


def _churn(
    settings: Settings, window: str, grain: str, segment: SegmentKey = ("all", "all")
) -> list[tuple]:
    columns = f"period_start, {COUNTS}, churn_rate, retention_rate"
    where = f"churn_window = '{window}' and period_grain = '{grain}'"
    return segment_rows(settings, "marts.churn", columns, segment, where)


def test_behaviour_shop_monthly_90_days(behaviour_shop: Settings) -> None:
    # (month, S, E, N, lost, reactivated, churned at the end, lost / S, (E - N) / S).
    # Customers at each month end under 90d: Jan {A, B, D}; Feb + G; Mar + F; Apr without
    # D (115 days); May {B, D, F, G, H}: A is out at 91 days, F still in at exactly 90;
    # June 15 {B, D, E, H}: F (105) and G (92) out.
    assert _churn(behaviour_shop, "90d", "month") == [
        (JAN, 0, 3, 3, 0, 0, 0, None, None),  # nobody was a customer before: no rate
        (FEB, 3, 4, 1, 0, 0, 0, 0.0, 1.0),  # (4 - 1) / 3
        (MAR, 4, 5, 1, 0, 0, 0, 0.0, 1.0),  # (5 - 1) / 4
        (APR, 5, 4, 0, 1, 0, 1, 0.2, 0.8),  # D lost: 1 / 5; (4 - 0) / 5
        # A lost (1 / 4); D back from churn: reactivated; H new. (5 - 1) / 4 = 1.
        (MAY, 4, 5, 1, 1, 1, 1, 0.25, 1.0),
        # F and G lost: 2 / 5; E new; churned A, F, G. (4 - 1) / 5 = 0.6. June so far.
        (JUN, 5, 4, 1, 2, 0, 3, 0.4, 0.6),
    ]


def test_behaviour_shop_monthly_30_days(behaviour_shop: Settings) -> None:
    # Customers under 30d: Jan 31 {A, B, D}; Feb 28 {A, B, G} (D 54 days); Mar 31 {A, F, G}
    # (A at exactly 30 days is in); Apr 30 nobody; May 31 {B, D, H} (B at exactly 30);
    # June 15 {D, E}.
    third = pytest.approx(1 / 3)
    two_thirds = pytest.approx(2 / 3)
    assert _churn(behaviour_shop, "30d", "month") == [
        (JAN, 0, 3, 3, 0, 0, 0, None, None),
        (FEB, 3, 3, 1, 1, 0, 1, third, two_thirds),  # D lost, G new
        (MAR, 3, 3, 1, 1, 0, 2, third, two_thirds),  # B lost, F new; churned B, D
        (APR, 3, 0, 0, 3, 0, 5, 1.0, 0.0),  # everyone lost
        # Nobody was a customer at the start: no rate, though B and D come back.
        (MAY, 0, 3, 1, 0, 2, 3, None, None),
        (JUN, 3, 2, 1, 2, 0, 5, two_thirds, third),  # B, H lost, E new: (2 - 1) / 3
    ]


def test_behaviour_shop_quarters_and_year(behaviour_shop: Settings) -> None:
    q1, q2 = JAN, APR
    # 90d, Q2: S = customers at 03-31 {A, B, D, F, G}; E at 06-15 {B, D, E, H}; N = E and
    # H; lost A, F, G (D churned in April and came back in May: invisible at this grain).
    # churn 3 / 5 = 0.6; retention (4 - 2) / 5 = 0.4.
    assert _churn(behaviour_shop, "90d", "quarter") == [
        (q1, 0, 5, 5, 0, 0, 0, None, None),
        (q2, 5, 4, 2, 3, 0, 3, 0.6, 0.4),
    ]
    # 30d, Q2: S = {A, F, G}; E = {D, E}; H was acquired in May and lost by June 15, so
    # N = {E} only: (2 - 1) / 3 = 1/3. (Counting H in N would give (2 - 2) / 3 = 0 although
    # D came back.) D is reactivated; lost A, F, G: 3 / 3.
    assert _churn(behaviour_shop, "30d", "quarter") == [
        (q1, 0, 3, 3, 0, 0, 2, None, None),
        (q2, 3, 2, 1, 3, 1, 5, 1.0, pytest.approx(1 / 3)),
    ]
    # The year so far: nobody was a customer on 2024-12-31.
    assert _churn(behaviour_shop, "90d", "year") == [(JAN, 0, 4, 4, 0, 0, 3, None, None)]


def test_behaviour_shop_reactivations_can_lift_retention_above_one(
    behaviour_shop: Settings,
) -> None:
    # MD = {D, G, H}, 90d, May: S = {G}; E = {D, G, H}; N = {H}; D reactivated.
    # (E - N) / S = (3 - 1) / 1 = 2.
    may = _churn(behaviour_shop, "90d", "month", ("country", "MD"))[4]
    assert may == (MAY, 1, 3, 1, 0, 1, 0, 0.0, 2.0)


def test_behaviour_shop_period_bounds_and_annualised_rates(behaviour_shop: Settings) -> None:
    rows = query(
        behaviour_shop,
        "select period_grain, period_start, period_end, churn_window_days, is_complete_period,"
        " churn_rate_annualised from marts.churn where churn_window = '90d'"
        " and segment = 'all' and period_start >= '2025-04-01' order by period_grain, period_start",
    )
    assert rows == [
        # month: 1 - (1 - c)^12
        ("month", APR, dt.date(2025, 4, 30), 90, True, pytest.approx(1 - 0.8**12)),
        ("month", MAY, dt.date(2025, 5, 31), 90, True, pytest.approx(1 - 0.75**12)),
        # the month of the as-of date ends at the as-of date, flagged incomplete
        ("month", JUN, dt.date(2025, 6, 15), 90, False, pytest.approx(1 - 0.6**12)),
        ("quarter", APR, dt.date(2025, 6, 15), 90, False, pytest.approx(1 - 0.4**4)),  # ^4
    ]


def test_each_window_keeps_its_rows_beside_any_other_windows(behaviour_shop: Settings) -> None:
    # The model sorts each customer's standing into bands between the window lengths once,
    # for every window: windows of one length, and a shorter one added, change no row.
    windows = {"7d": 7, "30d": 30, "90d": 90, "also_90d": 90}
    settings = behaviour_shop.model_copy(update={"churn_windows": windows})
    columns = f"period_grain, period_start, segment, segment_value, {COUNTS}"
    with harness.build_from_facts(settings, AS_OF, ["marts.churn"]) as connection:
        rows = {
            window: connection.sql(
                f"select {columns} from marts.churn where churn_window = '{window}' order by all"
            ).fetchall()
            for window in windows
        }
    assert rows["also_90d"] == rows["90d"]
    for window in ("30d", "90d"):
        assert rows[window] == query(
            behaviour_shop,
            f"select {columns} from marts.churn where churn_window = '{window}' order by all",
        )
    # 7d, customers at each month end: Jan 31 {B} (bought that day); Feb 28 {A} (G's 02-20
    # is 8 days back); Mar 31, Apr 30 and May 31 nobody (D's 05-20 is 11 days back);
    # June 15 {E} (06-10, 5 days).
    monthly = [row for row in rows["7d"] if row[0] == "month" and row[2] == "all"]
    assert [row[5] for row in monthly] == [1, 1, 0, 0, 0, 1]


# --- independent computation ---------------------------------------------------------


def _is_customer(days: list[dt.date], on: dt.date, window_days: int) -> bool:
    """Bought on or before `on`, and the last time at most `window_days` days before it."""
    position = bisect.bisect_right(days, on)
    return position > 0 and (on - days[position - 1]).days <= window_days


def _periods(shop: Shop) -> list[tuple[str, dt.date, dt.date]]:
    """(grain, first day, last day) of every month, quarter and year the data touches."""
    periods = set()
    for month in shop.months:
        quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
        for grain, start, length in (
            ("month", month, 1),
            ("quarter", quarter, 3),
            ("year", month.replace(month=1), 12),
        ):
            periods.add((grain, start, month_end(add_months(start, length - 1))))
    return sorted(periods)


def _expected_counts(shop: Shop, window_days: int) -> dict[tuple, list[int]]:
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * 6)
    for grain, start, last_day in _periods(shop):
        end = min(last_day, shop.as_of)
        for buyer in shop.buyers:
            if buyer.cohort_month > month_of(end):
                continue
            days = [purchase.day for purchase in buyer.purchases]
            at_start = _is_customer(days, start - dt.timedelta(days=1), window_days)
            at_end = _is_customer(days, end, window_days)
            acquired = buyer.cohort_month >= start
            flags = (
                at_start,
                at_end,
                at_end and acquired,
                at_start and not at_end,
                at_end and not at_start and not acquired,
                not at_end,
            )
            for segment in _counted_segments(buyer):
                totals = counts[(grain, start, *segment)]
                for position, flag in enumerate(flags):
                    totals[position] += flag
    return counts


def _counted_segments(buyer: Buyer) -> list[SegmentKey]:
    return [key for key in buyer.segments if key[0] in ("all", "country")]


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    assert generated_behaviour_run.churn_windows == {"90d": 90, "180d": 180, "365d": 365}
    for window, days in generated_behaviour_run.churn_windows.items():
        rows = query(
            generated_behaviour_run,
            f"select period_grain, period_start, segment, segment_value, {COUNTS},"
            " churn_rate, retention_rate from marts.churn"
            f" where churn_window = '{window}' and segment in ('all', 'country')",
        )
        actual = {row[:4]: row[4:] for row in rows}
        expected = _expected_counts(shop, days)
        assert actual.keys() == expected.keys(), window
        for key, (start, end, new, lost, reactivated, churned) in expected.items():
            rates = (lost / start, (end - new) / start) if start else (None, None)
            assert actual[key] == pytest.approx(
                (start, end, new, lost, reactivated, churned, *rates)
            ), (window, key)
