"""Per-customer predictions from fitted parameters: P(alive), expected purchases, expected
order value and the discounted 12-month CLV.

CLV over 12 months sums, month by month, the expected purchases in the month times the
expected order value, discounted at the monthly rate, times the gross margin when one is
set (otherwise it is revenue):
    clv_12m = margin * E[M] * sum_{m=1..12} (E[Y(30 m)] - E[Y(30 (m - 1))]) / (1 + d)^m
A month is 30 days here, as in the `lifetimes` library, so that the two agree.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.clv import bgnbd, gamma_gamma

HORIZONS_DAYS = (30, 90, 365)
CLV_MONTHS = 12
DAYS_PER_MONTH = 30
MONTH_ENDS_DAYS = tuple(DAYS_PER_MONTH * month for month in range(1, CLV_MONTHS + 1))

PREDICTION_COLUMNS = (
    "p_alive",
    *(f"expected_purchases_{days}d" for days in HORIZONS_DAYS),
    "expected_avg_order_value",
    "clv_12m",
)


def discount_and_sum(cumulative: np.ndarray, discount_rate_monthly: float) -> np.ndarray:
    """Discounted sum of monthly increments, from expected purchases up to each month end
    (one column per month)."""
    per_month = np.diff(cumulative, axis=1, prepend=0.0)
    factors = (1.0 + discount_rate_monthly) ** -np.arange(1, cumulative.shape[1] + 1)
    # Summed row by row, not as a matrix product: BLAS may add up a row in another order
    # depending on where it lies in the matrix, and the rows (distinct (x, T) pairs) come
    # in no fixed order, so a customer's CLV changed in its last bit between two runs.
    return (per_month * factors).sum(axis=1)


def score(
    rfm: pl.DataFrame,
    purchase_params: dict[str, float] | None,
    spend_params: dict[str, float] | None,
    discount_rate_monthly: float,
    gross_margin_rate: float | None,
) -> pl.DataFrame:
    """The RFM summary with the prediction columns added. A model without parameters
    leaves its columns null; CLV needs both."""
    x, t_x, tenure = (
        rfm[name].to_numpy().astype(float) for name in ("frequency", "recency_days", "tenure_days")
    )
    values: dict[str, np.ndarray] = {}
    if purchase_params is not None:
        # E[Y(t)] = P(alive) * (purchases if alive, a function of (x, T) only): every
        # horizon and the discounted monthly sum are worked out per distinct (x, T) pair,
        # and only the four results are spread over the customers.
        horizons = [*HORIZONS_DAYS, *MONTH_ENDS_DAYS]
        if_alive, pair = bgnbd.purchases_if_alive_by_pair(purchase_params, x, tenure, horizons)
        alive = bgnbd.p_alive(purchase_params, x, t_x, tenure)
        values["p_alive"] = alive
        for column, days in enumerate(HORIZONS_DAYS):
            values[f"expected_purchases_{days}d"] = alive * if_alive[pair, column]
    if spend_params is not None:
        values["expected_avg_order_value"] = gamma_gamma.expected_order_value(
            spend_params, x, rfm["monetary_value"].to_numpy()
        )
    if purchase_params is not None and spend_params is not None:
        monthly = if_alive[:, len(HORIZONS_DAYS) :]
        discounted = alive * discount_and_sum(monthly, discount_rate_monthly)[pair]
        values["clv_12m"] = (
            (gross_margin_rate or 1.0) * values["expected_avg_order_value"] * discounted
        )
    return rfm.with_columns(
        pl.Series(name, values[name], dtype=pl.Float64)
        if name in values
        else pl.lit(None, dtype=pl.Float64).alias(name)
        for name in PREDICTION_COLUMNS
    )
