"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie's
note "The Gamma-Gamma model of monetary value"): fit on repeat customers, then the
expected value of a customer's future purchases.

A purchase's value is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so the
mean of a customer's x repeat purchases, m_x, carries all the information. The model
assumes spend is independent of purchase frequency. gamma is in money units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from pipelines.clv.mle import Fit, maximise

MODEL = "gamma_gamma"
NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class Spend:
    """Repeat customers' (x, m_x), reduced to what the likelihood needs.

    ln L_i = lnG(p x + q) - lnG(p x) - lnG(q) + q ln(gamma) + (p x - 1) ln(m) + p x ln(x)
             - (p x + q) ln(x m + gamma)
    Every term but the last is a function of x alone or a constant sum, so an evaluation
    touches each customer once (the last term) and each distinct x once (the rest).
    """

    distinct_x: np.ndarray
    customers_per_x: np.ndarray
    total_spend: np.ndarray  # x * m per customer
    x: np.ndarray
    sum_x_log_xm: float  # sum of x (ln m + ln x): the coefficient of p
    sum_log_m: float

    @classmethod
    def of(cls, frequency: np.ndarray, monetary_value: np.ndarray) -> Spend:
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        distinct_x, counts = np.unique(x, return_counts=True)
        return cls(
            distinct_x=distinct_x,
            customers_per_x=counts.astype(float),
            total_spend=x * m,
            x=x,
            sum_x_log_xm=float(x @ (np.log(m) + np.log(x))),
            sum_log_m=float(np.log(m).sum()),
        )

    @property
    def customers_n(self) -> int:
        return len(self.x)


def mean_log_likelihood(spend: Spend, log_params: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean log-likelihood per repeat customer and its gradient w.r.t. log(p, q, gamma)."""
    p, q, gamma = np.exp(log_params)
    n = spend.customers_n
    xs, counts = spend.distinct_x, spend.customers_per_x
    log_total = np.log(spend.total_spend + gamma)
    sum_log_total = log_total.sum()
    sum_x_log_total = spend.x @ log_total
    ll = (
        counts @ (gammaln(p * xs + q) - gammaln(p * xs))
        - n * gammaln(q)
        + n * q * np.log(gamma)
        + p * spend.sum_x_log_xm
        - spend.sum_log_m
        - p * sum_x_log_total
        - q * sum_log_total
    )
    inverse_total = 1.0 / (spend.total_spend + gamma)
    d_p = (
        counts @ (xs * (digamma(p * xs + q) - digamma(p * xs)))
        + spend.sum_x_log_xm
        - sum_x_log_total
    )
    d_q = counts @ digamma(p * xs + q) - n * digamma(q) + n * np.log(gamma) - sum_log_total
    d_gamma = n * q / gamma - (p * (spend.x @ inverse_total) + q * inverse_total.sum())
    gradient = np.array([d_p * p, d_q * q, d_gamma * gamma]) / n
    return float(ll / n), gradient


def fit(frequency: np.ndarray, monetary_value: np.ndarray) -> Fit:
    """Fit on the customers with at least one repeat purchase (the others carry no m_x)."""
    repeat = np.asarray(frequency) > 0
    if not repeat.any():
        return Fit(MODEL, "skipped", "no customer with a repeat purchase")
    spend = Spend.of(np.asarray(frequency)[repeat], np.asarray(monetary_value)[repeat])
    # Start at p = 1, q = 2, where the population mean spend p gamma / (q - 1) is gamma:
    # set it to the observed mean.
    start = (1.0, 2.0, float(np.mean(np.asarray(monetary_value)[repeat])))
    result = maximise(
        MODEL,
        NAMES,
        start,
        lambda log_params: mean_log_likelihood(spend, log_params),
        customers_n=spend.customers_n,
        fitted_rows_n=spend.customers_n,
    )
    if result.converged and result.params is not None and result.params["q"] <= 1.0:
        # Mean spend p gamma / (q - 1) is infinite: no finite order value to predict.
        return Fit(
            MODEL,
            "failed",
            f"q = {result.params['q']:.4g} <= 1: the population mean spend is infinite",
            customers_n=result.customers_n,
            fitted_rows_n=result.fitted_rows_n,
            iterations=result.iterations,
        )
    return result


def expected_order_value(
    params: dict[str, float], frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[M | x, m_x] = p (gamma + x m_x) / (p x + q - 1): the customer's mean spend,
    shrunk towards the population mean p gamma / (q - 1) (which one-time buyers get)."""
    p, q, gamma = (params[name] for name in NAMES)
    x = np.asarray(frequency, dtype=float)
    return p * (gamma + x * np.asarray(monetary_value, dtype=float)) / (p * x + q - 1)
