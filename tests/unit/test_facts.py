"""The facts layer of the tiny shop, checked against values worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.config import Settings
from pipelines.transform.facts import (
    age_band,
    customer_month_inputs,
    nps_class,
    order_month_inputs,
)
from tests.tiny_shop import AS_OF


def _facts(settings: Settings, table: str) -> pl.DataFrame:
    return pl.read_parquet(settings.paths.fact_files(table))


def test_customer_month_spine_has_every_month_from_cohort_to_as_of(tiny_shop: Settings) -> None:
    spine = _facts(tiny_shop, "customer_month").sort("customer_id", "period_month")
    rows = spine.select(
        "customer_id",
        "period_month",
        "period_index",
        "completed_orders",
        "net_revenue",
        "is_active",
    ).rows()
    jan, feb, mar = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)
    assert rows == [
        # C1: 100 in January; 50 at 2025-02-28 23:59:59 is February; 30 at 03-01 00:00 is March.
        ("C1", jan, 0, 1, 100.0, True),
        ("C1", feb, 1, 1, 50.0, True),
        ("C1", mar, 2, 1, 30.0, True),
        # C2: 80 - 20 refunded = 60; the cancelled February order is no purchase.
        ("C2", jan, 0, 1, 60.0, True),
        ("C2", feb, 1, 0, 0.0, False),
        ("C2", mar, 2, 0, 0.0, False),
        # C3 never bought (its only order was refunded in full): not in the spine.
        # C4: 100 RON x 0.201 = 20.10 EUR.
        ("C4", feb, 0, 1, pytest.approx(20.1), True),
        ("C4", mar, 1, 0, 0.0, False),
        # C5: its cohort is the current month.
        ("C5", mar, 0, 1, 10.0, True),
    ]


def test_purchase_days_are_utc_days(tiny_shop: Settings) -> None:
    c1_orders = _facts(tiny_shop, "orders").filter(pl.col("customer_id") == "C1")
    # 2025-02-28 23:59:59 UTC is still the 28th; 2025-03-01 00:00:00 is the 1st.
    assert dict(c1_orders.select("order_id", "ordered_on").rows()) == {
        "O1": dt.date(2025, 1, 10),
        "O2": dt.date(2025, 2, 28),
        "O3": dt.date(2025, 3, 1),
    }
    c2_months = _facts(tiny_shop, "customer_month").filter(pl.col("customer_id") == "C2")
    # C2 bought on 01-31 only (its February order was cancelled): null when inactive.
    assert c2_months.sort("period_month")["last_purchase_on"].to_list() == [
        dt.date(2025, 1, 31),
        None,
        None,
    ]


def test_only_the_month_of_the_as_of_date_is_incomplete(tiny_shop: Settings) -> None:
    spine = _facts(tiny_shop, "customer_month")
    incomplete = spine.filter(~pl.col("is_complete_month"))["period_month"].unique().to_list()
    assert incomplete == [dt.date(2025, 3, 1)]


def test_latest_nps_of_the_month_is_the_last_answer(tiny_shop: Settings) -> None:
    spine = _facts(tiny_shop, "customer_month")
    c1_january = spine.filter(
        (pl.col("customer_id") == "C1") & (pl.col("period_month") == dt.date(2025, 1, 1))
    )
    # C1 answered 10 on 01-12 and 6 on 01-25: the month keeps 6, a detractor.
    assert c1_january.select("responses", "nps_score_latest", "nps_class_latest").row(0) == (
        2,
        6,
        "detractor",
    )


def test_customers_without_a_purchase_have_no_cohort(tiny_shop: Settings) -> None:
    customers = _facts(tiny_shop, "customers").sort("customer_id")
    cohorts = dict(customers.select("customer_id", "cohort_month").rows())
    assert cohorts == {
        "C1": dt.date(2025, 1, 1),
        "C2": dt.date(2025, 1, 1),
        "C3": None,
        "C4": dt.date(2025, 2, 1),
        "C5": dt.date(2025, 3, 1),
    }


def test_responses_link_by_id_or_by_pseudonymous_email(tiny_shop: Settings) -> None:
    responses = _facts(tiny_shop, "survey_responses").sort("response_id")
    linked = dict(responses.select("response_id", "customer_id").rows())
    # R4 names a customer the CRM does not know; R5 has no id but C4's e-mail (case and
    # spaces differ: the normalised e-mail hashes the same). R6 scored 11: quarantined.
    assert linked == {"R1": "C1", "R2": "C1", "R3": "C2", "R4": None, "R5": "C4"}


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_nps_class_boundaries(score: int, expected: str) -> None:
    assert pl.select(nps_class(pl.lit(score))).item() == expected


@pytest.mark.parametrize(
    ("birth_year", "expected"),
    [(None, "unknown"), (2008, "under 18"), (2007, "18-24"), (1991, "25-34"), (1960, "65+")],
)
def test_age_band_at_the_as_of_date(birth_year: int | None, expected: str) -> None:
    # As of 2025-03-15: 2025 - 2008 = 17 -> under 18; 2025 - 2007 = 18 -> 18-24;
    # 2025 - 1991 = 34 -> 25-34; 2025 - 1960 = 65 -> 65+.
    band = pl.select(age_band(pl.lit(birth_year, dtype=pl.Int64), dt.date(2025, 3, 15))).item()
    assert band == expected


def _month_digests(settings: Settings, **changed: pl.DataFrame) -> dict[dt.date, str]:
    """The digest of each customer_month month of the tiny shop, some inputs replaced."""
    tables = {
        table: changed.get(table, _facts(settings, table)).lazy()
        for table in ("customers", "orders", "survey_responses")
    }
    inputs = customer_month_inputs(
        tables["customers"], tables["orders"], tables["survey_responses"], AS_OF
    )
    return {month: month_inputs.digest for month, month_inputs in inputs.items()}


JAN, FEB, MAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)


def test_a_late_refund_changes_only_its_month(tiny_shop: Settings) -> None:
    before = _month_digests(tiny_shop)
    assert list(before) == [JAN, FEB, MAR]  # the spine's months: first cohort to as-of
    orders = _facts(tiny_shop, "orders")
    refunded = orders.with_columns(
        net_amount=pl.when(pl.col("order_id") == "O2").then(40.0).otherwise("net_amount")
    )  # C1's February order: 50 -> 40
    after = _month_digests(tiny_shop, orders=refunded)
    assert [month for month in before if before[month] != after[month]] == [FEB]


def test_an_earlier_first_purchase_changes_every_month_from_the_new_cohort(
    tiny_shop: Settings,
) -> None:
    before = _month_digests(tiny_shop)
    customers = _facts(tiny_shop, "customers").with_columns(
        cohort_month=pl.when(pl.col("customer_id") == "C4").then(JAN).otherwise("cohort_month")
    )  # C4 (cohort February) found to have bought in January
    after = _month_digests(tiny_shop, customers=customers)
    assert [month for month in before if before[month] != after[month]] == [JAN, FEB, MAR]


def test_a_relinked_response_changes_only_its_month(tiny_shop: Settings) -> None:
    before = _month_digests(tiny_shop)
    responses = _facts(tiny_shop, "survey_responses").with_columns(
        customer_id=pl.when(pl.col("response_id") == "R5").then(None).otherwise("customer_id")
    )  # R5 (March, linked to C4 by e-mail) no longer linked
    after = _month_digests(tiny_shop, survey_responses=responses)
    assert [month for month in before if before[month] != after[month]] == [MAR]


def test_an_order_that_is_no_purchase_changes_no_month(tiny_shop: Settings) -> None:
    before = _month_digests(tiny_shop)
    orders = _facts(tiny_shop, "orders").with_columns(
        channel=pl.lit("web")
    )  # no customer_month column reads the channel
    assert _month_digests(tiny_shop, orders=orders) == before


def test_the_as_of_month_changes_when_it_completes(tiny_shop: Settings) -> None:
    tables = [
        _facts(tiny_shop, table).lazy() for table in ("customers", "orders", "survey_responses")
    ]
    mid = customer_month_inputs(*tables, AS_OF)
    later = customer_month_inputs(*tables, dt.date(2025, 3, 20))
    last_day = customer_month_inputs(*tables, dt.date(2025, 3, 31))
    assert later == mid  # the same rows: the month is still incomplete
    assert [month for month in mid if mid[month] != last_day[month]] == [MAR]
    assert [inputs.rows for inputs in mid.values()] == [2, 3, 4]  # C1, C2; + C4; + C5


def test_an_order_month_changes_only_with_its_own_orders(tiny_shop: Settings) -> None:
    orders = _facts(tiny_shop, "orders")
    before = order_month_inputs(orders.lazy())
    # January: O1, O4; February: O2, O5, O6, O7; March: O3, O8 (placed up to the as-of date)
    assert {month: inputs.rows for month, inputs in before.items()} == {JAN: 2, FEB: 4, MAR: 2}
    # The month file holds every column: a new channel for O5 (February, cancelled) changes
    # February, though no customer_month column reads it.
    moved = orders.with_columns(
        channel=pl.when(pl.col("order_id") == "O5").then(pl.lit("store")).otherwise("channel")
    )
    after = order_month_inputs(moved.lazy())
    assert [month for month in before if before[month] != after[month]] == [FEB]
    # O8 gone: March holds one order, and only March changes.
    without = order_month_inputs(orders.filter(pl.col("order_id") != "O8").lazy())
    assert {month: inputs.rows for month, inputs in without.items()} == {JAN: 2, FEB: 4, MAR: 1}
    assert [month for month in before if before[month] != without[month]] == [MAR]
    # The same rows in another order: the same digests (a month's file is sorted anyway).
    assert order_month_inputs(orders.reverse().lazy()) == before
