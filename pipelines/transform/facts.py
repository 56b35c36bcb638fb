"""Facts as of a date: conformed customers, orders and responses, and the customer x month spine.

Definitions follow docs/metrics.md: a purchase is a completed order with a positive net
amount; a customer's cohort is the month of their first purchase; the spine has one row
per customer and month from the cohort month to the month of the as-of date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import polars.selectors as cs

from pipelines.periods import cutoff, is_last_day_of_month, month_start
from pipelines.transform import money
from pipelines.transform.money import exact_sum

AGE_BANDS: tuple[tuple[int, str], ...] = (
    (18, "under 18"),
    (25, "18-24"),
    (35, "25-34"),
    (45, "35-44"),
    (55, "45-54"),
    (65, "55-64"),
)


def month_of(timestamp: str) -> pl.Expr:
    """The calendar month (UTC) of a timestamp column, as the date of its first day."""
    return pl.col(timestamp).dt.truncate("1mo").dt.date()


def _months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    return (end.dt.year() * 12 + end.dt.month()) - (start.dt.year() * 12 + start.dt.month())


def order_facts(orders: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """One row per order placed up to the as-of date."""
    return orders.filter(pl.col("ordered_at") < cutoff(as_of)).select(
        "order_id",
        "customer_id",
        "ordered_at",
        ordered_on=pl.col("ordered_at").dt.date(),  # the UTC calendar day, for day windows
        order_month=month_of("ordered_at"),
        status="status",
        is_purchase="is_purchase",
        net_amount="net_amount",
        channel="channel",
    )


def age_band(birth_year: pl.Expr, as_of: dt.date) -> pl.Expr:
    age = pl.lit(as_of.year) - birth_year
    band = pl.when(birth_year.is_null()).then(pl.lit("unknown"))
    for upper, label in AGE_BANDS:
        band = band.when(age < upper).then(pl.lit(label))
    return band.otherwise(pl.lit("65+"))


def customer_facts(customers: pl.LazyFrame, orders: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """One row per customer known to the CRM, with segment columns and lifetime totals.

    `cohort_month` is null for a customer who registered but never bought.
    """
    purchases = (
        orders.filter(pl.col("is_purchase"))
        .group_by("customer_id")
        .agg(
            first_purchase_at=pl.col("ordered_at").min(),
            last_purchase_at=pl.col("ordered_at").max(),
            completed_orders=pl.len().cast(pl.Int64),
            net_revenue=exact_sum(pl.col("net_amount")),
        )
    )
    return (
        customers.filter(pl.col("signup_at") < cutoff(as_of))
        .join(purchases, on="customer_id", how="left")
        .select(
            "customer_id",
            "signup_at",
            "email_hash",
            country=pl.col("country").fill_null("unknown"),
            acquisition_channel=pl.col("acquisition_channel").fill_null("unknown"),
            age_band=age_band(pl.col("birth_year"), as_of),
            is_loyalty_member="is_loyalty_member",
            enrolled_at="enrolled_at",
            programme_arm=pl.col("programme_arm").fill_null("none"),
            cohort_month=month_of("first_purchase_at"),
            first_purchase_at="first_purchase_at",
            last_purchase_at="last_purchase_at",
            completed_orders=pl.col("completed_orders").fill_null(0),
            net_revenue=pl.col("net_revenue").fill_null(0.0),
        )
    )


def nps_class(score: pl.Expr) -> pl.Expr:
    return (
        pl.when(score <= 6)
        .then(pl.lit("detractor"))
        .when(score <= 8)
        .then(pl.lit("passive"))
        .otherwise(pl.lit("promoter"))
    )


def response_facts(
    responses: pl.LazyFrame, customers: pl.LazyFrame, as_of: dt.date
) -> pl.LazyFrame:
    """One row per valid survey response up to the as-of date, linked to a known customer.

    A response links by its customer id when the CRM knows it, else by the pseudonymous
    e-mail when exactly one customer has it. Unlinked responses stay: they count in NPS.
    """
    known_ids = customers.select("customer_id", _known=pl.lit(True))
    unique_emails = (
        customers.filter(pl.col("email_hash").is_not_null())
        .group_by("email_hash")
        .agg(pl.col("customer_id").first(), pl.len().alias("_holders"))
        .filter(pl.col("_holders") == 1)
        .select(respondent_email_hash="email_hash", _email_customer_id="customer_id")
    )
    linked = pl.coalesce(
        pl.when(pl.col("_known")).then(pl.col("customer_id")), pl.col("_email_customer_id")
    )
    return (
        responses.filter(pl.col("submitted_at") < cutoff(as_of))
        .join(known_ids, on="customer_id", how="left")
        .join(unique_emails, on="respondent_email_hash", how="left")
        .with_columns(
            customer_id=linked,
            reported_customer_id=pl.col("customer_id"),
            is_linked=linked.is_not_null(),
            response_month=month_of("submitted_at"),
            language=pl.col("language").fill_null("unknown"),
            nps_class=nps_class(pl.col("nps_score")),
        )
        .select(
            "response_id",
            "customer_id",
            "reported_customer_id",
            "is_linked",
            "submitted_at",
            "response_month",
            "wave",
            "language",
            "nps_score",
            "nps_class",
            "satisfaction",
            cs.starts_with("driver_"),
            "comment",
        )
    )


def customer_month_facts(
    customers: pl.LazyFrame,
    orders: pl.LazyFrame,
    responses: pl.LazyFrame,
    as_of: dt.date,
    months: Collection[dt.date] | None = None,
) -> pl.LazyFrame:
    """Grain: customer_id x period_month, from the cohort month to the month of the as-of date.

    Every month exists, bought in or not, so inactive and churned months are rows.
    `months` keeps only the rows of those period months (what a nightly run recomputes).
    """
    as_of_month = month_start(as_of)
    first_month, last_month = pl.col("cohort_month"), pl.lit(as_of_month)
    if months is not None:
        wanted = sorted(months)
        orders = orders.filter(pl.col("order_month").is_in(wanted))
        responses = responses.filter(pl.col("response_month").is_in(wanted))
        # The spine spans only the wanted months: L's full spine is 100 million rows.
        first_month = pl.max_horizontal(first_month, pl.lit(wanted[0]))
        last_month = pl.lit(wanted[-1])
    monthly_purchases = (
        orders.filter(pl.col("is_purchase"))
        .group_by("customer_id", period_month="order_month")
        .agg(
            completed_orders=pl.len().cast(pl.Int64),
            net_revenue=exact_sum(pl.col("net_amount")),
            last_purchase_on=pl.col("ordered_on").max(),
        )
    )
    monthly_nps = (
        responses.filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id", period_month="response_month")
        .agg(
            responses=pl.len().cast(pl.Int64),
            nps_score_latest=pl.col("nps_score").sort_by("submitted_at").last(),
        )
    )
    spine = (
        customers.filter(pl.col("cohort_month") <= last_month)
        .select(
            "customer_id",
            "cohort_month",
            period_month=pl.date_ranges(first_month, last_month, interval="1mo"),
        )
        .explode("period_month")
    )
    if months is not None:
        spine = spine.filter(pl.col("period_month").is_in(wanted))
    month_complete = pl.col("period_month") < as_of_month
    if is_last_day_of_month(as_of):
        month_complete = pl.lit(True)
    return (
        spine.join(monthly_purchases, on=["customer_id", "period_month"], how="left")
        .join(monthly_nps, on=["customer_id", "period_month"], how="left")
        .select(
            "customer_id",
            "period_month",
            "cohort_month",
            period_index=_months_between(pl.col("cohort_month"), pl.col("period_month")),
            completed_orders=pl.col("completed_orders").fill_null(0),
            net_revenue=pl.col("net_revenue").fill_null(0.0),
            is_active=pl.col("completed_orders").fill_null(0) > 0,
            last_purchase_on="last_purchase_on",
            responses=pl.col("responses").fill_null(0),
            nps_score_latest="nps_score_latest",
            nps_class_latest=pl.when(pl.col("nps_score_latest").is_not_null()).then(
                nps_class(pl.col("nps_score_latest"))
            ),
            is_complete_month=month_complete,
        )
    )


# The code a customer_month row is computed by: a change to it recomputes every month.
# Polars' row hash is stable within a version only, so the version is part of it too.
CUSTOMER_MONTH_CODE = hashlib.sha256(
    Path(__file__).read_bytes() + Path(money.__file__).read_bytes() + pl.__version__.encode()
).hexdigest()


@dataclass(frozen=True)
class MonthInputs:
    """What the rows of one month of a table kept by month are computed from."""

    digest: str  # changes whenever any input of the month's rows does
    rows: int  # rows of that month


def customer_month_inputs(
    customers: pl.LazyFrame,
    orders: pl.LazyFrame,
    responses: pl.LazyFrame,
    as_of: dt.date,
) -> dict[dt.date, MonthInputs]:
    """For each period month of the spine, a digest of everything its rows depend on.

    The rows of month m follow from: the customers whose cohort month is m or earlier
    (the spine), the purchases and the linked responses of month m, whether m is
    complete, and the code. Each is summarised by a row count and a sum of row hashes,
    so a changed, added or removed input row changes the digest: a late order, a refund
    or a relinked response changes its month's; a customer's new first purchase changes
    every month from their new or old cohort on. Months outside the spine are absent.
    """
    as_of_month = month_start(as_of)
    cohorts = _hashed_by_month(
        customers.filter(pl.col("cohort_month").is_not_null()),
        "cohort_month",
        ["customer_id", "cohort_month"],
    )
    purchases = _hashed_by_month(
        orders.filter(pl.col("is_purchase")),
        "order_month",
        ["customer_id", "order_month", "ordered_on", "net_amount"],
    )
    linked = _hashed_by_month(
        responses.filter(pl.col("customer_id").is_not_null()),
        "response_month",
        ["customer_id", "response_month", "submitted_at", "nps_score"],
    )
    if not cohorts:
        return {}
    spine = Hashed(0, 0, 0)
    inputs: dict[dt.date, MonthInputs] = {}
    for month in pl.date_range(min(cohorts), as_of_month, interval="1mo", eager=True):
        spine = spine.plus(cohorts.get(month, Hashed(0, 0, 0)))
        complete = month < as_of_month or is_last_day_of_month(as_of)
        parts = (
            CUSTOMER_MONTH_CODE,
            month,
            complete,
            spine,
            purchases.get(month),
            linked.get(month),
        )
        inputs[month] = MonthInputs(hashlib.sha256(repr(parts).encode()).hexdigest(), spine.rows)
    return inputs


def order_month_inputs(orders: pl.LazyFrame) -> dict[dt.date, MonthInputs]:
    """For each order month of `orders` (`order_facts` rows), a digest of its rows.

    A month's file holds exactly these rows, in order_id order, so an unchanged digest
    means an unchanged file: a late order or a refund changes the digest of the month the
    order was placed in, and of no other. Polars' row hash is stable within a version only.
    """
    hashed = _hashed_by_month(orders, "order_month", orders.collect_schema().names())
    return {
        month: MonthInputs(
            hashlib.sha256(repr((pl.__version__, month, rows)).encode()).hexdigest(), rows.rows
        )
        for month, rows in sorted(hashed.items())
    }


@dataclass(frozen=True)
class Hashed:
    """A set of rows: how many, and the sums of the high and the low 32 bits of their row
    hashes (summed apart, so that no sum overflows 64 bits)."""

    rows: int
    high: int
    low: int

    def plus(self, other: Hashed) -> Hashed:
        return Hashed(self.rows + other.rows, self.high + other.high, self.low + other.low)


def _hashed_by_month(frame: pl.LazyFrame, month: str, columns: list[str]) -> dict[dt.date, Hashed]:
    row_hash = pl.struct(columns).hash(seed=0)
    sums = (
        frame.group_by(month)
        .agg(rows=pl.len(), high=(row_hash // 2**32).sum(), low=(row_hash % 2**32).sum())
        .collect()
    )
    return {month: Hashed(rows, high, low) for month, rows, high, low in sums.iter_rows()}
