"""marts.programme_evaluation: hand-computed on four members, Welch's test cross-checked
against scipy.stats on generated data, and the generator's true effect recovered within the
95% intervals on the demo data."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest
from scipy import stats

from pipelines import run
from pipelines.config import Settings
from pipelines.synth import SynthConfig, generate
from tests.conftest import TEST_PII_KEY
from tests.sql import harness
from tests.sql.harness import customer, member, purchase, response

MART = "marts.programme_evaluation"
AS_OF = dt.date(2025, 6, 30)  # retention: a purchase from 2025-04-02 on (the last 90 days)


STAGING = {
    "customers": [
        member("A1", "2025-01-01", "control"),
        member("A2", "2025-01-01", "control"),
        member("B1", "2025-02-01", "variant_a"),
        member("B2", "2025-02-01", "variant_a"),
        customer("C1"),  # not a member: in no arm
    ],
    "orders": [
        purchase("A1", "2025-02-01", 10),
        purchase("A1", "2025-06-15", 20),  # revenue 30, repeat, retained
        purchase("A2", "2024-12-20", 50),  # before enrolment: not counted
        purchase("A2", "2025-03-01", 10),  # revenue 10, no repeat, not retained
        purchase("B1", "2025-02-10", 30),
        purchase("B1", "2025-05-01", 30),
        purchase("B1", "2025-06-01", 40),  # revenue 100, repeat, retained
        purchase("B2", "2025-04-10", 20),  # revenue 20, no repeat, retained
        purchase("C1", "2025-03-01", 1_000),
    ],
    "survey_responses": [
        response("R1", "A1", "2025-03-01", 10),
        response("R2", "A2", "2025-03-01", 6),
        response("R3", "A2", "2024-12-25", 0),  # before enrolment: not counted
        response("R4", "B1", "2025-03-01", 9),
        response("R5", "B2", "2025-03-01", 9),
    ],
}


def _evaluation(settings: Settings | None = None) -> dict[tuple[str, str], dict]:
    with harness.build(STAGING, AS_OF, [MART], settings) as connection:
        frame = connection.sql(f"from {MART}").pl()
    return {(row["programme_arm"], row["metric"]): row for row in frame.iter_rows(named=True)}


def test_revenue_per_customer_with_welch() -> None:
    rows = _evaluation()
    control, variant = (
        rows[("control", "revenue_per_customer")],
        rows[("variant_a", "revenue_per_customer")],
    )
    assert (control["units"], control["metric_value"], control["lift"]) == (2, 20.0, None)
    # Control 30, 10: mean 20, s^2 = 200, variance of the mean 100. Variant 100, 20: mean 60,
    # s^2 = 3200, variance of the mean 1600. Lift 40, se = sqrt(1700) = 41.231, t = 0.9701;
    # Welch df = 1700^2 / (100^2 / 1 + 1600^2 / 1) = 2,890,000 / 2,570,000 = 1.1245.
    assert variant["lift"] == 40.0
    assert variant["lift_se"] == pytest.approx(math.sqrt(1700))
    assert variant["degrees_of_freedom"] == pytest.approx(1.12451, abs=1e-5)
    assert variant["test_statistic"] == pytest.approx(40 / math.sqrt(1700))
    quantile = stats.t.ppf(0.975, 2_890_000 / 2_570_000)
    assert variant["lift_ci_low"] == pytest.approx(40 - quantile * math.sqrt(1700))
    assert variant["lift_ci_high"] == pytest.approx(40 + quantile * math.sqrt(1700))
    assert variant["p_value"] == pytest.approx(
        2 * stats.t.sf(40 / math.sqrt(1700), 1.12451), rel=1e-4
    )
    # Relative: 40 / 20 = 2; delta method: 1600 / 20^2 + 60^2 * 100 / 20^4 = 4 + 2.25 = 6.25.
    assert variant["relative_lift"] == 2.0
    assert variant["relative_lift_ci_high"] == pytest.approx(2 + quantile * 2.5)
    assert variant["test_name"] == "welch t"


def test_rates_with_two_proportion_tests() -> None:
    rows = _evaluation()
    # Repeat: control 1 / 2 (A1), variant 1 / 2 (B1): no lift.
    assert rows[("variant_a", "repeat_rate")]["lift"] == 0.0
    retention = rows[("variant_a", "retention_rate")]
    # Retained: control A1 only (1 / 2), variant B1 and B2 (2 / 2): lift 0.5.
    # Interval: unpooled se = sqrt(0.5 * 0.5 / 2 + 1 * 0 / 2) = 0.35355; 0.5 -+ 1.96 * se.
    assert (retention["successes"], retention["lift"]) == (2, 0.5)
    assert retention["lift_ci_low"] == pytest.approx(0.5 - 1.959964 * 0.353553, abs=1e-5)
    # Test: pooled 3 / 4: se = sqrt(0.75 * 0.25 * (1/2 + 1/2)) = 0.43301; z = 1.1547;
    # p = 2 * Phi(-1.1547) = 0.2482.
    assert retention["test_statistic"] == pytest.approx(1.1547, abs=1e-4)
    assert retention["p_value"] == pytest.approx(0.24821, abs=1e-5)
    assert retention["relative_lift"] == 1.0  # 0.5 / 0.5


def test_nps_with_customer_clustered_standard_errors() -> None:
    rows = _evaluation()
    control, variant = rows[("control", "nps")], rows[("variant_a", "nps")]
    # Control answers after enrolment: A1 10 (+1), A2 6 (-1): NPS 0. Clustered by customer
    # (k = 2, residuals +1 and -1): var = 100^2 * 2 / 1 * 2 / 2^2 = 10,000, se = 100.
    assert (control["units"], control["metric_value"], control["value_se"]) == (2, 0.0, 100.0)
    # Variant: 9 and 9: NPS 100, se 0. z = 100 / sqrt(100^2 + 0) = 1; p = 2 * Phi(-1).
    assert (variant["lift"], variant["test_statistic"]) == (100.0, 1.0)
    assert variant["p_value"] == pytest.approx(0.317311, abs=1e-6)
    assert variant["relative_lift"] is None  # no ratio of NPS values


def test_window_start_from_the_settings() -> None:
    rows = _evaluation(Settings(programme_window_start=dt.date(2025, 3, 1)))
    # From March 1: A1 keeps only 2025-06-15 (20), A2 keeps 2025-03-01 (10): mean 15.
    assert rows[("control", "revenue_per_customer")]["metric_value"] == 15.0
    assert rows[("control", "revenue_per_customer")]["window_start"] == dt.date(2025, 3, 1)


def test_the_window_start_is_a_date_even_when_none_is_set() -> None:
    # Each member followed from enrolment: NULL, typed as a date for BI tools, not integer.
    with harness.build(STAGING, AS_OF, [MART]) as connection:
        types = dict(
            connection.sql(
                "select column_name, data_type from information_schema.columns"
                " where table_name = 'programme_evaluation' and column_name like 'window_%'"
            ).fetchall()
        )
    assert types == {"window_start": "DATE", "window_end": "DATE"}


@pytest.mark.integration
def test_welch_matches_scipy_on_generated_data(generated_run: Settings) -> None:
    with harness.build_from_facts(generated_run, dt.date(2025, 4, 30), [MART]) as connection:
        rows = connection.sql(
            f"select programme_arm, lift_ci_low, lift_ci_high, p_value from {MART}"
            " where metric = 'revenue_per_customer' and programme_arm <> 'control'"
        ).fetchall()
    customers = pl.read_parquet(generated_run.paths.facts / "customers.parquet")
    orders = pl.read_parquet(generated_run.paths.fact_files("orders"))
    revenue = (
        customers.filter(pl.col("programme_arm") != "none")
        .join(orders.filter("is_purchase"), on="customer_id", how="left")
        .group_by("customer_id", "programme_arm")
        .agg(
            revenue=pl.col("net_amount").filter(pl.col("ordered_at") >= pl.col("enrolled_at")).sum()
        )
    )
    control = revenue.filter(pl.col("programme_arm") == "control")["revenue"].to_numpy()
    assert rows
    for arm, low, high, p_value in rows:
        variant = revenue.filter(pl.col("programme_arm") == arm)["revenue"].to_numpy()
        result = stats.ttest_ind(variant, control, equal_var=False)
        interval = result.confidence_interval(0.95)
        assert p_value == pytest.approx(result.pvalue, rel=1e-9)
        assert (low, high) == pytest.approx((interval.low, interval.high), rel=1e-9)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo data set (`loyalty demo`'s defaults) run through the whole pipeline."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("demo"), pii_key=TEST_PII_KEY)
    exports = generate(settings.paths, SynthConfig())
    run.backfill(settings, exports.start, exports.end)
    return settings


@pytest.mark.integration
def test_the_true_effect_lies_within_the_intervals_on_the_demo_data(demo_run: Settings) -> None:
    truth = json.loads((demo_run.paths.root / "synth" / "truth.json").read_text())
    effects = truth["programme_effect"]
    with harness.warehouse(demo_run) as connection:
        measured = connection.sql(
            f"select programme_arm, metric, lift_ci_low, lift_ci_high, relative_lift_ci_low,"
            f" relative_lift_ci_high from {MART} where programme_arm <> 'control'"
        ).fetchall()
    assert len(measured) == 8  # two variants, four metrics
    for arm, metric, low, high, relative_low, relative_high in measured:
        true_effect = effects[arm][metric]
        assert low <= true_effect["absolute"] <= high, (arm, metric, true_effect, low, high)
        if true_effect["relative"] is not None:
            assert relative_low <= true_effect["relative"] <= relative_high, (arm, metric)
    # The programmed speed-up does move revenue: the truth is not a trivial zero.
    assert effects["variant_a"]["revenue_per_customer"]["relative"] > 0.03
