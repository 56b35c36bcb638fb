"""Facts as of a date: conformed customers, orders and responses, and the customer x month spine.

Definitions follow docs/metrics.md: a purchase is a completed order with a positive net
amount; a customer's cohort is the month of their first purchase; the spine has one row
per customer and month from the cohort month to the month of the as-of date.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import polars.selectors as cs

from pipelines.periods import cutoff, is_last_day_of_month, month_start
from pipelines.transform.money import exact_sum

AGE_BANDS: tuple[tuple[int, str], ...] = (
    (18, "under 18"),
    (25, "18-24"),
    (35, "25-34"),
    (45, "35-44"),
    (55, "45-54"),
    (65, "55-64"),
)


def _month(timestamp: str) -> pl.Expr:
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
        order_month=_month("ordered_at"),
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
            cohort_month=_month("first_purchase_at"),
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
            response_month=_month("submitted_at"),
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
) -> pl.LazyFrame:
    """Grain: customer_id x period_month, from the cohort month to the month of the as-of date.

    Every month exists, bought in or not, so inactive and churned months are rows.
    """
    as_of_month = month_start(as_of)
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
        customers.filter(pl.col("cohort_month").is_not_null())
        .select(
            "customer_id",
            "cohort_month",
            period_month=pl.date_ranges(pl.col("cohort_month"), as_of_month, interval="1mo"),
        )
        .explode("period_month")
    )
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
