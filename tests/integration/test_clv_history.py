"""The CLV fit history and backtests survive the fresh build database of every run."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines import run
from pipelines.config import Settings
from pipelines.synth import SynthConfig, generate

pytestmark = pytest.mark.integration


def test_each_run_adds_its_fits_and_keeps_the_earlier_ones(settings: Settings) -> None:
    exports = generate(
        settings.paths, SynthConfig(customers=1_500, months=4, start=dt.date(2025, 1, 1))
    )
    previous_day = exports.end - dt.timedelta(days=1)
    run.backfill(settings, exports.start, previous_day)
    run.run_all(settings, exports.end)
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        fits = connection.sql(
            "select as_of, model, status, is_stale from ops.clv_model_runs"
        ).fetchall()
        backtests = connection.sql("select as_of, status from ops.clv_backtests").fetchall()
        current = connection.sql("select distinct as_of from ops.clv_fit_status").fetchall()
    assert fits == [
        (day, model, "converged", False)
        for day in (previous_day, exports.end)
        for model in ("bgnbd", "gamma_gamma")
    ]
    assert backtests == [(previous_day, "converged"), (exports.end, "converged")]
    assert current == [(exports.end,)]
