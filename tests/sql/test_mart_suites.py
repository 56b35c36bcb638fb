"""The suites of expectations/ hold the invariants of every mart (docs/quality.md; that
every published model has one is tests/unit/test_quality_suites.py): each passes on the
hand-made shops and on generated data, and each catches rows broken on purpose. The
pipeline runs of the fixtures went through the marts gate, so what it judged is read
from their published ops.gate_results."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import quality
from pipelines.config import Settings
from pipelines.errors import GateError
from pipelines.quality.suites import load_suites
from tests.conftest import TEST_PII_KEY
from tests.sql.behaviour_reference import query
from tests.sql.harness import published

SHOPS = [
    "tiny_shop",
    "behaviour_shop",
    pytest.param("generated_run", marks=pytest.mark.integration),
    pytest.param("generated_behaviour_run", marks=pytest.mark.integration),
]
Failure = tuple[str, str]  # (suite, column or expectation)


def _gated(settings: Settings) -> set[str]:
    """The suites of the marts gate: one per table, and those their meta generates."""
    suites = [suite for suite in load_suites(settings) if suite.gate == "marts"]
    return {suite.name for suite in suites} | {
        derived.name for suite in suites for derived, _ in suite.cross_row_suites()
    }


def _verdicts(settings: Settings) -> pl.DataFrame:
    """The marts gate's verdicts of the run that published the warehouse."""
    return published(
        settings,
        "select suite, expectation, column_name, severity, success, evaluated_rows"
        " from ops.gate_results where gate = 'marts'"
        " and run_date = (select max(as_of) from ops.releases)",
    )


# The hand-made shops have too few customers for the CLV models: both fits fail, the gate
# reports it as warnings and the run publishes.
FAILED_FIT = {
    ("ops.clv_fit_status", "status", "warning"),
    ("ops.clv_fit_status", "is_stale", "warning"),
}
WARNINGS = {"tiny_shop": FAILED_FIT, "behaviour_shop": FAILED_FIT}


@pytest.mark.parametrize("shop", SHOPS)
def test_every_suite_passes(shop: str, request: pytest.FixtureRequest) -> None:
    settings: Settings = request.getfixturevalue(shop)
    verdicts = _verdicts(settings)
    assert set(verdicts["suite"]) == _gated(settings)
    failed = verdicts.filter(~pl.col("success")).select("suite", "column_name", "severity")
    assert set(failed.rows()) == WARNINGS.get(shop, set())


def test_a_failed_clv_fit_is_reported_and_the_run_goes_on(tiny_shop: Settings) -> None:
    fits = query(tiny_shop, "select model, status, is_stale from ops.clv_fit_status")
    assert fits == [("bgnbd", "failed", True), ("gamma_gamma", "failed", True)]
    # Published all the same (the marts of that run are in the warehouse), with the
    # warnings in ops.gate_results.
    assert query(tiny_shop, "select count(*) from ops.releases") == [(1,)]


def test_the_behaviour_suites_judge_rows(behaviour_shop: Settings) -> None:
    # Not vacuous: every behaviour mart of the hand-made shop has rows to judge.
    behaviour_marts = {
        "marts.cohort_activity",
        "marts.cohort_retention",
        "marts.cohort_retention_average",
        "marts.historical_clv",
        "marts.lifecycle_monthly",
        "marts.purchase_behaviour_monthly",
        "marts.churn",
        "marts.repeat_purchase",
        "marts.rfm_scores",
        "marts.rfm_segments",
    }
    judged = (
        _verdicts(behaviour_shop)
        .filter(pl.col("expectation").str.contains("unique"))
        .filter(pl.col("suite").is_in(behaviour_marts))
    )
    assert set(judged["suite"]) == behaviour_marts
    assert judged["evaluated_rows"].min() > 0


def _gate_broken_copy(settings: Settings, tmp_path: Path, breakages: list[str]) -> set[Failure]:
    """The marts gate over a copy of a run's build database with `breakages` applied: the
    critical failures it records, as (suite, column); it must refuse the load."""
    copy = Settings(data_dir=tmp_path / "data", pii_key=TEST_PII_KEY)
    copy.paths.build_db.parent.mkdir(parents=True)
    shutil.copyfile(settings.paths.build_db, copy.paths.build_db)
    with duckdb.connect(str(copy.paths.build_db)) as connection:
        for statement in breakages:
            connection.execute(statement)
    with pytest.raises(GateError, match="marts gate refused the load"):
        quality.gate_marts(copy, _as_of(settings))
    with duckdb.connect(str(copy.paths.build_db), read_only=True) as connection:
        failed = connection.sql(
            "select suite, coalesce(column_name, expectation) from ops.gate_results"
            " where not success and severity = 'critical'"
        ).fetchall()
    return set(failed)


def _as_of(settings: Settings) -> dt.date:
    return query(settings, "select max(as_of) from ops.releases")[0][0]


