"""The suites in expectations/: each readable, each expectation with a severity, each
table it names gated by the right gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines import models
from pipelines.config import SOURCES, Settings
from pipelines.errors import LoyaltyError
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


def test_every_mart_suite_gates_a_model_that_exists(settings: Settings) -> None:
    tables = {model.table for model in models.discover()}
    marts = [suite.name for suite in load_suites(settings) if suite.gate == "marts"]
    assert {"marts.nps_monthly", "marts.cohort_retention"} <= set(marts)
    assert set(marts) <= tables


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
