"""marts.repeat_purchase: hand-computed on the behaviour shop and on hand-made facts at the
edges of the trailing year, cross-checked against an independent Python computation on
generated data."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines import models, run
from pipelines.config import Settings
from tests.sql.behaviour_reference import (
    load_shop,
    segment_rows,
)
from tests.sql.harness import models_needed_by

MODELS = models_needed_by({"marts.repeat_purchase"})
COLUMNS = "purchase_window, buyers, repeat_buyers, repeat_purchase_rate, window_start, window_end"


def _repeat(settings: Settings, segment: str = "all", value: str = "all") -> list[tuple]:
    return segment_rows(settings, "marts.repeat_purchase", COLUMNS, (segment, value))


def test_behaviour_shop(behaviour_shop: Settings) -> None:
    # Buyers A (3 purchases), B (2: the cancelled order does not count), D (2), E (1 and a
    # cancelled one), F (1), G (3), H (1 and a refunded one); C never bought. Repeat: A, B,
    # D, G = 4 / 7. Every purchase is within the trailing year (2024-06-16 .. 2025-06-15).
    as_of, start = dt.date(2025, 6, 15), dt.date(2024, 6, 16)
    assert _repeat(behaviour_shop) == [
        ("lifetime", 7, 4, pytest.approx(4 / 7), None, as_of),
        ("trailing_12_months", 7, 4, pytest.approx(4 / 7), start, as_of),
    ]
    # MD = {D, G, H}: D and G bought again: 2 / 3.
    assert _repeat(behaviour_shop, "country", "MD")[0][1:4] == (3, 2, pytest.approx(2 / 3))


def _repeat_of_purchases(purchases: dict[str, list[str]], as_of: dt.date) -> list[tuple]:
    """Run the model on hand-made facts: `purchases[customer]` are purchase days."""
    customers = pl.DataFrame(
        {
            "customer_id": list(purchases),
            "country": "RO",
            "acquisition_channel": "organic",
            "age_band": "25-34",
            "is_loyalty_member": False,
            "programme_arm": "none",
        }
    )
    orders = pl.DataFrame(
        [
            {"customer_id": customer, "ordered_on": dt.date.fromisoformat(day)}
            for customer, days in purchases.items()
            for day in days
        ]
    ).with_columns(is_purchase=pl.lit(True))
    with duckdb.connect() as connection:
        connection.execute("create schema facts")
        for name, frame in {"customers": customers, "orders": orders}.items():
            connection.register(f"{name}_frame", frame)
            connection.execute(f"create table facts.{name} as from {name}_frame")
        models.run_models(connection, MODELS, run.model_parameters(Settings(), as_of))
        return connection.sql(
            f"select {COLUMNS} from marts.repeat_purchase where segment = 'all'"
            " order by purchase_window"
        ).fetchall()


def test_trailing_year_is_the_year_ending_on_the_as_of_date() -> None:
    # As of 2025-06-15 the trailing year is 2024-06-16 .. 2025-06-15, both days included.
    # X: 2024-06-15 falls outside, 2024-06-16 inside: 1 in the year, 2 in a lifetime.
    # Y: 2025-01-01 and the as-of date itself: 2 in the year. Z: only 2024-01-01.
    rows = _repeat_of_purchases(
        {
            "X": ["2024-06-15", "2024-06-16"],
            "Y": ["2025-01-01", "2025-06-15"],
            "Z": ["2024-01-01"],
        },
        dt.date(2025, 6, 15),
    )
    assert rows == [
        ("lifetime", 3, 2, pytest.approx(2 / 3), None, dt.date(2025, 6, 15)),  # X, Y of 3
        ("trailing_12_months", 2, 1, 0.5, dt.date(2024, 6, 16), dt.date(2025, 6, 15)),  # Y of 2
    ]


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(
    generated_behaviour_run: Settings,
) -> None:
    shop = load_shop(generated_behaviour_run)
    year_start = shop.as_of.replace(year=shop.as_of.year - 1) + dt.timedelta(days=1)
    for (segment, value), buyers in shop.by_segment().items():
        lifetime = [len(buyer.purchases) for buyer in buyers]
        in_year = [
            sum(purchase.day >= year_start for purchase in buyer.purchases) for buyer in buyers
        ]
        expected = [
            ("lifetime", *_buyers_and_repeat_buyers(lifetime), None),
            ("trailing_12_months", *_buyers_and_repeat_buyers(in_year), year_start),
        ]
        actual = _repeat(generated_behaviour_run, segment, value)
        assert [(row[0], row[1], row[2], row[4]) for row in actual] == expected, (segment, value)
        assert [row[3] for row in actual] == [pytest.approx(row[2] / row[1]) for row in expected]
        if segment == "all":  # the generated data tells the two windows apart
            assert expected[0][1:3] != expected[1][1:3]


def _buyers_and_repeat_buyers(purchase_counts: list[int]) -> tuple[int, int]:
    buyers = sum(count >= 1 for count in purchase_counts)
    return buyers, sum(count >= 2 for count in purchase_counts)
