"""How well the purchase model predicts: fit on the history up to a cut-off, predict the
purchase days of the following holdout window per customer, compare with what happened.

Only customers who had bought by the cut-off are scored (the model says nothing about
customers it has not met), and purchases count as purchase days, as in the fit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from pipelines.clv import bgnbd
from pipelines.clv.mle import Status
from pipelines.clv.rfm import rfm_of_days


@dataclass(frozen=True)
class Backtest:
    as_of: dt.date
    calibration_end: dt.date
    holdout_days: int
    status: Status
    message: str
    customers_n: int = 0
    actual_purchases: int | None = None
    predicted_purchases: float | None = None
    mae_purchases: float | None = None  # mean |predicted - actual| per customer
    predicted_to_actual_ratio: float | None = None

    def as_frame(self) -> pl.DataFrame:
        return pl.DataFrame([asdict(self)], schema=BACKTEST_SCHEMA)


BACKTEST_SCHEMA = {
    "as_of": pl.Date,
    "calibration_end": pl.Date,
    "holdout_days": pl.Int64,
    "status": pl.String,
    "message": pl.String,
    "customers_n": pl.Int64,
    "actual_purchases": pl.Int64,
    "predicted_purchases": pl.Float64,
    "mae_purchases": pl.Float64,
    "predicted_to_actual_ratio": pl.Float64,
}


def backtest(days: pl.LazyFrame, as_of: dt.date, holdout_days: int) -> Backtest:
    """`days`: the purchase days up to `as_of` (`rfm.purchase_days`)."""
    calibration_end = as_of - dt.timedelta(days=holdout_days)
    outcome = {"as_of": as_of, "calibration_end": calibration_end, "holdout_days": holdout_days}
    calibration = rfm_of_days(
        days.filter(pl.col("purchase_day") <= calibration_end), calibration_end
    ).collect()
    if calibration.is_empty():
        return Backtest(**outcome, status="skipped", message="no purchase before the cut-off")
    x, t_x, tenure = (
        calibration[name].to_numpy().astype(float)
        for name in ("frequency", "recency_days", "tenure_days")
    )
    fit = bgnbd.fit(x, t_x, tenure)
    if fit.params is None:
        return Backtest(**outcome, status=fit.status, message=f"calibration fit: {fit.message}")
    holdout = (
        days.filter(pl.col("purchase_day") > calibration_end)
        .group_by("customer_id")
        .agg(actual=pl.len())
    )
    actual = (
        calibration.lazy()
        .join(holdout, on="customer_id", how="left", maintain_order="left")
        .select(pl.col("actual").fill_null(0))
        .collect()["actual"]
        .to_numpy()
    )
    predicted = bgnbd.expected_purchases(fit.params, x, t_x, tenure, [holdout_days])[:, 0]
    total_actual = int(actual.sum())
    return Backtest(
        **outcome,
        status="converged",
        message=fit.message,
        customers_n=len(actual),
        actual_purchases=total_actual,
        predicted_purchases=float(predicted.sum()),
        mae_purchases=float(np.abs(predicted - actual).mean()),
        predicted_to_actual_ratio=float(predicted.sum() / total_actual) if total_actual else None,
    )
