"""Turn simulated behaviour into the row versions a CRM and a survey tool would export.

Each export date holds the rows created or changed that day (by `updated_at`): customers
re-appear when they enrol in the loyalty programme or change their phone; orders re-appear
when refunded; some orders reach the export days late; a small share of rows is broken
on purpose (negative amounts, impossible NPS scores) so that quarantine has work to do.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from pipelines.synth.behaviour import (
    CURRENCY_OF_COUNTRY,
    ORDER_CHANNEL_WEIGHTS,
    ORDER_CHANNELS,
    pick,
)
from pipelines.synth.text import comments

FX_TO_EUR = {"EUR": 1.0, "RON": 0.201, "MDL": 0.052, "UAH": 0.022, "GBP": 1.17}
BROKEN_NPS = ("11", "-1", "7.5", "ten")


def to_timestamp(start: dt.date, days: pl.Expr) -> pl.Expr:
    """Days since `start` (UTC midnight) as a UTC timestamp, to the second."""
    origin = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    return (
        pl.lit(origin) + pl.duration(seconds=(days * 86_400).floor().cast(pl.Int64))
    ).dt.replace_time_zone("UTC")


def _customer_id(index: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("C"), index.cast(pl.String).str.zfill(8))


def customer_versions(
    rng: np.random.Generator,
    customers: pl.DataFrame,
    people: pl.DataFrame,
    start: dt.date,
    horizon_days: float,
) -> pl.DataFrame:
    """The sign-up row, an enrolment row for members, a phone change for a few."""
    base = customers.join(people, on="customer_index").with_columns(
        customer_id=_customer_id(pl.col("customer_index")),
        signup_at=to_timestamp(start, pl.col("signup_day")),
    )
    signup = base.with_columns(
        updated_day=pl.col("signup_day"),
        is_loyalty_member=pl.lit(False),
        enrolled_day=pl.lit(None, dtype=pl.Float64),
        programme_arm=pl.lit(None, dtype=pl.String),
    )
    enrolled = base.filter(pl.col("enrolment_day").is_finite()).with_columns(
        updated_day=pl.col("enrolment_day"),
        is_loyalty_member=pl.lit(True),
        enrolled_day=pl.col("enrolment_day"),
    )
    changes = enrolled.head(0)
    movers = base.filter(pl.lit(rng.random(base.height)) < 0.02)
    if movers.height:
        change_day = movers["signup_day"].to_numpy() + rng.uniform(1, 400, movers.height)
        changes = (
            movers.with_columns(
                updated_day=pl.Series(change_day), phone=pl.col("phone").str.slice(0, 6) + "5550000"
            )
            .filter(pl.col("updated_day") < horizon_days)
            # The change carries the membership state of its own day.
            .with_columns(
                is_loyalty_member=pl.col("enrolment_day") <= pl.col("updated_day"),
                enrolled_day=pl.when(pl.col("enrolment_day") <= pl.col("updated_day")).then(
                    pl.col("enrolment_day")
                ),
                programme_arm=pl.when(pl.col("enrolment_day") <= pl.col("updated_day")).then(
                    pl.col("programme_arm")
                ),
            )
        )
    columns = [
        "customer_id",
        "email",
        "phone",
        "full_name",
        "signup_at",
        "country",
        "acquisition_channel",
        "birth_year",
        "is_loyalty_member",
        "enrolled_at",
        "programme_arm",
        "updated_at",
    ]
    return (
        pl.concat([signup, enrolled, changes], how="diagonal_relaxed")
        .with_columns(
            enrolled_at=to_timestamp(start, pl.col("enrolled_day")),
            updated_at=to_timestamp(start, pl.col("updated_day")),
        )
        .select(columns)
    )


def order_versions(
    rng: np.random.Generator,
    purchases: pl.DataFrame,
    customers: pl.DataFrame,
    start: dt.date,
    horizon_days: float,
    dirty_rate: float,
    first_order_index: int = 0,
) -> tuple[pl.DataFrame, int]:
    """Completed purchases, extra cancelled and refunded orders, refunds and late arrivals,
    and how many orders (not versions) they are. Order ids count from `first_order_index`."""
    # Orders that never count as purchases: cancelled ones, and ones refunded in full later.
    extra = purchases.sample(fraction=0.09, seed=int(rng.integers(2**31)), with_replacement=True)
    extra = extra.with_columns(
        ordered_day=(pl.col("ordered_day") + pl.Series(rng.uniform(0, 3, extra.height))).clip(
            upper_bound=horizon_days - 1e-3
        ),
        status=pick(rng, ("cancelled", "refunded"), (2 / 3, 1 / 3), extra.height),
    )
    orders = pl.concat([purchases.with_columns(status=pl.lit("completed")), extra]).sort(
        "ordered_day"
    )
    m = orders.height
    orders = (
        orders.with_row_index("order_index", offset=first_order_index)
        .join(customers.select("customer_index", "country"), on="customer_index")
        .sort("order_index")
        .with_columns(
            order_id=pl.concat_str(
                pl.lit("O"), pl.col("order_index").cast(pl.String).str.zfill(10)
            ),
            customer_id=_customer_id(pl.col("customer_index")),
            currency=pl.col("country").replace_strict(CURRENCY_OF_COUNTRY),
            channel=pick(rng, ORDER_CHANNELS, ORDER_CHANNEL_WEIGHTS, m),
            # A few orders reach the export one to five days late.
            first_export_delay=pl.Series(
                np.where(rng.random(m) < 0.03, rng.integers(1, 6, m), 0).astype(np.float64)
            ),
            refund_delay=pl.Series(rng.uniform(2, 30, m)),
            partial_refund=pl.Series(np.where(rng.random(m) < 0.02, rng.uniform(0.2, 0.6, m), 0.0)),
        )
        .with_columns(
            amount=(pl.col("amount_eur") / pl.col("currency").replace_strict(FX_TO_EUR)).round(2),
        )
    )
    placed = orders.with_columns(
        status=pl.when(pl.col("status") == "refunded")
        .then(pl.lit("completed"))
        .otherwise(pl.col("status")),
        refund_amount=pl.lit(0.0),
        updated_day=pl.col("ordered_day") + pl.col("first_export_delay"),
    )
    refunds = orders.filter(
        (pl.col("status") == "refunded") | (pl.col("partial_refund") > 0)
    ).with_columns(
        status=pl.when(pl.col("status") == "refunded")
        .then(pl.lit("refunded"))
        .otherwise(pl.lit("completed")),
        refund_amount=pl.when(pl.col("status") == "refunded")
        .then(pl.lit(0.0))
        .otherwise((pl.col("amount") * pl.col("partial_refund")).round(2)),
        updated_day=pl.col("ordered_day") + pl.col("first_export_delay") + pl.col("refund_delay"),
    )
    versions = pl.concat([placed, refunds]).filter(pl.col("updated_day") < horizon_days)
    broken = pl.lit(rng.random(versions.height)) < dirty_rate
    exported = versions.with_columns(
        ordered_at=to_timestamp(start, pl.col("ordered_day")),
        updated_at=to_timestamp(start, pl.col("updated_day")),
        amount=pl.when(broken).then(-pl.col("amount")).otherwise(pl.col("amount")),
    ).select(
        "order_id",
        "customer_id",
        "ordered_at",
        "status",
        "amount",
        "refund_amount",
        "currency",
        "channel",
        "updated_at",
    )
    return exported, m


def response_versions(
    rng: np.random.Generator,
    responses: pl.DataFrame,
    people: pl.DataFrame,
    n_customers: int,
    start: dt.date,
    dirty_rate: float,
    first_response_index: int = 0,
) -> pl.DataFrame:
    """Survey answers as the survey tool exports them: ids are sometimes missing or unknown.

    `n_customers` is the size of the whole sample (unknown ids lie beyond it); response ids
    count from `first_response_index`."""
    responses = responses.sort("submitted_day").with_row_index(
        "response_index", offset=first_response_index
    )
    n = responses.height
    roll = rng.random(n)
    with_email = responses.join(
        people.select("customer_index", "email"), on="customer_index", how="left"
    ).sort("response_index")
    customer_id = _customer_id(pl.col("customer_index"))
    unknown_id = _customer_id(pl.col("customer_index") + n_customers + 1_000_000)
    submitted_at = to_timestamp(start, pl.col("submitted_day"))
    broken = rng.random(n) < dirty_rate
    broken_value = pick(rng, BROKEN_NPS, None, n)
    return with_email.with_columns(
        response_id=pl.concat_str(
            pl.lit("R"), pl.col("response_index").cast(pl.String).str.zfill(9)
        ),
        # 4% anonymous but with an e-mail (linkable by its hash), 2% fully anonymous,
        # 1.5% with a customer id the CRM does not know.
        customer_id=pl.when(pl.lit(roll < 0.06))
        .then(None)
        .when(pl.lit(roll < 0.075))
        .then(unknown_id)
        .otherwise(customer_id),
        respondent_email=pl.when(pl.lit((roll < 0.04) | (roll > 0.6))).then(pl.col("email")),
        submitted_at=submitted_at,
        updated_at=submitted_at,
        wave=pl.format("{}-Q{}", submitted_at.dt.year(), submitted_at.dt.quarter()),
        nps_score=pl.when(pl.lit(broken))
        .then(pl.lit(broken_value))
        .otherwise(pl.col("nps_score").cast(pl.String)),
        comment=comments(rng, responses["language"], responses["nps_score"]),
    ).select(
        "response_id",
        "customer_id",
        "respondent_email",
        "submitted_at",
        "wave",
        "nps_score",
        "satisfaction",
        pl.selectors.starts_with("driver_"),
        "comment",
        "language",
        "updated_at",
    )
