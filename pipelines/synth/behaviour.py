"""What the synthetic customers do: sign up, buy, drop out, answer surveys.

Purchasing follows the BG/NBD story (Fader, Hardie & Lee 2005): while alive a customer
buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each repeat purchase
they drop out with probability p ~ Beta(a, b). Spend follows Gamma-Gamma: each order is
Gamma(p_spend, nu) with nu ~ Gamma(q, gamma). A customer's attitude (what drives their
NPS and driver ratings) is tied to their dropout probability, so answers predict churn.

Everything is drawn as whole arrays: no Python loop runs per customer or per order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class TrueParameters:
    """The generator's ground truth, written beside the exports so fits can be checked."""

    # About 20 orders per customer over 24 months: a frequent-purchase retailer.
    bgnbd_r: float = 0.9
    bgnbd_alpha: float = 7.0  # rate parameter, in days: mean lambda 0.13 purchases a day
    bgnbd_a: float = 0.5
    bgnbd_b: float = 8.0  # mean dropout 0.06 after each repeat purchase
    spend_p: float = 6.0
    spend_q: float = 3.5
    spend_gamma: float = 18.75  # mean order value p * gamma / (q - 1) = 45 EUR
    buyer_share: float = 0.85
    loyalty_member_share: float = 0.3
    # Purchase-rate multiplier minus one, applied from enrolment on.
    programme_uplift: dict[str, float] = field(
        default_factory=lambda: {"control": 0.0, "variant_a": 0.10, "variant_b": 0.05}
    )
    response_probability: float = 0.10  # share of purchases followed by a survey answer


COUNTRIES = ("RO", "MD", "UA", "GB")
COUNTRY_WEIGHTS = (0.45, 0.20, 0.25, 0.10)
CURRENCY_OF_COUNTRY = {"RO": "RON", "MD": "MDL", "UA": "UAH", "GB": "GBP"}
ACQUISITION_CHANNELS = ("organic", "paid_search", "social", "referral", "email")
ACQUISITION_WEIGHTS = (0.35, 0.25, 0.20, 0.10, 0.10)
ORDER_CHANNELS = ("web", "app", "store")
ORDER_CHANNEL_WEIGHTS = (0.6, 0.3, 0.1)
ARMS = ("control", "variant_a", "variant_b")
# Response language by country: (languages, weights).
LANGUAGES = {
    "RO": (("ro",), (1.0,)),
    "MD": (("ro", "ru"), (0.6, 0.4)),
    "UA": (("uk", "ru"), (0.7, 0.3)),
    "GB": (("en",), (1.0,)),
}
# How strongly each driver rating follows the customer's attitude (the "true" importance).
DRIVER_WEIGHTS = {"quality": 0.9, "service": 0.8, "delivery": 0.6, "assortment": 0.4, "price": 0.25}


def pick(
    rng: np.random.Generator, options: tuple[str, ...], weights: tuple[float, ...] | None, n: int
) -> pl.Series:
    """n draws from `options` (uniform when `weights` is None), gathered as one Series."""
    return pl.Series(options, dtype=pl.String).gather(rng.choice(len(options), size=n, p=weights))


def draw_customers(
    rng: np.random.Generator,
    n: int,
    horizon_days: float,
    truth: TrueParameters,
    first_index: int = 0,
) -> pl.DataFrame:
    """One row per customer: who they are, when they join, and their latent behaviour.

    Times are in days since the start of the sample period. `customer_index` counts from
    `first_index`, so that customers drawn in chunks keep distinct ids.
    """
    # Sign-ups grow over the period: density proportional to 1 + u on u in [0, 1].
    u = rng.random(n)
    signup = horizon_days * (np.sqrt(1.0 + 3.0 * u) - 1.0)
    first_purchase_delay = rng.exponential(3.0, n)
    is_buyer = rng.random(n) < truth.buyer_share
    first_purchase = np.where(is_buyer, signup + first_purchase_delay, np.inf)
    purchase_rate = rng.gamma(truth.bgnbd_r, 1.0 / truth.bgnbd_alpha, n)
    dropout = rng.beta(truth.bgnbd_a, truth.bgnbd_b, n)
    spend_scale = rng.gamma(truth.spend_q, 1.0 / truth.spend_gamma, n)  # nu
    # Attitude: customers likely to drop out feel worse; noise keeps it imperfect.
    logit_dropout = np.log(dropout / (1.0 - dropout))
    attitude = -0.8 * (
        logit_dropout - logit_dropout.mean()
    ) / logit_dropout.std() + 0.6 * rng.standard_normal(n)
    is_member = rng.random(n) < truth.loyalty_member_share
    enrolment = np.where(is_member, signup + rng.exponential(45.0, n), np.inf)
    enrolment = np.where(enrolment < horizon_days, enrolment, np.inf)
    arm = pick(rng, ARMS, None, n)
    return pl.DataFrame(
        {
            "customer_index": np.arange(first_index, first_index + n, dtype=np.int64),
            "signup_day": signup,
            "first_purchase_day": first_purchase,
            "purchase_rate": purchase_rate,
            "dropout": dropout,
            "spend_scale": spend_scale,
            "attitude": attitude,
            "enrolment_day": enrolment,
            "programme_arm": arm,
            "country": pick(rng, COUNTRIES, COUNTRY_WEIGHTS, n),
            "acquisition_channel": pick(rng, ACQUISITION_CHANNELS, ACQUISITION_WEIGHTS, n),
            "birth_year": rng.normal(1985, 13, n).clip(1935, 2007).round().astype(np.int64),
        }
    ).with_columns(
        programme_arm=pl.when(pl.col("enrolment_day").is_finite()).then(pl.col("programme_arm"))
    )


