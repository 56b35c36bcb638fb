"""The CLV stage: what it writes, and what a failed fit does (never a silent publish)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import storage
from pipelines.clv import bgnbd, build
from pipelines.clv.mle import Fit
from pipelines.clv.score import score
from pipelines.config import CLV_PARTITION_KEY, Settings
from tests.unit.clv.conftest import AS_OF

EARLIER = AS_OF - dt.timedelta(days=7)


def _orders(purchases: pl.DataFrame) -> pl.LazyFrame:
    return purchases.lazy().with_columns(is_purchase=pl.lit(True))


def _model_runs(settings: Settings, as_of: dt.date) -> dict[str, dict]:
    path = storage.partition_path(settings.paths.clv_model_runs_dir, as_of, CLV_PARTITION_KEY)
    return {row["model"]: row for row in pl.read_parquet(path).iter_rows(named=True)}


def _fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def failed(*_arrays: object) -> Fit:
        return Fit(bgnbd.MODEL, "failed", "forced by the test", customers_n=1)

    monkeypatch.setattr(bgnbd, "fit", failed)


def test_a_run_writes_scores_fit_history_and_backtest(
    settings: Settings, purchases: pl.DataFrame
) -> None:
    result = build(settings, AS_OF, _orders(purchases))
    assert result.statuses == {"bgnbd": "converged", "gamma_gamma": "converged"}
    runs = _model_runs(settings, AS_OF)
    assert runs["bgnbd"]["r"] > 0 and runs["bgnbd"]["p"] is None
    assert runs["gamma_gamma"]["gamma"] > 0 and runs["gamma_gamma"]["alpha"] is None
    assert not runs["bgnbd"]["is_stale"] and runs["bgnbd"]["params_as_of"] == AS_OF
    customers = pl.read_parquet(settings.paths.clv_customers)
    assert customers.height == result.customers == purchases["customer_id"].n_unique()
    assert customers["clv_12m"].null_count() == 0
    assert (customers["params_as_of"] == AS_OF).all()
    backtest = pl.read_parquet(
        storage.partition_path(settings.paths.clv_backtests_dir, AS_OF, CLV_PARTITION_KEY)
    ).row(0, named=True)
    assert backtest["status"] == "converged"
    assert backtest["calibration_end"] == AS_OF - dt.timedelta(days=settings.clv_holdout_days)


def test_the_same_date_twice_writes_the_same_scores(
    settings: Settings, purchases: pl.DataFrame
) -> None:
    build(settings, AS_OF, _orders(purchases))
    first = pl.read_parquet(settings.paths.clv_customers)
    build(settings, AS_OF, _orders(purchases))
    # Polars adds a group's partial sums in the order its threads finish, so revenue sums
    # (here as everywhere in the pipeline) may differ in the last bit between runs, and the
    # optimiser then stops at a point of the same optimum a hair away: equal to 1e-6.
    assert_frame_equal(pl.read_parquet(settings.paths.clv_customers), first, rel_tol=1e-6)


def test_a_failed_fit_scores_with_the_last_converged_parameters_flagged_stale(
    settings: Settings, purchases: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(settings, EARLIER, _orders(purchases))
    earlier = _model_runs(settings, EARLIER)
    _fail(monkeypatch)
    build(settings, AS_OF, _orders(purchases))
    runs = _model_runs(settings, AS_OF)
    assert runs["bgnbd"]["status"] == "failed" and runs["bgnbd"]["message"] == "forced by the test"
    assert runs["bgnbd"]["r"] is None  # a failed fit's parameters are never stored as fitted
    assert runs["bgnbd"]["is_stale"] and runs["bgnbd"]["params_as_of"] == EARLIER
    assert not runs["gamma_gamma"]["is_stale"]  # the spend model's own fit converged
    customers = pl.read_parquet(settings.paths.clv_customers)
    assert (customers["params_as_of"] == EARLIER).all()
    stale = score(
        customers.select(
            "customer_id", "frequency", "recency_days", "tenure_days", "monetary_value"
        ),
        {name: earlier["bgnbd"][name] for name in bgnbd.NAMES},
        None,
        settings.clv_discount_rate_monthly,
        None,
    )
    assert customers["expected_purchases_365d"].equals(stale["expected_purchases_365d"])


def test_without_earlier_parameters_the_predictions_are_null(
    settings: Settings, purchases: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail(monkeypatch)
    build(settings, AS_OF, _orders(purchases))
    runs = _model_runs(settings, AS_OF)
    assert runs["bgnbd"]["is_stale"] and runs["bgnbd"]["params_as_of"] is None
    customers = pl.read_parquet(settings.paths.clv_customers)
    assert customers["params_as_of"].null_count() == customers.height
    for column in ("p_alive", "expected_purchases_30d", "clv_12m"):
        assert customers[column].null_count() == customers.height, column
    # The spend model converged on its own: its prediction is there.
    assert customers["expected_avg_order_value"].null_count() == 0
