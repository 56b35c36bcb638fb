"""The as-of date and the calendar months it defines.

The as-of date `A` is the last whole day of data a run sees (UTC). Its cut-off instant,
A + 1 day at 00:00 UTC, is the end of the Airflow data interval: nothing at or after the
cut-off is used. Periods are calendar months in UTC.
"""

from __future__ import annotations

import datetime as dt

from pipelines.errors import LoyaltyError

UTC = dt.UTC


def cutoff(as_of: dt.date) -> dt.datetime:
    """First instant not observed by a run as of `as_of`."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=UTC)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def is_last_day_of_month(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def last_complete_month(as_of: dt.date) -> dt.date:
    """Start of the newest month fully observed as of `as_of`."""
    if is_last_day_of_month(as_of):
        return month_start(as_of)
    return month_start(month_start(as_of) - dt.timedelta(days=1))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier; 29 February becomes 28 February, as month
    arithmetic does (SQL's `date - interval '1' year` agrees)."""
    if day.month == 2 and day.day == 29:
        day = day.replace(day=28)
    return day.replace(year=day.year - years)


def trailing_year_start(as_of: dt.date) -> dt.date:
    """First day of the trailing twelve months ending at the as-of date, (A - 1 year, A]."""
    return years_before(as_of, 1) + dt.timedelta(days=1)


def as_of_from_interval_end(data_interval_end: dt.datetime) -> dt.date:
    """The last whole UTC day before `data_interval_end`.

    A daily interval [D 00:00, D+1 00:00) gives D; so does one shifted to the scheduling
    hour, [D 03:00, D+1 03:00), because the exports of D+1 are not complete until D+2.
    """
    return data_interval_end.astimezone(UTC).date() - dt.timedelta(days=1)


def as_of_for_run(
    explicit: str | None, data_interval_end: dt.datetime | None, today: dt.date
) -> tuple[dt.date, str]:
    """The export date an Airflow run loads, and why: the `as_of` param when given, else the
    last whole day of the data interval; a run with neither (a manual run may have no data
    interval) takes the latest complete day, the day before `today` (UTC)."""
    if explicit:
        return parse_date(explicit), "the as_of param"
    if data_interval_end is not None:
        return as_of_from_interval_end(data_interval_end), "the last whole day of the interval"
    return today - dt.timedelta(days=1), "no as_of param: the latest complete day"


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise LoyaltyError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None


def date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
