"""The CLV stage: facts -> per-customer predictions, fit history and backtest.

Every run fits both models on the purchases up to its as-of date. A fit that does not
converge never publishes silently: its row in the fit history says `failed` and why, and
the customers are scored with the newest parameters that did converge on an earlier date,
flagged stale (`is_stale`, `params_as_of`); with none, the predictions are null.

Writes (paths from `Layout`):
  clv/customers.parquet                          RFM summary and predictions, this run
  ops/clv_model_runs/as_of=<date>/data.parquet   one row per model: status, parameters
  ops/clv_backtests/as_of=<date>/data.parquet    the backtest of this run
The two histories are partitions per as-of date, like the load audit: a re-run replaces
its own date and the build database (fresh every run) reads them all back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from pipelines import storage
from pipelines.clv import bgnbd, gamma_gamma
from pipelines.clv.backtest import backtest
from pipelines.clv.mle import Fit
from pipelines.clv.rfm import purchase_days, rfm_of_days
from pipelines.clv.score import score
from pipelines.config import CLV_PARTITION_KEY, Settings

log = logging.getLogger(__name__)

NAMES_OF_MODEL = {bgnbd.MODEL: bgnbd.NAMES, gamma_gamma.MODEL: gamma_gamma.NAMES}
PARAMETER_NAMES = (*bgnbd.NAMES, *gamma_gamma.NAMES)
MODEL_RUN_SCHEMA = {
    "as_of": pl.Date,
    "model": pl.String,
    "status": pl.String,
    "message": pl.String,
    "customers_n": pl.Int64,
    "fitted_rows_n": pl.Int64,
    "iterations": pl.Int64,
    "log_likelihood": pl.Float64,
    **dict.fromkeys(PARAMETER_NAMES, pl.Float64),
    "params_as_of": pl.Date,
    "is_stale": pl.Boolean,
}


@dataclass(frozen=True)
class Parameters:
    """The parameters a run scores with, and the as-of date of the fit they come from."""

    values: dict[str, float]
    as_of: dt.date


@dataclass(frozen=True)
class ClvRun:
    customers: int
    statuses: dict[str, str]  # model -> status of this run's fit
    backtest_status: str


def build(settings: Settings, as_of: dt.date, orders: pl.LazyFrame) -> ClvRun:
    """Fit, score and backtest as of `as_of` from `facts.orders`, and write the results."""
    paths = settings.paths
    purchases = orders.filter(pl.col("is_purchase")).select(
        "customer_id", "ordered_at", "net_amount"
    )
    # The purchase days once, in memory: the fit, the backtest's calibration and its
    # holdout all read them (M: three group-bys of 17 million purchases become one).
    days = purchase_days(purchases, as_of).collect().lazy()
    rfm = rfm_of_days(days, as_of).collect()
    x, t_x, tenure = (
        rfm[name].to_numpy().astype(float) for name in ("frequency", "recency_days", "tenure_days")
    )
    fits = [
        bgnbd.fit(x, t_x, tenure),
        gamma_gamma.fit(x, rfm["monetary_value"].to_numpy()),
    ]
    in_use = {fit.model: parameters_in_use(fit, settings, as_of) for fit in fits}
    scored = score(
        rfm,
        in_use[bgnbd.MODEL].values if in_use[bgnbd.MODEL] else None,
        in_use[gamma_gamma.MODEL].values if in_use[gamma_gamma.MODEL] else None,
        settings.clv_discount_rate_monthly,
        settings.gross_margin_rate,
    )
    storage.write_parquet_atomic(
        scored.with_columns(params_as_of=pl.lit(oldest(list(in_use.values())), dtype=pl.Date)),
        paths.clv_customers,
    )
    storage.write_partition(
        model_runs(fits, in_use, as_of), paths.clv_model_runs_dir, as_of, CLV_PARTITION_KEY
    )
    tested = backtest(days, as_of, settings.clv_holdout_days)
    storage.write_partition(tested.as_frame(), paths.clv_backtests_dir, as_of, CLV_PARTITION_KEY)
    log.info(
        "clv %s: %d customers scored; backtest %s (predicted / actual %s)",
        as_of,
        rfm.height,
        tested.status,
        tested.predicted_to_actual_ratio,
    )
    return ClvRun(rfm.height, {fit.model: fit.status for fit in fits}, tested.status)


def parameters_in_use(fit: Fit, settings: Settings, as_of: dt.date) -> Parameters | None:
    """This run's parameters when its fit converged, else the newest earlier ones."""
    if fit.params is not None:
        return Parameters(fit.params, as_of)
    previous = latest_converged(settings, fit.model, before=as_of)
    log.warning(
        "clv %s: the %s fit %s (%s); %s",
        as_of,
        fit.model,
        fit.status,
        fit.message,
        f"scoring with the stale parameters of {previous.as_of}"
        if previous
        else "no earlier parameters: predictions are null",
    )
    return previous


def latest_converged(settings: Settings, model: str, before: dt.date) -> Parameters | None:
    directory = settings.paths.clv_model_runs_dir
    earlier = [
        storage.partition_path(directory, day, CLV_PARTITION_KEY)
        for day in storage.partition_dates(directory, CLV_PARTITION_KEY)
        if day < before
    ]
    if not earlier:
        return None
    names = NAMES_OF_MODEL[model]
    rows = (
        pl.scan_parquet(earlier)
        .filter((pl.col("model") == model) & (pl.col("status") == "converged"))
        .sort("as_of")
        .select("as_of", *names)
        .collect()
    )
    if rows.is_empty():
        return None
    newest = rows.row(-1, named=True)
    return Parameters({name: newest[name] for name in names}, newest["as_of"])


def oldest(in_use: Collection[Parameters | None]) -> dt.date | None:
    """The as-of date of the oldest parameters scored with; None when a model had none."""
    if any(parameters is None for parameters in in_use):
        return None
    return min(parameters.as_of for parameters in in_use if parameters is not None)


def model_runs(
    fits: list[Fit], in_use: dict[str, Parameters | None], as_of: dt.date
) -> pl.DataFrame:
    """One row per model: how this run's fit went and which parameters it scored with."""
    rows = []
    for fit in fits:
        used = in_use[fit.model]
        rows.append(
            {
                "as_of": as_of,
                "model": fit.model,
                "status": fit.status,
                "message": fit.message,
                "customers_n": fit.customers_n,
                "fitted_rows_n": fit.fitted_rows_n,
                "iterations": fit.iterations,
                "log_likelihood": fit.log_likelihood,
                **(fit.params or {}),
                "params_as_of": used.as_of if used else None,
                "is_stale": used is None or used.as_of != as_of,
            }
        )
    return pl.DataFrame(rows, schema=MODEL_RUN_SCHEMA)
