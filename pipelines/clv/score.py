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
    return per_month @ (1.0 + discount_rate_monthly) ** -np.arange(1, cumulative.shape[1] + 1)


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
        horizons = sorted(set(HORIZONS_DAYS) | set(MONTH_ENDS_DAYS))
        expected = bgnbd.expected_purchases(purchase_params, x, t_x, tenure, horizons)
        by_horizon = dict(zip(horizons, expected.T, strict=True))
        values["p_alive"] = bgnbd.p_alive(purchase_params, x, t_x, tenure)
        for days in HORIZONS_DAYS:
            values[f"expected_purchases_{days}d"] = by_horizon[days]
    if spend_params is not None:
        values["expected_avg_order_value"] = gamma_gamma.expected_order_value(
            spend_params, x, rfm["monetary_value"].to_numpy()
        )
    if purchase_params is not None and spend_params is not None:
        monthly = np.column_stack([by_horizon[days] for days in MONTH_ENDS_DAYS])
        values["clv_12m"] = (
            (gross_margin_rate or 1.0)
            * values["expected_avg_order_value"]
            * discount_and_sum(monthly, discount_rate_monthly)
        )
    return rfm.with_columns(
        pl.Series(name, values[name], dtype=pl.Float64)
        if name in values
        else pl.lit(None, dtype=pl.Float64).alias(name)
        for name in PREDICTION_COLUMNS
    )
