"""marts.nps_monthly: hand-computed on the tiny shop and on textbook cases, and cross-checked
against an independent Python computation on generated data."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import polars as pl
import pytest

from pipelines import models
from pipelines.config import Settings
from tests.sql import harness

NPS_MODEL = models.SQL_DIR / "marts" / "nps_monthly.sql"


def _warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.paths.warehouse_db), read_only=True)


def _nps_of_counts(promoters: int, passives: int, detractors: int) -> dict[str, object]:
    """Run the model on responses with the given class counts (one month, as of its end)."""
    month = harness.scores("2025-01", (10, promoters), (7, passives), (0, detractors))
    with harness.build(
        {"survey_responses": month}, dt.date(2025, 1, 31), ["marts.nps_monthly"]
    ) as connection:
        return connection.sql("from marts.nps_monthly").pl().row(0, named=True)


def test_tiny_shop_by_month(tiny_shop: Settings) -> None:
    with _warehouse(tiny_shop) as connection:
        rows = connection.sql(
            "select period_month, promoters, passives, detractors, responses_n, nps, nps_se,"
            " nps_moe_95, is_small_sample, is_complete_month from marts.nps_monthly"
        ).fetchall()
    jan, feb, mar = rows
    # January: 10 (promoter) and 6 (detractor): P = D = 1, N = 2, NPS = 100 * (1 - 1) / 2 = 0.
    # p = d = 0.5: var = 0.5 + 0.5 - 0^2 = 1; se = 100 * sqrt(1 / 2) = 70.71; moe = 1.96 * se.
    assert jan[:6] == (dt.date(2025, 1, 1), 1, 0, 1, 2, 0.0)
    assert jan[6] == pytest.approx(70.7107, abs=1e-4)
    assert jan[7] == pytest.approx(1.96 * 70.7107, abs=1e-3)
    assert jan[8:] == (True, True)  # 2 < 30 responses: small sample
    # February: 8 (passive) and 9 from an unknown customer (still counts): NPS = 100 * 1/2 = 50.
    # p = 0.5, d = 0: var = 0.5 - 0.25 = 0.25; se = 100 * sqrt(0.25 / 2) = 35.36.
    assert feb[:6] == (dt.date(2025, 2, 1), 1, 1, 0, 2, 50.0)
    assert feb[6] == pytest.approx(35.3553, abs=1e-4)
    # March: one 3 (anonymous, linked by e-mail); the 11 was quarantined, not clipped to 10.
    # NPS = -100; p = 0, d = 1: var = 1 - 1 = 0, se = 0. March is incomplete as of 03-15.
    assert mar[:7] == (dt.date(2025, 3, 1), 0, 0, 1, 1, -100.0, 0.0)
    assert mar[9] is False


def test_textbook_seventy_promoters_ten_detractors_is_sixty() -> None:
    # 70 promoters, 20 passives, 10 detractors: NPS = 100 * (0.7 - 0.1) = 60.
    # var = 0.7 + 0.1 - 0.6^2 = 0.44; se = 100 * sqrt(0.44 / 100) = 6.633.
    row = _nps_of_counts(70, 20, 10)
    assert row["nps"] == pytest.approx(60.0)
    assert row["nps_se"] == pytest.approx(6.6332, abs=1e-4)
    assert row["is_small_sample"] is False


def test_standard_error_keeps_the_covariance_term() -> None:
    # p = 0.5, d = 0.2, N = 100: var = 0.5 + 0.2 - 0.3^2 = 0.61, se = 100 * sqrt(0.0061) = 7.81.
    # The wrong formula sqrt(p(1-p)/N + d(1-d)/N) = 100 * sqrt(0.0025 + 0.0016) = 6.40.
    row = _nps_of_counts(50, 30, 20)
    assert row["nps_se"] == pytest.approx(7.81, abs=0.005)
    assert row["nps_moe_95"] == pytest.approx(1.96 * 7.8102, abs=1e-3)


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(generated_run: Settings) -> None:
    responses = pl.read_parquet(generated_run.paths.facts / "survey_responses.parquet")
    expected: dict[dt.date, tuple[int, float, float]] = {}
    for month, scores in responses.group_by("response_month").agg("nps_score").rows():
        n = len(scores)
        p = sum(score >= 9 for score in scores) / n
        d = sum(score <= 6 for score in scores) / n
        # Independent route to the variance: the mean of squares minus the square of the
        # mean of the +1/0/-1 codes (equal to p + d - (p - d)^2).
        codes = [1 if s >= 9 else -1 if s <= 6 else 0 for s in scores]
        mean = sum(codes) / n
        variance = sum(code * code for code in codes) / n - mean**2
        expected[month] = (n, 100 * (p - d), 100 * math.sqrt(variance / n))
    with _warehouse(generated_run) as connection:
        actual = {
            month: (n, nps, se)
            for month, n, nps, se in connection.sql(
                "select period_month, responses_n, nps, nps_se from marts.nps_monthly"
            ).fetchall()
        }
    assert actual.keys() == expected.keys()
    for month, (n, nps, se) in expected.items():
        assert actual[month][0] == n
        assert actual[month][1] == pytest.approx(nps, abs=1e-9)
        assert actual[month][2] == pytest.approx(se, abs=1e-9)


def test_model_is_the_headline_view_of_the_survey_scores() -> None:
    # One definition of NPS: the monthly headline reads the overall rows of the period mart.
    assert models.load_model(NPS_MODEL).references == {"marts.survey_scores_by_period"}