def test_the_behaviour_suites_catch_broken_rows(behaviour_shop: Settings, tmp_path: Path) -> None:
    breakages = {
        # One more dormant customer than the classes allow (and than the segments add up to).
        "update marts.cohort_activity set dormant_customers = dormant_customers + 1"
        " where segment = 'all' and cohort_month = date '2025-01-01'"
        " and period_month = date '2025-03-01'": {
            ("marts.cohort_activity", "lifecycle_classes_add_up"),
            ("marts.cohort_activity.segment_value_sums", "dormant_customers_gap"),
        },
        # E's cohort (June, the month of the as-of date) has no observable July: 0 there
        # would read as "nobody came back".
        "update marts.cohort_retention set active_customers = 0, retention_rate = 0"
        " where segment = 'all' and cohort_month = date '2025-06-01' and period_index = 1": {
            ("marts.cohort_retention", "null_means_unobservable"),
        },
        # Moldova's May row of the 90-day churn is lost: S = 1 (G), E = 3 (D, G, H), one
        # new (H) and one reactivated (D) go missing from the country breakdown.
        "delete from marts.churn where churn_window = '90d' and period_grain = 'month'"
        " and period_start = date '2025-05-01' and segment = 'country'"
        " and segment_value = 'MD'": {
            ("marts.churn.segment_value_sums", f"{count}_gap")
            for count in ("customers_start", "customers_end", "new_customers")
        }
        | {("marts.churn.segment_value_sums", "reactivated_customers_gap")},
        "update marts.rfm_scores set rfm_segment = 'vip' where customer_id = 'A'": {
            ("marts.rfm_scores", "rfm_segment"),
        },
        # A duplicated overall row: the grain, and the overall count against the segments.
        "insert into marts.repeat_purchase select * from marts.repeat_purchase"
        " where purchase_window = 'lifetime' and segment = 'all'": {
            ("marts.repeat_purchase", "purchase_window, segment, segment_value"),
            ("marts.repeat_purchase.segment_value_sums", "buyers_gap"),
            ("marts.repeat_purchase.segment_value_sums", "repeat_buyers_gap"),
        },
    }
    failed = _gate_broken_copy(behaviour_shop, tmp_path, list(breakages))
    assert failed == set().union(*breakages.values())


def _first_row(table: str, where: str) -> str:
    """A condition picking one row of `table` that satisfies `where`."""
    return f"rowid = (select min(rowid) from {table} where {where})"


@pytest.mark.integration
def test_the_survey_clv_and_ops_suites_catch_broken_rows(
    generated_run: Settings, tmp_path: Path
) -> None:
    scores = "marts.survey_scores_by_period"
    drivers = "marts.key_drivers"
    loyalty = "marts.customer_loyalty"
    evaluation = "marts.programme_evaluation"
    rates = "marts.comment_rate"
    overall_rows = "language = 'all' and nps_class = 'all'"
    breakages = {
        # A headline NPS shown for a group too small to headline.
        f"update {scores} set nps_headline = nps where {_first_row(scores, 'is_small_sample')}": {
            (scores, "headline_unless_small"),
        },
        # One driver's importance doubled: the group's importances no longer sum to 1.
        f"update {drivers} set importance = 2 * importance"
        f" where {_first_row(drivers, 'importance between 0.05 and 0.45')}": {
            ("marts.key_drivers.shares", "importance_sum"),
        },
        f"update {loyalty} set cli = 120 where {_first_row(loyalty, 'cli is not null')}": {
            (loyalty, "cli"),
        },
        # An interval that does not hold its estimate.
        f"update {evaluation} set lift_ci_low = lift_ci_high, lift_ci_high = lift_ci_low"
        f" where programme_arm = 'variant_a' and metric = 'revenue_per_customer'": {
            (evaluation, "lift_within_its_interval"),
        },
        # More comments than responses in a month's overall row: the language and class
        # breakdowns no longer add up to it either.
        f"update {rates} set comments_n = responses_n + 1"
        f" where {_first_row(rates, overall_rows)}": {
            (rates, "comments_within_responses"),
            ("marts.comment_rate.language_sums", "comments_n_gap"),
            ("marts.comment_rate.nps_class_sums", "comments_n_gap"),
        },
        "update marts.customer_clv set p_alive = 1.5"
        " where customer_id = (select min(customer_id) from marts.customer_clv)": {
            ("marts.customer_clv", "p_alive"),
        },
        # One customer too many in a cohort's overall row.
        "update marts.clv_by_cohort set customers_n = customers_n + 1"
        " where segment = 'all'"
        " and cohort_month = (select min(cohort_month) from marts.clv_by_cohort)": {
            ("marts.clv_by_cohort", "per_customer_is_total_over_customers"),
            ("marts.clv_by_cohort.segment_value_sums", "customers_n_gap"),
        },
        "update ops.load_audit set is_balanced = false"
        " where export_date = (select min(export_date) from ops.load_audit)": {
            ("ops.load_audit", "is_balanced"),
        },
    }
    failed = _gate_broken_copy(generated_run, tmp_path, list(breakages))
    assert failed == set().union(*breakages.values())


def test_published_counts_are_not_hugeint(behaviour_shop: Settings) -> None:
    # DuckDB sums bigints to hugeint (int128), which BI drivers and Parquet readers
    # handle badly; the models cast their sums back.
    assert (
        query(
            behaviour_shop,
            "select table_name, column_name from information_schema.columns"
            " where data_type = 'HUGEINT'",
        )
        == []
    )
