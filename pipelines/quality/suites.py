"""The expectation suites: one JSON file per gated table under `expectations/`.

A file `expectations/<schema>.<table>.json` is a Great Expectations suite named after the
table it gates. Its schema decides the gate: `raw.*` after extract, `facts.*` after the
facts, every other schema (`marts.*`, ...) after the SQL models. `checks.*` suites gate
the small frames of batch-level numbers computed in `pipelines.quality.checks`.

Beyond plain GX, a suite file carries in its `meta`:
- `grain`: the columns that identify a row. Failure samples name them, and a table
  too big for one pass is split on the first of them, so rows that share it are checked
  together (a compound uniqueness check stays exact).
- `derived_columns` (optional): `name -> SQL expression` computed while reading, for
  invariants across columns, e.g. counts that must add up.
- `partitions`, `shares` (optional): invariants across rows, e.g. the segment values'
  counts that add up to the `all` row; each becomes a generated suite over a small
  derived frame (`pipelines.quality.totals`).
and every expectation states its `severity`: `critical` stops the run before publish,
`warning` (or `info`) is recorded and the run goes on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pipelines import sources
from pipelines.config import SURVEY_DRIVERS, Settings
from pipelines.errors import LoyaltyError
from pipelines.quality import totals

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
SEVERITIES = ("critical", "warning", "info")
COLUMN_ARGUMENTS = ("column", "column_A", "column_B", "column_list")

Gate = Literal["raw", "facts", "marts"]
# The check frames and the gate that computes them; every other schema names its gate.
CHECK_FRAME_GATES: dict[str, Gate] = {"checks.deliveries": "raw", "checks.integrity": "facts"}


@dataclass(frozen=True)
class Suite:
    name: str  # = the table it gates, e.g. "marts.nps_monthly"
    path: Path
    document: dict[str, Any]  # the GX suite as stored

    @property
    def gate(self) -> Gate:
        if self.name in CHECK_FRAME_GATES:
            return CHECK_FRAME_GATES[self.name]
        schema = self.name.split(".")[0]
        return schema if schema in ("raw", "facts") else "marts"  # type: ignore[return-value]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def grain(self) -> list[str]:
        return list(self.document["meta"]["grain"])

    @property
    def derived_columns(self) -> dict[str, str]:
        return dict(self.document["meta"].get("derived_columns", {}))

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return list(self.document["expectations"])

    def columns(self) -> list[str]:
        """Delivered columns the suite reads (the grain first), derived ones excluded."""
        named = [
            name
            for expectation in self.expectations
            for argument in COLUMN_ARGUMENTS
            for name in _as_list(expectation["kwargs"].get(argument))
        ]
        return [
            name
            for name in dict.fromkeys([*self.grain, *named])
            if name not in self.derived_columns
        ]

    def parameters(self) -> set[str]:
        return {
            name for expectation in self.expectations for name in _parameters(expectation["kwargs"])
        }

    def digest(self, parameters: dict[str, object]) -> str:
        """Changes with the suite, the values of the parameters it reads, or the version of
        Great Expectations: what a verdict on unchanged data depends on."""
        judged_by = [
            self.document,
            {name: parameters.get(name) for name in sorted(self.parameters())},
            metadata.version("great_expectations"),
        ]
        return hashlib.sha256(
            json.dumps(judged_by, sort_keys=True, default=str).encode()
        ).hexdigest()

    def cross_row_suites(self) -> list[tuple[Suite, totals.Total]]:
        """The generated suite of each cross-row check the meta declares, with the check
        (which computes the frame that suite judges from this suite's table)."""
        generated = []
        for total in totals.declared(self.document["meta"]):
            document = totals.document(self.name, total)
            generated.append((Suite(document["name"], self.path, document), total))
        return generated


def suite_parameters(settings: Settings) -> dict[str, object]:
    """Values a suite refers to as {"$PARAMETER": name}: thresholds live in the settings
    and the contracts, never copied into JSON."""
    return {
        "currencies": sorted(settings.fx_rates),
        "order_statuses": list(sources.ORDER_STATUSES),
        "programme_arms": list(sources.PROGRAMME_ARMS),
        "max_order_amount": sources.ABSURD_AMOUNT,
        "volume_min_ratio": settings.volume_min_ratio,
        "volume_max_ratio": settings.volume_max_ratio,
        "max_quarantine_share": settings.max_quarantine_share,
        "freshness_max_lag_hours": settings.freshness_max_lag_hours,
        "max_held_order_share": settings.max_held_order_share,
        "min_linked_response_share": settings.min_linked_response_share,
        "nps_min_sample": settings.nps_min_sample,
        "comment_top_terms": settings.comment_top_terms,
        "survey_drivers": list(SURVEY_DRIVERS),
    }


def load_suites(settings: Settings, directory: Path = EXPECTATIONS_DIR) -> list[Suite]:
    known = set(suite_parameters(settings))
    return [load_suite(path, known) for path in sorted(directory.glob("*.json"))]


def load_suite(path: Path, known_parameters: set[str]) -> Suite:
    """Read a suite file and refuse one the gates could misread."""
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise LoyaltyError(f"{path}: not valid JSON: {error}") from None
    suite = Suite(name=path.stem, path=path, document=document)
    problems = list(_problems(suite, known_parameters))
    if problems:
        raise LoyaltyError(f"{path}: {'; '.join(problems)}")
    return suite


def _problems(suite: Suite, known_parameters: set[str]) -> Iterator[str]:
    document = suite.document
    if document.get("name") != suite.name:
        yield f"the suite's name must be the file's name, {suite.name!r}"
    if "." not in suite.name:
        yield "the file must be named <schema>.<table>.json"
    if not isinstance(document.get("meta", {}).get("grain"), list):
        yield "meta.grain (the columns that identify a row) is missing"
    yield from totals.problems(document.get("meta", {}), SEVERITIES)
    for position, expectation in enumerate(document.get("expectations", []), start=1):
        if expectation.get("severity") not in SEVERITIES:
            yield (
                f"expectation {position} ({expectation.get('type')}) needs a severity: "
                f"one of {', '.join(SEVERITIES)}"
            )
    unknown = suite.parameters() - known_parameters
    if unknown:
        yield f"unknown $PARAMETER(s) {', '.join(sorted(unknown))}"


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _parameters(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            yield str(value["$PARAMETER"])
        for item in value.values():
            yield from _parameters(item)
    elif isinstance(value, list):
        for item in value:
            yield from _parameters(item)
