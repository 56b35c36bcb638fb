"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy
way"): fit by maximum likelihood, then P(alive) and expected purchases per customer.

While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after
each repeat purchase they drop out with probability p ~ Beta(a, b). Time is in whatever
unit the inputs use (days in the pipeline, weeks in the paper): alpha is in that unit,
r, a and b are unit-free.

Inputs per customer are the RFM summary: x = frequency, t_x = recency, T = tenure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
from scipy.special import digamma, expit, gammaln, hyp2f1

from pipelines.clv.mle import Fit, maximise

MODEL = "bgnbd"
NAMES = ("r", "alpha", "a", "b")
TRIPLE_SCHEMA = {"x": pl.Float64, "t_x": pl.Float64, "T": pl.Float64}


@dataclass(frozen=True)
class Triples:
    """Distinct (x, t_x, T) rows and how many customers share each: the likelihood of a
    customer depends on nothing else, so a fit costs distinct rows, not customers."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray

    @classmethod
    def collapse(cls, frequency: np.ndarray, recency: np.ndarray, tenure: np.ndarray) -> Triples:
        rows = (
            pl.DataFrame({"x": frequency, "t_x": recency, "T": tenure}, schema=TRIPLE_SCHEMA)
            .group_by("x", "t_x", "T")
            .agg(weight=pl.len().cast(pl.Float64))
            .sort("x", "t_x", "T")  # a fixed order: the same data, the same fit
        )
        return cls(*(rows[name].to_numpy() for name in ("x", "t_x", "T", "weight")))

    @property
    def customers_n(self) -> int:
        return int(self.weight.sum())

    @cached_property
    def by_x(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct x, each row's index into them, and the customers per distinct x:
        terms that depend on x alone are evaluated once per distinct x."""
        values, index = np.unique(self.x, return_inverse=True)
        return values, index, np.bincount(index, weights=self.weight)

    @cached_property
    def by_time(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct times among T and t_x, and each row's index of its T and its t_x
        (a few hundred days, however many customers)."""
        values, index = np.unique(np.concatenate([self.T, self.t_x]), return_inverse=True)
        return values, index[: len(self.T)], index[len(self.T) :]


def mean_log_likelihood(triples: Triples, log_params: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean log-likelihood per customer and its gradient with respect to log(r, alpha, a, b).

    ln L = A1 + A2 + ln(exp(A3) + [x > 0] exp(A4)) with
      A1 = lnG(r + x) - lnG(r) + r ln(alpha)
      A2 = ln B(a, b + x) - ln B(a, b)
      A3 = -(r + x) ln(alpha + T)
      A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x)
    """
    r, alpha, a, b = np.exp(log_params)
    x, w = triples.x, triples.weight
    xs, x_index, customers_per_x = triples.by_x
    times, t_index, tx_index = triples.by_time
    log_times, inverse_times = np.log(alpha + times), 1.0 / (alpha + times)
    log_alpha_T, log_alpha_tx = log_times[t_index], log_times[tx_index]
    b_x1 = b + np.maximum(xs, 1) - 1  # b + x - 1, only used where x > 0
    # A1 + A2 depend on x alone: weighted once per distinct x.
    a12 = (
        gammaln(r + xs)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + xs)
        - gammaln(b)
        - gammaln(a + b + xs)
    )
    a3 = -(r + x) * log_alpha_T
    a4 = np.where(x > 0, np.log(a) - np.log(b_x1)[x_index] - (r + x) * log_alpha_tx, -np.inf)
    mix = np.logaddexp(a3, a4)
    # Shares of the two terms inside the logarithm: they weight the terms' derivatives.
    w3 = np.exp(a3 - mix)
    w4 = 1.0 - w3
    total = w.sum()
    w_w4 = w * w4
    d_r = customers_per_x @ (digamma(r + xs) - digamma(r) + np.log(alpha)) - (
        (w * w3) @ log_alpha_T + w_w4 @ log_alpha_tx
    )
    d_alpha = total * r / alpha - (w * (r + x)) @ (
        w3 * inverse_times[t_index] + w4 * inverse_times[tx_index]
    )
    common = customers_per_x @ (digamma(a + b) - digamma(a + b + xs))
    d_a = common + w_w4.sum() / a
    d_b = common + customers_per_x @ (digamma(b + xs) - digamma(b)) - w_w4 @ (1.0 / b_x1)[x_index]
    gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b]) / total
    return float((customers_per_x @ a12 + w @ mix) / total), gradient


