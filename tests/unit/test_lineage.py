"""A step reads a layer only when it was built for the run's as-of date and, where a gate
judges it, passed; otherwise it says that another run replaced it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines import lineage
from pipelines.errors import MissingInputError, SupersededError

DAY = dt.date(2026, 10, 30)


def test_a_layer_being_written_cannot_be_read(tmp_path: Path) -> None:
    lineage.finish(tmp_path, DAY, {"staging": "s1"})
    lineage.begin(tmp_path)  # a step started writing, and was killed
    with pytest.raises(MissingInputError, match="not complete"):
        lineage.require(tmp_path, "facts", DAY, gated=False)


def test_a_layer_built_as_of_another_date_belongs_to_another_run(tmp_path: Path) -> None:
    lineage.finish(tmp_path, DAY + dt.timedelta(days=1), {"staging": "s2"})
    with pytest.raises(SupersededError, match="rebuilt as of 2026-10-31 by another run"):
        lineage.require(tmp_path, "facts", DAY, gated=False)


def test_a_gated_layer_is_read_only_once_its_gate_passed_it(tmp_path: Path) -> None:
    built = lineage.finish(tmp_path, DAY, {"staging": "s1"})
    with pytest.raises(SupersededError, match="not been judged"):
        lineage.require(tmp_path, "facts", DAY, gated=True)
    lineage.mark_passed(tmp_path, "facts", DAY)
    judged = lineage.require(tmp_path, "facts", DAY, gated=True)
    assert (judged.id, judged.inputs, judged.passed_gate) == (built.id, built.inputs, True)
    # A rebuild, by this run or another, must be judged again.
    rebuilt = lineage.finish(tmp_path, DAY, {"staging": "s1"})
    assert rebuilt.id != built.id
    with pytest.raises(SupersededError):
        lineage.require(tmp_path, "facts", DAY, gated=True)
