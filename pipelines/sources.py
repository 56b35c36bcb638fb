"""The contract of each export: its columns and their types, its key, its PII, its row rules.

A contract is data. `pipelines.extract` enforces it: a file that breaks the shape of the
contract (a missing column) is refused with a clear error; a row that breaks a type or a
rule goes to quarantine with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from pipelines.config import SURVEY_DRIVERS, Settings


class Kind(StrEnum):
    STRING = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


class Pii(StrEnum):
    """How a PII value is normalised before it is hashed, so equal people hash equally."""

    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True  # False: the value may be empty
    pii: Pii | None = (
        None  # replaced by `<name>_hash` at extract; the raw value never leaves landing
    )


@dataclass(frozen=True)
class RowRule:
    """A row for which `is_broken` is true is quarantined with `reason`."""

    reason: str
    is_broken: Callable[[Settings], pl.Expr]


@dataclass(frozen=True)
class SourceContract:
    name: str
    key: str
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = ()
    updated_at: str = "updated_at"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def _outside(column: str, low: float, high: float) -> Callable[[Settings], pl.Expr]:
    return lambda _settings: ~pl.col(column).is_between(low, high)


ORDER_STATUSES = ("completed", "cancelled", "refunded")
PROGRAMME_ARMS = ("control", "variant_a", "variant_b")
DRIVERS = SURVEY_DRIVERS
# An order above this (in its own currency) is a typing slip, not a purchase.
ABSURD_AMOUNT = 1_000_000.0

CUSTOMERS = SourceContract(
    name="customers",
    key="customer_id",
    columns=(
        Column("customer_id", Kind.STRING),
        Column("email", Kind.STRING, required=False, pii=Pii.EMAIL),
        Column("phone", Kind.STRING, required=False, pii=Pii.PHONE),
        Column("full_name", Kind.STRING, required=False, pii=Pii.NAME),
        Column("signup_at", Kind.TIMESTAMP),
        Column("country", Kind.STRING, required=False),
        Column("acquisition_channel", Kind.STRING, required=False),
        Column("birth_year", Kind.INTEGER, required=False),
        Column("is_loyalty_member", Kind.BOOLEAN),
        Column("enrolled_at", Kind.TIMESTAMP, required=False),
        Column("programme_arm", Kind.STRING, required=False),
        Column("updated_at", Kind.TIMESTAMP),
    ),
    rules=(
        RowRule("birth_year outside 1900-2020", _outside("birth_year", 1900, 2020)),
        RowRule(
            "programme_arm not one of " + ", ".join(PROGRAMME_ARMS),
            lambda _s: ~pl.col("programme_arm").is_in(PROGRAMME_ARMS),
        ),
    ),
)

ORDERS = SourceContract(
    name="orders",
    key="order_id",
    columns=(
        Column("order_id", Kind.STRING),
        Column("customer_id", Kind.STRING),
        Column("ordered_at", Kind.TIMESTAMP),
        Column("status", Kind.STRING),
        Column("amount", Kind.NUMBER),
        Column("refund_amount", Kind.NUMBER, required=False),
        Column("currency", Kind.STRING),
        Column("channel", Kind.STRING, required=False),
        Column("updated_at", Kind.TIMESTAMP),
    ),
    rules=(
        RowRule("amount negative", lambda _s: pl.col("amount") < 0),
        RowRule(f"amount above {ABSURD_AMOUNT:,.0f}", lambda _s: pl.col("amount") > ABSURD_AMOUNT),
        RowRule(
            "refund_amount outside 0..amount",
            lambda _s: ~pl.col("refund_amount").is_between(0, pl.col("amount")),
        ),
        RowRule(
            "status not one of " + ", ".join(ORDER_STATUSES),
            lambda _s: ~pl.col("status").is_in(ORDER_STATUSES),
        ),
        RowRule(
            "currency not in the settings' fx_rates",
            lambda settings: ~pl.col("currency").is_in(list(settings.fx_rates)),
        ),
        RowRule(
            "ordered_at after updated_at", lambda _s: pl.col("ordered_at") > pl.col("updated_at")
        ),
    ),
)

SURVEY_RESPONSES = SourceContract(
    name="survey_responses",
    key="response_id",
    columns=(
        Column("response_id", Kind.STRING),
        Column("customer_id", Kind.STRING, required=False),
        Column("respondent_email", Kind.STRING, required=False, pii=Pii.EMAIL),
        Column("submitted_at", Kind.TIMESTAMP),
        Column("wave", Kind.STRING, required=False),
        Column("nps_score", Kind.INTEGER),
        Column("satisfaction", Kind.INTEGER, required=False),
        *(Column(f"driver_{driver}", Kind.INTEGER, required=False) for driver in DRIVERS),
        Column("comment", Kind.STRING, required=False),
        Column("language", Kind.STRING, required=False),
        Column("updated_at", Kind.TIMESTAMP),
    ),
    rules=(
        # Never clipped: an 11 is a broken row, not a 10.
        RowRule("nps_score outside 0-10", _outside("nps_score", 0, 10)),
        RowRule("satisfaction outside 1-5", _outside("satisfaction", 1, 5)),
        *(
            RowRule(f"driver_{driver} outside 1-5", _outside(f"driver_{driver}", 1, 5))
            for driver in DRIVERS
        ),
    ),
)

CONTRACTS: dict[str, SourceContract] = {
    contract.name: contract for contract in (CUSTOMERS, ORDERS, SURVEY_RESPONSES)
}