def _segment_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sum of `values` restarting at each segment of the given lengths."""
    totals = np.cumsum(values)
    starts = np.cumsum(counts) - counts
    before = np.concatenate(([0.0], totals))[starts]
    return totals - np.repeat(before, counts)


def draw_purchases(
    rng: np.random.Generator, customers: pl.DataFrame, horizon_days: float, truth: TrueParameters
) -> pl.DataFrame:
    """The completed purchases of every buyer: the first one, then the BG/NBD repeats.

    A customer makes at most N repeats, N ~ Geometric(p) (dropout after the N-th), at
    exponential gaps with rate lambda, and none after the end of the period.

    `control_day` is the day the same purchase would have happened without the programme
    (the same draws on the unaccelerated clock: common random numbers); it is later than
    `ordered_day` or equal, and may fall after the period. It states the programme's true
    effect (see pipelines.synth.truth) and is not exported.
    """
    buyers = customers.filter(pl.col("first_purchase_day") < horizon_days)
    first = buyers["first_purchase_day"].to_numpy()
    rate = buyers["purchase_rate"].to_numpy()
    window = horizon_days - first
    max_repeats = rng.geometric(buyers["dropout"].to_numpy())
    # Draw only as many gaps as can fit in the window (a generous Poisson upper bound).
    expected = rate * window
    draws = np.minimum(max_repeats, np.ceil(expected + 6.0 * np.sqrt(expected) + 10.0)).astype(
        np.int64
    )
    gaps = rng.exponential(1.0, draws.sum()) / np.repeat(rate, draws)
    offsets = _segment_cumsum(gaps, draws)  # days after the first purchase, on the control clock
    owner = np.repeat(np.arange(buyers.height), draws)
    # A programme variant speeds purchasing up from enrolment on: a time change of the clock.
    uplift = buyers["programme_arm"].replace_strict(truth.programme_uplift, default=0.0).to_numpy()
    # Enrolment after the window (or never) is the same as no enrolment at all.
    enrolled_after = np.clip(buyers["enrolment_day"].to_numpy() - first, 0.0, horizon_days)
    start = np.repeat(enrolled_after, draws)
    speed = 1.0 + np.repeat(uplift, draws)
    control_repeat_day = np.repeat(first, draws) + offsets
    offsets = np.where(offsets > start, start + (offsets - start) / speed, offsets)
    repeat_day = np.repeat(first, draws) + offsets
    kept = repeat_day < horizon_days
    index = buyers["customer_index"].to_numpy()
    purchase_day = np.concatenate((first, repeat_day[kept]))
    control_day = np.concatenate((first, control_repeat_day[kept]))
    customer = np.concatenate((index, index[owner[kept]]))
    spend_scale = np.concatenate(
        (buyers["spend_scale"].to_numpy(), buyers["spend_scale"].to_numpy()[owner[kept]])
    )
    amount_eur = rng.gamma(truth.spend_p, 1.0 / spend_scale)
    return pl.DataFrame(
        {
            "customer_index": customer,
            "ordered_day": purchase_day,
            "amount_eur": amount_eur,
            "control_day": control_day,
        }
    ).sort("ordered_day")


def draw_responses(
    rng: np.random.Generator,
    customers: pl.DataFrame,
    purchases: pl.DataFrame,
    horizon_days: float,
    truth: TrueParameters,
) -> pl.DataFrame:
    """Survey answers: a share of purchases is followed, days later, by a response.

    `control_submitted_day` is when the answer would have come without the programme (its
    purchase's `control_day` plus the same delay); it states the true effect, not exported.
    """
    answered = purchases.filter(pl.lit(rng.random(purchases.height)) < truth.response_probability)
    answered = answered.with_columns(
        submitted_day=pl.col("ordered_day") + pl.lit(rng.uniform(0.5, 10.0, answered.height))
    ).filter(pl.col("submitted_day") < horizon_days)
    joined = answered.join(
        customers.select("customer_index", "attitude", "country"), on="customer_index"
    )
    n = joined.height
    mood = joined["attitude"].to_numpy() + 0.5 * rng.standard_normal(n)
    nps = np.clip(np.round(7.7 + 1.9 * mood), 0, 10).astype(np.int64)
    satisfaction = np.clip(np.round(3.7 + 0.9 * mood + 0.5 * rng.standard_normal(n)), 1, 5).astype(
        np.int64
    )
    drivers = {
        f"driver_{name}": np.clip(
            np.round(3.6 + weight * mood + (1.0 - weight * 0.5) * rng.standard_normal(n)), 1, 5
        ).astype(np.int64)
        for name, weight in DRIVER_WEIGHTS.items()
    }
    # One draw of every country's language per response; each response keeps its country's.
    by_country = {
        code: pick(rng, options, weights, n) for code, (options, weights) in LANGUAGES.items()
    }
    language = pl.coalesce(
        pl.when(pl.col("country") == code).then(pl.lit(draws)) for code, draws in by_country.items()
    )
    return joined.select(
        "customer_index",
        "submitted_day",
        control_submitted_day=pl.col("control_day")
        + pl.col("submitted_day")
        - pl.col("ordered_day"),
        language=language,
        nps_score=pl.lit(nps),
        satisfaction=pl.lit(satisfaction),
        **{name: pl.lit(values) for name, values in drivers.items()},
    )