def fit(frequency: np.ndarray, recency: np.ndarray, tenure: np.ndarray) -> Fit:
    if len(frequency) == 0:
        return Fit(MODEL, "skipped", "no customer with a purchase")
    triples = Triples.collapse(frequency, recency, tenure)
    # Start where the mean purchase rate r / alpha matches the observed repeat rate.
    repeats = max(float(triples.weight @ triples.x), 1.0)
    exposure = max(float(triples.weight @ triples.T), 1.0)
    start = (1.0, exposure / repeats, 1.0, 1.0)
    return maximise(
        MODEL,
        NAMES,
        start,
        lambda log_params: mean_log_likelihood(triples, log_params),
        customers_n=triples.customers_n,
        fitted_rows_n=len(triples.x),
    )


def log_odds_dead(
    params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """ln(P(dead) / P(alive)) given the customer's history; -inf for one-time buyers,
    who cannot have dropped out (dropout happens only after a repeat purchase)."""
    r, alpha, a, b = (params[name] for name in NAMES)
    return np.where(
        x > 0,
        np.log(a)
        - np.log(b + np.maximum(x, 1) - 1)
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )


def p_alive(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r+x))

    Computed from the log-odds, so that heavy buyers' powers cannot overflow.
    """
    return expit(-log_odds_dead(params, x, t_x, T))


def expected_purchases_if_alive(
    params: dict[str, float],
    x: np.ndarray,
    T: np.ndarray,
    t: float,
) -> np.ndarray:
    """Expected purchases in (T, T + t] of a customer known to be alive at T.

    The conditional expectation of the paper (its equation 10) is this times P(alive):
      (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
                                      * 2F1(r + x, b + x; a + b + x - 1; z)],
      z = t / (alpha + T + t).
    Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z)
    turns the bracket into 1 - (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z),
    whose first two arguments do not grow with x, so the series stays finite for heavy
    buyers where the untransformed one overflows.
    """
    r, alpha, a, b = (params[name] for name in NAMES)
    one_minus_z = (alpha + T) / (alpha + T + t)
    series = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, 1 - one_minus_z)
    return (a + b + x - 1) / (a - 1) * (1 - one_minus_z ** (a - 1) * series)


def purchases_if_alive_by_pair(
    params: dict[str, float],
    x: np.ndarray,
    T: np.ndarray,
    horizons: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """`expected_purchases_if_alive` for each distinct (x, T) pair (one column per horizon),
    and each customer's row in it. The pairs are far fewer than customers (x and T in
    whole days), so the hypergeometric series runs once per pair, not per customer."""
    customers = pl.DataFrame({"x": x, "T": T}, schema={"x": pl.Float64, "T": pl.Float64})
    pairs = customers.unique().with_row_index("pair")
    pair = customers.join(pairs, on=["x", "T"], how="left", maintain_order="left")["pair"]
    values = np.column_stack(
        [
            expected_purchases_if_alive(params, pairs["x"].to_numpy(), pairs["T"].to_numpy(), t)
            for t in horizons
        ]
    )
    return values, pair.to_numpy()


def expected_purchases(
    params: dict[str, float],
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    horizons: Sequence[float],
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] for each horizon t: one column per horizon."""
    values, pair = purchases_if_alive_by_pair(params, x, T, horizons)
    return p_alive(params, x, t_x, T)[:, None] * values[pair]
