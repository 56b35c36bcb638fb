"""The invariants of the behaviour marts, read from docs/metrics.md ("Invariants (for the
quality gate)") so that the documented statements are exactly the tested ones, checked on
the hand-made shop and on generated data."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import models
from pipelines.config import Settings
from tests.sql.behaviour_reference import query

METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
SECTION = "## Invariants (for the quality gate)"
# Survey and predictive-CLV marts state their invariants in prose ("### Survey marts",
# and docs/metrics.md "Predictive CLV"); they are checked by their own tests.
NOT_BEHAVIOUR_MARTS = {
    "marts.nps_monthly",
    "marts.survey_scores_by_period",
    "marts.key_drivers",
    "marts.nps_by_enrolment_month",
    "marts.comment_rate",
    "marts.comment_terms",
    "marts.survey_linkage",
    "marts.customer_loyalty",
    "marts.loyalty_by_segment",
    "marts.churn_by_nps_class",
    "marts.clv_by_nps_class",
    "marts.programme_evaluation",
    "marts.customer_clv",
    "marts.clv_by_cohort",
}
SHOPS = ["behaviour_shop", pytest.param("generated_behaviour_run", marks=pytest.mark.integration)]


def _tables() -> dict[str, list[list[str]]]:
    """The section's markdown tables, by their header, as rows of cells without backticks."""
    text = METRICS_DOC.read_text()
    section = text[text.index(SECTION) :].split("\n## ", 1)[0]
    tables: dict[str, list[list[str]]] = {}
    for block in section.split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if len(lines) < 3:
            continue
        header, *rows = (
            [cell.strip().strip("`") for cell in line.strip("|").split("|")]
            for line in lines[:1] + lines[2:]
        )
        tables[" | ".join(header)] = rows
    return tables


KEYS = {mart: key for mart, key in _tables()["mart | key"]}
CONDITIONS = [tuple(row) for row in _tables()["mart | condition"]]
PARTITIONS = _tables()["mart | grain without the segment | counts"]


def _violations(settings: Settings, mart: str, condition: str) -> int:
    return query(settings, f"select count(*) from {mart} where not ({condition})")[0][0]


def test_every_behaviour_mart_has_its_invariants_documented() -> None:
    marts = {model.table for model in models.discover() if model.schema == "marts"}
    behaviour_marts = marts - NOT_BEHAVIOUR_MARTS
    assert set(KEYS) == behaviour_marts
    assert {mart for mart, _ in CONDITIONS} == behaviour_marts
    assert len(CONDITIONS) >= 2 * len(behaviour_marts)


@pytest.mark.parametrize("shop", SHOPS)
def test_keys_are_unique_and_not_null(shop: str, request: pytest.FixtureRequest) -> None:
    settings: Settings = request.getfixturevalue(shop)
    for mart, key in KEYS.items():
        null_key = " or ".join(f"{column} is null" for column in key.split(", "))
        rows, distinct_keys, null_keys = query(
            settings,
            f"select count(*), count(distinct ({key})), count(*) filter (where {null_key})"
            f" from {mart}",
        )[0]
        assert rows > 0, mart
        assert (distinct_keys, null_keys) == (rows, 0), mart


@pytest.mark.parametrize("shop", SHOPS)
def test_row_conditions_hold(shop: str, request: pytest.FixtureRequest) -> None:
    settings: Settings = request.getfixturevalue(shop)
    failing = {
        (mart, condition): count
        for mart, condition in CONDITIONS
        if (count := _violations(settings, mart, condition))
    }
    assert failing == {}


@pytest.mark.parametrize("shop", SHOPS)
def test_segments_partition_the_population(shop: str, request: pytest.FixtureRequest) -> None:
    settings: Settings = request.getfixturevalue(shop)
    for mart, grain, counts in PARTITIONS:
        sums = ", ".join(f"sum({count})" for count in counts.split(", "))
        by_segment = query(
            settings, f"select {grain}, segment, {sums} from {mart} group by {grain}, segment"
        )
        width = len(grain.split(", "))
        overall = {row[:width]: row[width + 1 :] for row in by_segment if row[width] == "all"}
        segments = {row[width] for row in by_segment}
        assert segments == {
            "all",
            "country",
            "acquisition_channel",
            "age_band",
            "is_loyalty_member",
            "programme_arm",
        }, mart
        for row in by_segment:
            assert row[width + 1 :] == overall[row[:width]], (mart, row)


def test_the_checks_can_fail(behaviour_shop: Settings) -> None:
    # The January cohort retains 1/3 in February: a false statement is caught.
    assert _violations(behaviour_shop, "marts.cohort_retention", "retention_rate = 1") > 0


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
