from __future__ import annotations

import datetime as dt

import pytest

from pipelines.errors import LoyaltyError
from pipelines.periods import (
    as_of_for_run,
    as_of_from_interval_end,
    cutoff,
    last_complete_month,
    trailing_year_start,
)


def test_cutoff_is_midnight_after_the_as_of_date() -> None:
    assert cutoff(dt.date(2025, 2, 28)) == dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2025, 3, 15), dt.date(2025, 2, 1)),
        (dt.date(2025, 3, 31), dt.date(2025, 3, 1)),  # the last day completes its month
        (dt.date(2025, 1, 1), dt.date(2024, 12, 1)),
        (dt.date(2024, 2, 29), dt.date(2024, 2, 1)),
    ],
)
def test_last_complete_month(as_of: dt.date, expected: dt.date) -> None:
    assert last_complete_month(as_of) == expected


@pytest.mark.parametrize(
    ("interval_end", "expected"),
    [
        (dt.datetime(2025, 3, 2, 0, 0, tzinfo=dt.UTC), dt.date(2025, 3, 1)),
        (dt.datetime(2025, 3, 2, 3, 0, tzinfo=dt.UTC), dt.date(2025, 3, 1)),
        (
            dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            dt.date(2025, 2, 28),
        ),
    ],
)
def test_as_of_is_the_last_whole_utc_day_of_the_interval(
    interval_end: dt.datetime, expected: dt.date
) -> None:
    assert as_of_from_interval_end(interval_end) == expected


def test_a_run_takes_its_param_else_its_interval_else_the_latest_complete_day() -> None:
    today = dt.date(2025, 3, 10)
    interval_end = dt.datetime(2025, 3, 9, 3, 0, tzinfo=dt.UTC)
    assert as_of_for_run("2025-01-31", interval_end, today)[0] == dt.date(2025, 1, 31)
    assert as_of_for_run(None, interval_end, today)[0] == dt.date(2025, 3, 8)
    day, why = as_of_for_run(None, None, today)
    assert day == dt.date(2025, 3, 9)
    assert "latest complete day" in why
    with pytest.raises(LoyaltyError, match="not a date"):
        as_of_for_run("31/01/2025", None, today)


@pytest.mark.parametrize(
    ("as_of", "first_day"),
    [
        (dt.date(2025, 6, 15), dt.date(2024, 6, 16)),  # (A - 1 year, A]
        (dt.date(2025, 12, 31), dt.date(2025, 1, 1)),
        (dt.date(2024, 2, 29), dt.date(2023, 3, 1)),  # 29 Feb - 1 year = 28 Feb 2023
        (dt.date(2025, 2, 28), dt.date(2024, 2, 29)),  # a leap day inside the window
    ],
)
def test_trailing_year_starts_the_day_after_a_year_before(
    as_of: dt.date, first_day: dt.date
) -> None:
    assert trailing_year_start(as_of) == first_day
