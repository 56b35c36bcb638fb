"""What each built layer was built from, so that no step builds on inputs another run
replaced after this run's own earlier steps made them.

Steps of two runs may interleave (a backfill beside the nightly run; see
`pipelines.build_lock`, which keeps them from overlapping). Each layer after staging
carries a manifest:

    facts/manifest.json   {"as_of", "id", "inputs": {"staging": snapshot}, "passed_gate"}
    clv/manifest.json     {"as_of", "id", "inputs": {"facts": id}}
    build/manifest.json   {"as_of", "id", "inputs": {"facts": id, "clv": id}, "passed_gate"}

A step removes its layer's manifest before it writes and writes a new one once every
table is in place, so a layer a step was killed in has none. A step reads an input only
when the input's manifest is for this run's as-of date and, where a gate judges the
input, the gate passed it. Otherwise another run rebuilt the input in between, as of a
newer delivery or not yet judged: that run goes on to judge and publish it, and this one
stops as superseded (`SupersededError`; the DAG marks the rest of the run skipped).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines import deliveries, snapshots, storage
from pipelines.config import Layout
from pipelines.errors import MissingInputError, SupersededError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Built:
    """One build of a layer: its as-of date, a unique id, the ids of what it read."""

    as_of: dt.date
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    inputs: dict[str, str] = field(default_factory=dict)
    passed_gate: bool = False


def begin(directory: Path) -> None:
    """Mark the layer in `directory` as being written: no step may read it until `finish`."""
    (directory / MANIFEST).unlink(missing_ok=True)


def finish(directory: Path, as_of: dt.date, inputs: dict[str, str]) -> Built:
    built = Built(as_of, inputs=inputs)
    _write(directory, built)
    return built


def mark_passed(directory: Path, layer: str, as_of: dt.date) -> None:
    """Record that the gate passed the build it judged (the one of this run's as-of)."""
    built = require(directory, layer, as_of, gated=False)
    _write(directory, Built(built.as_of, built.id, built.inputs, passed_gate=True))


def require(directory: Path, layer: str, as_of: dt.date, gated: bool) -> Built:
    """The current build of `layer` when this run may read it, else why not."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise MissingInputError(
            f"{layer} in {directory} is not complete (not built yet, or a step was stopped "
            f"while writing it): build it as of {as_of} first"
        )
    record = json.loads(manifest.read_text())
    built = Built(
        dt.date.fromisoformat(record["as_of"]),
        record["id"],
        record["inputs"],
        record["passed_gate"],
    )
    if built.as_of != as_of:
        raise SupersededError(
            f"{layer} was rebuilt as of {built.as_of} by another run after this run (as of "
            f"{as_of}) built it; that run publishes it"
        )
    if gated and not built.passed_gate:
        raise SupersededError(
            f"{layer} was rebuilt by another run after this run's gate judged it, and has "
            "not been judged yet; that run judges and publishes it"
        )
    return built


def require_newest_delivery(layout: Layout, as_of: dt.date) -> None:
    """A run builds as of the newest accepted delivery; once another run has accepted a
    newer one (or taken this date back to load it again), that run builds instead."""
    newest = deliveries.newest(layout)
    if newest is not None and newest != as_of:
        raise SupersededError(
            f"the newest accepted delivery is now {newest}, accepted by another run after "
            f"this run's raw gate (as of {as_of}); that run builds and publishes it"
        )


def require_current_staging(layout: Layout, as_of: dt.date) -> str:
    """The id of the staging snapshot when it holds exactly the deliveries accepted up
    to `as_of`."""
    require_newest_delivery(layout, as_of)
    staged = snapshots.current_deliveries(layout)
    if staged is None:
        raise MissingInputError(f"staging is not built yet: stage as of {as_of} first")
    if staged != deliveries.accepted(layout, as_of):
        raise SupersededError(
            f"staging does not hold the deliveries accepted up to {as_of}: another run "
            "changed them after this run staged them; that run stages and publishes them"
        )
    return snapshots.current_id(layout)


def _write(directory: Path, built: Built) -> None:
    record = {**asdict(built), "as_of": built.as_of.isoformat()}
    storage.write_text_atomic(json.dumps(record, indent=1), directory / MANIFEST)
