"""marts.survey_scores_by_period: hand-computed on a few responses, cross-checked against an
independent Polars + scipy computation on generated data."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from scipy import stats

from pipelines.config import Settings
from tests.sql import harness
from tests.sql.harness import customer, response

MART = "marts.survey_scores_by_period"
AS_OF = dt.date(2025, 2, 28)  # February complete, the first quarter not

STAGING = {
    "customers": [
        customer("C1", country="RO"),
        customer("C2", country="GB", acquisition_channel="email"),
    ],
    "survey_responses": [
        # January: 10 and 6 from customers, 9 from an anonymous respondent.
        response("R1", "C1", "2025-01-10", 10, satisfaction=5, driver_quality=5, driver_price=1),
        response("R2", "C2", "2025-01-11", 6, satisfaction=2, driver_quality=3, driver_price=3),
        response("R3", None, "2025-01-12", 9, satisfaction=4),
        # February: 8 from C1, 3 anonymous without a satisfaction answer.
        response("R4", "C1", "2025-02-10", 8, satisfaction=4),
        response("R5", None, "2025-02-11", 3),
    ],
}


def _scores(settings: Settings | None = None) -> pl.DataFrame:
    with harness.build(STAGING, AS_OF, [MART], settings) as connection:
        return connection.sql(f"from {MART}").pl()


def _row(frame: pl.DataFrame, grain: str, period: str, segment: str, value: str) -> dict:
    rows = frame.filter(
        (pl.col("period_grain") == grain)
        & (pl.col("period") == period)
        & (pl.col("segment") == segment)
        & (pl.col("segment_value") == value)
    )
    assert rows.height == 1, (grain, period, segment, value)
    return rows.row(0, named=True)


def test_month_counts_nps_standard_error_and_csat() -> None:
    scores = _scores()
    jan = _row(scores, "month", "2025-01", "all", "all")
    # P = 2 (10, 9), passives 0, D = 1 (6), N = 3: NPS = 100 * (2 - 1) / 3 = 33.33.
    assert (jan["promoters"], jan["passives"], jan["detractors"], jan["responses_n"]) == (
        2,
        0,
        1,
        3,
    )
    assert jan["nps"] == pytest.approx(100 / 3)
    # p = 2/3, d = 1/3: var = 2/3 + 1/3 - (1/3)^2 = 8/9; se = 100 * sqrt(8/9 / 3) = 54.43.
    assert jan["nps_se"] == pytest.approx(54.4331, abs=1e-4)
    assert jan["nps_moe_95"] == pytest.approx(1.96 * 54.4331, abs=1e-3)
    assert jan["nps_score_mean"] == pytest.approx(25 / 3)  # (10 + 6 + 9) / 3
    # Satisfaction 5, 2, 4: top two boxes (4-5) = 2 of 3; mean 11 / 3.
    assert jan["csat_top2_share"] == pytest.approx(2 / 3)
    assert jan["satisfaction_mean"] == pytest.approx(11 / 3)
    # Three responses < 30: flagged, and no headline NPS.
    assert jan["is_small_sample"] is True and jan["nps_headline"] is None
    assert jan["is_complete_period"] is True
    feb = _row(scores, "month", "2025-02", "all", "all")
    # 8 (passive) and 3 (detractor): NPS = 100 * (0 - 1) / 2 = -50; p = 0, d = 0.5:
    # var = 0.5 - 0.25 = 0.25, se = 100 * sqrt(0.25 / 2) = 35.36.
    assert (feb["passives"], feb["detractors"], feb["nps"]) == (1, 1, -50.0)
    assert feb["nps_se"] == pytest.approx(35.3553, abs=1e-4)
    # One satisfaction answer (4): the unanswered one is not in the denominator.
    assert (feb["satisfaction_n"], feb["csat_top2_share"], feb["satisfaction_mean"]) == (
        1,
        1.0,
        4.0,
    )


def test_change_against_the_previous_period() -> None:
    feb = _row(_scores(), "month", "2025-02", "all", "all")
    # change = -50 - 33.33 = -83.33; z = -83.33 / sqrt(54.43^2 + 35.36^2) = -83.33 / 64.91
    # = -1.284; two-sided p = 2 * Phi(-1.284) = 0.199.
    assert feb["previous_period"] == "2025-01"
    assert feb["previous_nps"] == pytest.approx(100 / 3)
    assert feb["nps_change"] == pytest.approx(-50 - 100 / 3)
    assert feb["nps_change_z"] == pytest.approx(-1.2838, abs=1e-4)
    assert feb["nps_change_p_value"] == pytest.approx(0.1992, abs=1e-4)
    jan = _row(_scores(), "month", "2025-01", "all", "all")
    assert jan["previous_period"] == "2024-12" and jan["nps_change"] is None


def test_segments_keep_unmatched_responses_and_add_up() -> None:
    scores = _scores()
    # January by country: C1 (RO) 10, C2 (GB) 6, the anonymous 9 as 'unmatched'.
    by_country = {
        value: _row(scores, "month", "2025-01", "country", value)["nps"]
        for value in ("RO", "GB", "unmatched")
    }
    assert by_country == {"RO": 100.0, "GB": -100.0, "unmatched": 100.0}
    channel = _row(scores, "month", "2025-01", "acquisition_channel", "email")
    assert channel["responses_n"] == 1
    language = _row(scores, "month", "2025-01", "language", "en")
    assert language["responses_n"] == 3
    # Every segment's values add up to the overall N of the period.
    totals = (
        scores.group_by("period_grain", "period", "segment")
        .agg(pl.col("responses_n").sum())
        .join(
            scores.filter(pl.col("segment") == "all").select(
                "period_grain", "period", total="responses_n"
            ),
            on=["period_grain", "period"],
        )
    )
    assert (totals["responses_n"] == totals["total"]).all()


def test_quarter_and_wave_periods() -> None:
    scores = _scores()
    quarter = _row(scores, "quarter", "2025-Q1", "all", "all")
    # All five responses: P = 2, passives 1, D = 2: NPS 0. March is not observed yet.
    assert (quarter["responses_n"], quarter["nps"]) == (5, 0.0)
    assert quarter["period_start"] == dt.date(2025, 1, 1)
    assert quarter["previous_period"] == "2024-Q4"
    assert quarter["is_complete_period"] is False
    wave = _row(scores, "wave", "W1", "all", "all")
    # The only wave: no later wave has started, so it is not known to be complete.
    assert (wave["responses_n"], wave["is_complete_period"]) == (5, False)


def test_csi_is_the_weighted_mean_of_driver_performances() -> None:
    # January drivers: quality 5 and 3 (mean 4: 25 * (4 - 1) = 75), price 1 and 3 (mean 2:
    # 25). Equal weights: CSI = (75 + 25) / 2 = 50. Drivers nobody rated do not count.
    jan = _row(_scores(), "month", "2025-01", "all", "all")
    assert jan["csi"] == pytest.approx(50.0)
    # quality weighs 3: (3 * 75 + 1 * 25) / 4 = 62.5.
    weighted = _scores(Settings(csi_driver_weights={"quality": 3.0}))
    assert _row(weighted, "month", "2025-01", "all", "all")["csi"] == pytest.approx(62.5)
    # February: no driver ratings at all, so no CSI.
    assert _row(weighted, "month", "2025-02", "all", "all")["csi"] is None


def test_csi_weights_name_known_drivers() -> None:
    with pytest.raises(ValueError, match="unknown driver speed"):
        Settings(csi_driver_weights={"speed": 2.0})


@pytest.mark.integration
def test_matches_an_independent_computation_on_generated_data(generated_run: Settings) -> None:
    responses = pl.read_parquet(generated_run.paths.facts / "survey_responses.parquet")
    customers = pl.read_parquet(generated_run.paths.facts / "customers.parquet")
    # Independent route: NPS and its standard error per month and country from class shares,
    # the change test with scipy's normal distribution.
    expected = (
        responses.join(customers.select("customer_id", "country"), on="customer_id", how="left")
        .with_columns(country=pl.col("country").fill_null("unmatched"))
        .group_by("response_month", "country")
        .agg(
            n=pl.len(),
            p=(pl.col("nps_score") >= 9).mean(),
            d=(pl.col("nps_score") <= 6).mean(),
        )
        .with_columns(
            nps=100 * (pl.col("p") - pl.col("d")),
            se=100
            * ((pl.col("p") + pl.col("d") - (pl.col("p") - pl.col("d")) ** 2) / pl.col("n")).sqrt(),
        )
        .sort("country", "response_month")
    )
    with harness.warehouse(generated_run) as connection:
        actual = connection.sql(
            f"select period_start as response_month, segment_value as country, responses_n as n,"
            f" nps, nps_se as se, nps_change_p_value from {MART}"
            f" where period_grain = 'month' and segment = 'country'"
        ).pl()
    joined = expected.join(actual, on=["response_month", "country"], how="full", coalesce=True)
    assert joined.height == expected.height == actual.height
    for row in joined.iter_rows(named=True):
        assert row["n"] == row["n_right"]
        assert row["nps"] == pytest.approx(row["nps_right"], abs=1e-9)
        assert row["se"] == pytest.approx(row["se_right"], abs=1e-9)
    previous = {(r["country"], r["response_month"]): r for r in expected.iter_rows(named=True)}
    checked = 0
    for row in joined.iter_rows(named=True):
        month = row["response_month"]
        before = previous.get((row["country"], (month - dt.timedelta(days=1)).replace(day=1)))
        if before is None or math.hypot(row["se"], before["se"]) == 0:
            assert row["nps_change_p_value"] is None
            continue
        z = (row["nps"] - before["nps"]) / math.hypot(row["se"], before["se"])
        assert row["nps_change_p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), abs=1e-12)
        checked += 1
    assert checked > 10
