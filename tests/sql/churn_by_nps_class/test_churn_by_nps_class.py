"""marts.churn_by_nps_class: hand-computed churn six months after answering, by class, and
cross-checked against Polars + scipy on generated data."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from scipy import stats

from pipelines.config import Settings
from tests.sql import harness
from tests.sql.harness import customer, purchase, response

AS_OF = dt.date(2025, 12, 31)
# January respondents are read on 2025-07-31, the end of July; with W = 90 days (the
# default churn window '90d', as marts.churn counts it: UTC days) a respondent is churned
# when their last purchase day is more than 90 days before, i.e. on or before 2025-05-01.
STAGING = {
    "customers": [customer(name) for name in ("P1", "P2", "D1", "D2", "D3", "X1", "N1", "Z1")],
    "orders": [
        purchase("P1", "2025-01-05"),  # churned
        purchase("P2", "2025-01-05"),
        purchase("P2", "2025-07-15"),  # bought again: not churned
        purchase("D1", "2025-01-03"),  # churned
        purchase("D2", "2025-01-03"),
        purchase("D2", "2025-05-01T23:00:00"),  # 91 days before 07-31: churned
        purchase("D3", "2025-01-03"),
        # Exactly 90 days: not "more than", a customer still, at any time of day.
        purchase("D3", "2025-05-02T23:59:59"),
        purchase("X1", "2025-01-02"),
        purchase("X1", "2025-08-15"),  # after the day the state is read: churned
        purchase("N1", "2025-07-01"),
    ],
    "survey_responses": [
        response("R1", "P1", "2025-01-10", 10),
        response("R2", "P2", "2025-01-20", 9),
        response("R3", "D1", "2025-01-04", 2),
        response("R4", "D2", "2025-01-04", 6),
        response("R5", "D3", "2025-01-04", 0),
        response("R6", "X1", "2025-01-05", 7),
        # July respondents are read at the end of January 2026: not observable yet.
        response("R7", "N1", "2025-07-02", 10),
        # Z1 never bought: no purchase history, so no churn to speak of.
        response("R8", "Z1", "2025-01-06", 3),
    ],
}


def _churn() -> dict[tuple[str, str], dict]:
    with harness.build(STAGING, AS_OF, ["marts.churn_by_nps_class"]) as connection:
        frame = connection.sql("from marts.churn_by_nps_class").pl()
    return {(row["period"], row["nps_class"]): row for row in frame.iter_rows(named=True)}


def test_hand_computed_churn_by_class_and_lift() -> None:
    churn = _churn()
    counts = {key: (row["respondents"], row["churned"]) for key, row in churn.items()}
    assert counts[("2025-01", "promoter")] == (2, 1)  # P1 churned, P2 not: 1 / 2
    assert counts[("2025-01", "detractor")] == (3, 2)  # D1, D2 churned, D3 not: 2 / 3
    assert counts[("2025-01", "passive")] == (1, 1)
    assert counts[("2025-01", "all")] == (6, 4)
    detractors = churn[("2025-01", "detractor")]
    assert detractors["evaluated_on"] == dt.date(2025, 7, 31)
    # Lift = (2/3) / (1/2) = 1.3333; log-RR se = sqrt(1/2 - 1/3 + 1/1 - 1/2) = 0.8165;
    # 95%: 1.3333 * exp(-+1.96 * 0.8165) = 1.3333 * (0.20183 .. 4.9547) = 0.26911 .. 6.6062.
    assert detractors["churn_lift_vs_promoters"] == pytest.approx(4 / 3)
    assert detractors["churn_lift_ci_low"] == pytest.approx(0.26911, abs=1e-4)
    assert detractors["churn_lift_ci_high"] == pytest.approx(6.6062, abs=1e-3)
    # Pooled rate (2 + 1) / (3 + 2) = 0.6: se = sqrt(0.6 * 0.4 * (1/3 + 1/2)) = 0.44721;
    # z = (0.6667 - 0.5) / 0.44721 = 0.3727; p = 2 * Phi(-0.3727) = 0.7094.
    assert detractors["churn_p_value"] == pytest.approx(0.70939, abs=1e-4)
    # July: counted, but six months later is after the as-of date: NULL, never 0.
    july = churn[("2025-07", "promoter")]
    assert (july["respondents"], july["churned"], july["is_observable"]) == (1, None, False)
    # Pooled over observable months: January only.
    assert (churn[("all", "all")]["respondents"], churn[("all", "all")]["churned"]) == (6, 4)


@pytest.mark.integration
def test_matches_polars_and_scipy_on_generated_data(generated_run: Settings) -> None:
    window, horizon = 30, 2  # short, so the six-month sample has observable months
    settings = Settings(
        data_dir=generated_run.data_dir,
        churn_windows={"30d": window},
        nps_churn_window="30d",
        nps_churn_horizon_months=horizon,
    )
    facts = {
        name: pl.read_parquet(settings.paths.fact_files(name))
        for name in ("customer_month", "orders")
    }
    with harness.warehouse(generated_run) as connection:
        as_of = connection.sql("select max(as_of) from ops.releases").fetchall()[0][0]
    respondents = facts["customer_month"].filter(pl.col("nps_class_latest").is_not_null())
    purchases = facts["orders"].filter("is_purchase").select("customer_id", "ordered_on")
    evaluated = respondents.with_columns(
        on=pl.col("period_month").dt.offset_by(f"{horizon + 1}mo").dt.offset_by("-1d")
    )
    states = (
        evaluated.join(purchases, on="customer_id")
        .filter(pl.col("ordered_on") <= pl.col("on"))
        .group_by("customer_id", "period_month", "nps_class_latest", "on")
        .agg(last=pl.col("ordered_on").max())
        .with_columns(churned=(pl.col("on") - pl.col("last")).dt.total_days() > window)
        # Observable: the state is read no later than the as-of date.
        .filter(pl.col("on") <= as_of)
    )
    expected = states.group_by("nps_class_latest").agg(n=pl.len(), churned=pl.col("churned").sum())
    counts = {cls: (n, churned) for cls, n, churned in expected.iter_rows()}
    with harness.build_from_facts(settings, as_of, ["marts.churn_by_nps_class"]) as connection:
        pooled = {
            row[0]: row[1:]
            for row in connection.sql(
                "select nps_class, respondents, churned, churn_p_value"
                " from marts.churn_by_nps_class where period = 'all'"
            ).fetchall()
        }
    for cls, (n, churned) in counts.items():
        assert pooled[cls][:2] == (n, churned), cls
    (n1, c1), (n2, c2) = counts["detractor"], counts["promoter"]
    pooled_rate = (c1 + c2) / (n1 + n2)
    z = (c1 / n1 - c2 / n2) / math.sqrt(pooled_rate * (1 - pooled_rate) * (1 / n1 + 1 / n2))
    assert pooled["detractor"][2] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
