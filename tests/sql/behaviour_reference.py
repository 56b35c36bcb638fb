"""An independent route to the behaviour marts, for the cross-checks on generated data.

Plain Python from the *staging* orders, not from the facts or the SQL: a purchase is a
completed order whose amount less refunds, in the reporting currency, is positive, placed
on or before the as-of date (UTC days). Only the segment attributes of each customer are
read from facts.customers: they are inputs of a mart, not something it computes.
Each test computes its own metric from these purchases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipelines.config import Settings

SEGMENT_COLUMNS = (
    "country",
    "acquisition_channel",
    "age_band",
    "is_loyalty_member",
    "programme_arm",
)
SegmentKey = tuple[str, str]  # (segment, segment_value)


@dataclass(frozen=True)
class Purchase:
    day: dt.date
    net_revenue: float


@dataclass
class Buyer:
    customer_id: str
    segments: list[SegmentKey]
    purchases: list[Purchase] = field(default_factory=list)  # in time order

    @property
    def cohort_month(self) -> dt.date:
        return month_of(self.purchases[0].day)

    @property
    def last_purchase(self) -> dt.date:
        return self.purchases[-1].day

    def purchases_in(self, month: dt.date) -> list[Purchase]:
        return [purchase for purchase in self.purchases if month_of(purchase.day) == month]

    def is_active_in(self, month: dt.date) -> bool:
        return bool(self.purchases_in(month))

    def revenue_in(self, month: dt.date) -> float:
        return sum(purchase.net_revenue for purchase in self.purchases_in(month))

    def orders_through(self, month: dt.date) -> int:
        """Purchases from the first one to the end of `month`."""
        return sum(1 for purchase in self.purchases if month_of(purchase.day) <= month)


@dataclass(frozen=True)
class Shop:
    as_of: dt.date
    buyers: list[Buyer]

    @property
    def as_of_month(self) -> dt.date:
        return month_of(self.as_of)

    @property
    def months(self) -> list[dt.date]:
        """Every month from the first cohort month to the month of the as-of date."""
        return month_range(min(buyer.cohort_month for buyer in self.buyers), self.as_of_month)

    def by_segment(self, *segments: str) -> dict[SegmentKey, list[Buyer]]:
        """The buyers of each value of the given segments (of every segment if none given)."""
        groups: dict[SegmentKey, list[Buyer]] = defaultdict(list)
        for buyer in self.buyers:
            for key in buyer.segments:
                if not segments or key[0] in segments:
                    groups[key].append(buyer)
        return groups


def acquired_by(buyers: list[Buyer], month: dt.date) -> list[Buyer]:
    """The buyers whose first purchase is in or before `month`."""
    return [buyer for buyer in buyers if buyer.cohort_month <= month]


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    return [add_months(first, k) for k in range(months_between(first, last) + 1)]


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def published_as_of(settings: Settings) -> dt.date:
    return query(settings, "select max(as_of) from ops.releases")[0][0]


def query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def segment_rows(
    settings: Settings, mart: str, columns: str, segment: SegmentKey, where: str = "true"
) -> list[tuple]:
    """`columns` of the rows of one segment value of a mart, ordered by those columns."""
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        return connection.execute(
            f"select {columns} from {mart} where segment = $segment and segment_value = $value"
            f" and ({where}) order by all",
            {"segment": segment[0], "value": segment[1]},
        ).fetchall()


def load_shop(settings: Settings) -> Shop:
    as_of = published_as_of(settings)
    orders = pl.read_parquet(settings.paths.staging_files("orders"))
    by_customer: dict[str, list[Purchase]] = defaultdict(list)
    rows = orders.sort("ordered_at").select(
        "customer_id", "status", "amount", "refund_amount", "currency", "ordered_at"
    )
    for customer_id, status, amount, refund, currency, ordered_at in rows.iter_rows():
        net = (amount - (refund or 0.0)) * settings.fx_rates[currency]
        day = ordered_at.astimezone(dt.UTC).date()
        if status == "completed" and net > 0 and day <= as_of:
            by_customer[customer_id].append(Purchase(day, net))
    attributes = pl.read_parquet(settings.paths.facts / "customers.parquet")
    buyers = [
        Buyer(row["customer_id"], _segment_keys(row), by_customer[row["customer_id"]])
        for row in attributes.iter_rows(named=True)
        if row["customer_id"] in by_customer
    ]
    return Shop(as_of, buyers)


def _segment_keys(attributes: dict[str, object]) -> list[SegmentKey]:
    keys = [("all", "all")]
    for column in SEGMENT_COLUMNS:
        value = attributes[column]
        keys.append((column, str(value).lower() if isinstance(value, bool) else str(value)))
    return keys


def customer_months(shop: Shop) -> Iterator[tuple[Buyer, dt.date, int]]:
    """(buyer, month, months since the cohort month) for every month a buyer has existed."""
    for buyer in shop.buyers:
        for month in month_range(buyer.cohort_month, shop.as_of_month):
            yield buyer, month, months_between(buyer.cohort_month, month)
