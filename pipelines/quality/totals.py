"""Checks across rows, declared in a suite's `meta` and judged by Great Expectations.

Many marts hold totals and their breakdowns in one table: the `all` segment and one row
per segment value, the `all` class and one row per class. GX judges rows one at a time, so
two `meta` entries declare what must add up, instead of a hand-written check per mart:

- `partitions`: `[{"by": [...], "parts": [...], "counts": [...], "severity": ...}]`. The
  total rows are those whose `parts` columns all hold `'all'`; the other rows are its
  breakdowns, one per value of every `parts` column but the last (per `segment` for
  `["segment", "segment_value"]`). For each value of `by`, each breakdown's `counts`
  summed must equal the total row's. A breakdown missing for a total (or a total missing
  for a breakdown) counts as 0, so a dropped segment fails too.
- `shares`: `[{"by": [...], "columns": [...], "severity": ...}]`. Each column sums to 1
  over the rows of each value of `by` (a group where it is NULL throughout is not judged).

Each entry becomes a small frame computed in Polars from the gated table (one row per total
and breakdown, or per group) and a generated suite with one expectation per column, named
`<suite>.<last part>_sums` or `<suite>.shares`, whose results are recorded like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

TOTAL = "all"  # the value a breakdown column holds on a total row
SHARE_TOLERANCE = 1e-9  # shares are doubles: they sum to 1 up to rounding


@dataclass(frozen=True)
class Partition:
    by: list[str]
    parts: list[str]
    counts: list[str]
    severity: str

    @property
    def suffix(self) -> str:
        return f"{self.parts[-1]}_sums"

    @property
    def grain(self) -> list[str]:
        return [*self.by, *self.parts[:-1]]

    def frame(self, table: pl.LazyFrame) -> pl.LazyFrame:
        """One row per total and breakdown: `<count>_gap` = breakdown sum - total."""
        is_total = pl.all_horizontal(pl.col(part) == TOTAL for part in self.parts).fill_null(False)
        breakdowns = table.filter(~is_total).select(*self.grain, *self.counts)
        # Each total, negated, once under every breakdown: summed with the breakdown's rows
        # it leaves the gap, and a breakdown missing under a total leaves minus the total.
        totals = table.filter(is_total).select(
            *self.by, *(-pl.col(count).alias(count) for count in self.counts)
        )
        if self.parts[:-1]:
            totals = totals.join(breakdowns.select(self.parts[:-1]).unique(), how="cross")
        both = pl.concat([breakdowns, totals.select(*self.grain, *self.counts)])
        gaps = [pl.col(count).sum().alias(f"{count}_gap") for count in self.counts]
        return both.group_by(*self.grain).agg(gaps) if self.grain else both.select(gaps)

    def expectations(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": f"{count}_gap", "min_value": 0, "max_value": 0},
                "severity": self.severity,
                "notes": f"{count} of each breakdown by {', '.join(self.parts)} adds up to "
                f"the '{TOTAL}' row (a gap is breakdown - total).",
            }
            for count in self.counts
        ]


@dataclass(frozen=True)
class Shares:
    by: list[str]
    columns: list[str]
    severity: str

    suffix = "shares"

    @property
    def grain(self) -> list[str]:
        return list(self.by)

    def frame(self, table: pl.LazyFrame) -> pl.LazyFrame:
        """One row per group: `<column>_sum`, NULL where the column is NULL throughout."""
        return table.group_by(*self.by).agg(
            pl.when(pl.col(column).count() > 0).then(pl.col(column).sum()).alias(f"{column}_sum")
            for column in self.columns
        )

    def expectations(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {
                    "column": f"{column}_sum",
                    "min_value": 1 - SHARE_TOLERANCE,
                    "max_value": 1 + SHARE_TOLERANCE,
                },
                "severity": self.severity,
                "notes": f"{column} sums to 1 over each group of {', '.join(self.by)}.",
            }
            for column in self.columns
        ]


Total = Partition | Shares


def declared(meta: Mapping[str, Any]) -> list[Total]:
    """The cross-row checks a suite's `meta` declares (assumed valid: see `problems`)."""
    return [
        *(
            Partition(entry["by"], entry["parts"], entry["counts"], entry["severity"])
            for entry in meta.get("partitions", [])
        ),
        *(
            Shares(entry["by"], entry["columns"], entry["severity"])
            for entry in meta.get("shares", [])
        ),
    ]


def document(suite_name: str, total: Total) -> dict[str, Any]:
    """The generated suite of one declared check."""
    return {
        "name": f"{suite_name}.{total.suffix}",
        "meta": {"description": f"Totals of {suite_name} across rows.", "grain": total.grain},
        "expectations": total.expectations(),
    }


def problems(meta: Mapping[str, Any], severities: tuple[str, ...]) -> list[str]:
    """What is wrong with the `partitions` and `shares` entries of a suite's meta."""
    found = []
    fields = {"partitions": ("by", "parts", "counts"), "shares": ("by", "columns")}
    for key, lists in fields.items():
        entries = meta.get(key, [])
        if not isinstance(entries, list):
            found.append(f"meta.{key} must be a list")
            continue
        for position, entry in enumerate(entries, start=1):
            found += _entry_problems(f"meta.{key}[{position}]", entry, lists, severities)
    if not found:
        suffixes = [total.suffix for total in declared(meta)]
        if len(suffixes) != len(set(suffixes)):
            found.append("two meta.partitions or meta.shares entries generate the same suite")
    return found


def _entry_problems(
    where: str, entry: object, lists: tuple[str, ...], severities: tuple[str, ...]
) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{where} must be an object"]
    found = [
        f"{where}.{name} must be a list of column names"
        for name in lists
        if not (isinstance(entry.get(name), list) and all(isinstance(v, str) for v in entry[name]))
    ]
    # `by` may be empty (one total for the whole table); the others must name a column.
    found += [f"{where}.{name} names no column" for name in lists[1:] if not entry.get(name)]
    if entry.get("severity") not in severities:
        found.append(f"{where} needs a severity: one of {', '.join(severities)}")
    return found
