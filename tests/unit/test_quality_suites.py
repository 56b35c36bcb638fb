"""The suites in expectations/: each readable, each expectation with a severity, each
table it names gated by the right gate, every published model gated; and the cross-row
checks a suite's meta declares."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from pipelines import models
from pipelines.config import SOURCES, Settings
from pipelines.errors import LoyaltyError
from pipelines.publish import PUBLISHED_SCHEMAS
from pipelines.quality import totals
from pipelines.quality.suites import load_suite, load_suites, suite_parameters


def test_every_suite_loads_and_states_each_severity(settings: Settings) -> None:
    suites = load_suites(settings)
    for suite in suites:
        raw = json.loads(suite.path.read_text())
        # GX would default a missing severity to critical: the files say it explicitly.
        assert all("severity" in expectation for expectation in raw["expectations"]), suite.name
    gates = {suite.name: suite.gate for suite in suites}
    assert {f"raw.{source}" for source in SOURCES} | {"checks.deliveries"} == {
        name for name, gate in gates.items() if gate == "raw"
    }
    assert {"facts.customer_month", "checks.integrity"} == {
        name for name, gate in gates.items() if gate == "facts"
    }


def test_every_published_model_has_a_suite_and_every_suite_a_table(settings: Settings) -> None:
    published = {model.table for model in models.discover() if model.schema in PUBLISHED_SCHEMAS}
    marts_gate = {suite.name for suite in load_suites(settings) if suite.gate == "marts"}
    assert marts_gate == published


def _suite_file(tmp_path: Path, name: str, expectation: dict[str, object]) -> Path:
    path = tmp_path / f"{name}.json"
    document = {"name": "marts.toy", "meta": {"grain": ["k"]}, "expectations": [expectation]}
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("name", "change", "problem"),
    [
        ("marts.toy", lambda e: e.pop("severity"), "needs a severity: one of critical, warning"),
        (
            "marts.toy",
            lambda e: e["kwargs"].update(min_value={"$PARAMETER": "nope"}),
            r"unknown \$PARAMETER\(s\) nope",
        ),
        ("marts.other", lambda e: None, "the suite's name must be the file's name, 'marts.other'"),
    ],
)
def test_a_suite_that_could_be_misread_is_refused(
    settings: Settings,
    tmp_path: Path,
    name: str,
    change: Callable[[dict[str, object]], object],
    problem: str,
) -> None:
    expectation: dict[str, object] = {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "value", "min_value": 0},
        "severity": "critical",
    }
    change(expectation)
    with pytest.raises(LoyaltyError, match=problem):
        load_suite(_suite_file(tmp_path, name, expectation), set(suite_parameters(settings)))


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (
            {"partitions": [{"by": [], "parts": [], "counts": ["n"], "severity": "critical"}]},
            r"meta.partitions\[1\].parts names no column",
        ),
        (
            {"partitions": [{"by": ["m"], "parts": ["segment"], "counts": ["n"]}]},
            r"meta.partitions\[1\] needs a severity",
        ),
        (
            {"shares": [{"by": "m", "columns": ["share"], "severity": "warning"}]},
            r"meta.shares\[1\].by must be a list of column names",
        ),
    ],
)
def test_a_cross_row_check_that_could_be_misread_is_refused(
    tmp_path: Path, meta: dict[str, object], problem: str
) -> None:
    path = tmp_path / "marts.toy.json"
    path.write_text(
        json.dumps({"name": "marts.toy", "meta": {"grain": ["k"], **meta}, "expectations": []})
    )
    with pytest.raises(LoyaltyError, match=problem):
        load_suite(path, set())


# Month 1: countries RO 6 + MD 4 = 10 = all; channels web 5 + app 4 = 9, one short.
# Month 2: all 3, RO 3; no channel row at all: the breakdown is missing, -3.
# Month 3: a channel row (2) without an overall row: +2.
SEGMENTED = pl.DataFrame(
    {
        "month": [1, 1, 1, 1, 1, 2, 2, 3],
        "segment": ["all", "country", "country", "channel", "channel", "all", "country", "channel"],
        "segment_value": ["all", "RO", "MD", "web", "app", "all", "RO", "web"],
        "n": [10, 6, 4, 5, 4, 3, 3, 2],
    }
)


def test_a_partition_gives_each_breakdowns_gap_to_its_total() -> None:
    partition = totals.Partition(["month"], ["segment", "segment_value"], ["n"], "critical")
    gaps = partition.frame(SEGMENTED.lazy()).sort("month", "segment").collect()
    assert gaps.rows() == [
        (1, "channel", -1),
        (1, "country", 0),
        (2, "channel", -3),
        (2, "country", 0),
        (3, "channel", 2),
    ]


def test_a_partition_without_by_has_one_total() -> None:
    # Classes 2 + 2 against 5 overall.
    classes = pl.DataFrame({"nps_class": ["all", "promoter", "detractor"], "n": [5, 2, 2]})
    partition = totals.Partition([], ["nps_class"], ["n"], "critical")
    assert partition.frame(classes.lazy()).collect().rows() == [(-1,)]


def test_shares_sum_per_group_and_a_group_without_any_is_not_judged() -> None:
    shares = pl.DataFrame({"group": [1, 1, 2, 2, 3], "share": [0.25, 0.75, 0.5, 0.25, None]})
    sums = totals.Shares(["group"], ["share"], "critical").frame(shares.lazy())
    assert sums.sort("group").collect().rows() == [(1, 1.0), (2, 0.75), (3, None)]


def test_each_cross_row_check_becomes_a_suite_of_its_own(settings: Settings) -> None:
    suite = next(s for s in load_suites(settings) if s.name == "marts.comment_rate")
    generated = {derived.name: derived for derived, _ in suite.cross_row_suites()}
    assert set(generated) == {
        "marts.comment_rate.language_sums",
        "marts.comment_rate.nps_class_sums",
    }
    language = generated["marts.comment_rate.language_sums"]
    assert language.grain == ["period_grain", "period", "nps_class"]
    assert {e["kwargs"]["column"] for e in language.expectations} == {
        "responses_n_gap",
        "comments_n_gap",
    }
    assert {e["severity"] for e in language.expectations} == {"critical"}
