"""Great Expectations, wrapped: validate a suite over a table handed over in chunks, keep
the full result and render it in Data Docs.

GX 1.x has no Polars or DuckDB engine here, so tables reach it as pandas frames of at most
`gate_chunk_rows` rows (see `pipelines.quality.tables`). The verdicts of the chunks are
merged per expectation: counts add up, samples are pooled, and `mostly` is judged on the
totals. An expectation about the whole table (a row count, a mean) cannot be judged chunk
by chunk: on a table that needs more than one chunk it fails and says so.

This is the only module that imports great_expectations, which takes seconds: it is
imported when a gate opens a `Validator`, never when the DAG is parsed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.quality.suites import Suite

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

SAMPLE_SIZE = 5  # failing values kept per expectation
RESULT_FORMAT = "SUMMARY"
# Results the Data Docs index links, newest first (a nightly run makes about 60). GX reads
# every result it links each time it renders the index: with all 35 days kept, the index
# took longer than validating (demo: 20 s more per gate). Older pages stay on disk for
# `quality_history_days`, linked from ops.gate_results and from a refusal's message.
INDEX_RESULTS = 120
# A gate run's results sit in folders named after the run: <gate>_<date>.
_RUN_FOLDER = re.compile(r"(?:raw|facts|marts)_(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict on one table."""

    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    evaluated_rows: int | None
    failed_rows: int | None
    observed_value: str | None
    samples: list[str] = field(default_factory=list)
    problem: str | None = None  # why it could not be evaluated

    @property
    def is_critical_failure(self) -> bool:
        return not self.success and self.severity == "critical"


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    outcomes: list[Outcome]
    chunks: int
    page: str  # the Data Docs page of the full result


class Validator:
    """One gate run: a GX context whose results and Data Docs are files under `quality_dir`.

    Expectation suites and data sources live in memory for the run (the suites' source of
    truth is `expectations/`); validation results go to `quality_dir/validations/` and the
    Data Docs site to `quality_dir/data_docs/`.
    """

    def __init__(self, quality_dir: Path, run_name: str, batch_name: str) -> None:
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch under HASH_THRESHOLD bytes (an md5 of
        # `hash_pandas_object` over all its rows) only to name the batch in the result's
        # markers; there is no setting for it. Our batches are named by suite and chunk, and
        # on M that hashing was half of the facts gate (36 -> 19 s without it).
        pandas_execution_engine.HASH_THRESHOLD = 0
        self._gx = gx
        self._context = gx.get_context(
            project_config=_context_config(quality_dir), mode="ephemeral"
        )
        self._data_source = self._context.data_sources.add_pandas("gated_tables")
        # Wall-clock time only names the result files; it decides nothing.
        self._run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
        self._batch_name = batch_name
        self._keys: list[Any] = []
        self._quality_dir = quality_dir
        self.index = quality_dir / "data_docs" / "index.html"

    def validate(
        self, suite: Suite, chunks: Iterable[pd.DataFrame], parameters: Mapping[str, object]
    ) -> SuiteResult:
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        gx_suite = self._context.suites.add(self._gx.ExpectationSuite(**suite.document))
        batch_definition = self._data_source.add_dataframe_asset(
            suite.name
        ).add_batch_definition_whole_dataframe("whole table")
        result_format = {
            "result_format": RESULT_FORMAT,
            "partial_unexpected_count": SAMPLE_SIZE,
            "unexpected_index_column_names": suite.grain,
        }
        results = [
            batch_definition.get_batch(batch_parameters={"dataframe": chunk}).validate(
                gx_suite, result_format=result_format, expectation_parameters=dict(parameters)
            )
            for chunk in chunks
        ]
        merged = _merge_chunks(results)
        merged.meta["run_id"] = self._run_id
        key = ValidationResultIdentifier(
            ExpectationSuiteIdentifier(suite.name), self._run_id, self._batch_name
        )
        self._context.validation_results_store.set(key, merged)
        self._keys.append(key)
        page = self._context.get_docs_sites_urls(resource_identifier=key, only_if_exists=False)
        # In the suite's order, so the first failure named is the first one its author wrote.
        position = {str(expectation.id): i for i, expectation in enumerate(gx_suite.expectations)}
        in_order = sorted(merged.results, key=lambda r: position[str(r.expectation_config.id)])
        return SuiteResult(
            suite=suite.name,
            outcomes=[_outcome(suite.name, result) for result in in_order],
            chunks=len(results),
            page=str(page[0]["site_url"]),
        )

    def build_data_docs(self, forget_before: dt.date) -> None:
        """Render this run's results once, after the last suite, and rebuild the site's
        index without the runs of dates before `forget_before` (its cost grows with them)."""
        for folder, run_date in self._run_folders():
            if run_date < forget_before:
                shutil.rmtree(folder)
        if self._keys:
            self._context.build_data_docs(resource_identifiers=self._keys)

    def _run_folders(self) -> list[tuple[Path, dt.date]]:
        roots = [self._quality_dir / "validations", self._quality_dir / "data_docs" / "validations"]
        return [
            (folder, dt.date.fromisoformat(match.group(1)))
            for root in roots
            if root.is_dir()
            for folder in root.rglob("*_*")
            if folder.is_dir() and (match := _RUN_FOLDER.fullmatch(folder.name))
        ]


def _context_config(quality_dir: Path) -> Any:
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig

    in_memory = {"class_name": "InMemoryStoreBackend"}
    return DataContextConfig(
        stores={
            "expectations_store": {"class_name": "ExpectationsStore", "store_backend": in_memory},
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(quality_dir / "validations"),
                },
            },
            "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": in_memory},
            "validation_definition_store": {
                "class_name": "ValidationDefinitionStore",
                "store_backend": in_memory,
            },
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(quality_dir / "data_docs"),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "validation_results_limit": INDEX_RESULTS,
                },
            }
        },
        analytics_enabled=False,  # a nightly job does not phone home
        progress_bars=ProgressBarsConfig(globally=False),
    )


def _merge_chunks(
    results: list[ExpectationSuiteValidationResult],
) -> ExpectationSuiteValidationResult:
    """One suite result from the results of its chunks, expectation by expectation."""
    from great_expectations.core import ExpectationSuiteValidationResult

    if len(results) == 1:
        return results[0]
    first = results[0]
    by_expectation: dict[str, list[ExpectationValidationResult]] = {}
    for result in results:
        for part in result.results:
            by_expectation.setdefault(str(part.expectation_config.id), []).append(part)
    merged = [_merge_expectation(parts) for parts in by_expectation.values()]
    successes = sum(result.success for result in merged)
    return ExpectationSuiteValidationResult(
        success=successes == len(merged),
        results=merged,
        suite_name=first.suite_name,
        suite_parameters=first.suite_parameters,
        statistics={
            "evaluated_expectations": len(merged),
            "successful_expectations": successes,
            "unsuccessful_expectations": len(merged) - successes,
            "success_percent": 100 * successes / len(merged) if merged else None,
        },
        meta={**first.meta, "chunks": len(results)},
        batch_id=first.batch_id,
    )


def _merge_expectation(parts: list[ExpectationValidationResult]) -> ExpectationValidationResult:
    from great_expectations.core import ExpectationValidationResult

    first = parts[0]
    for part in parts:
        if _exception_message(part.exception_info):
            return part
    if not all("unexpected_count" in part.result for part in parts):
        return ExpectationValidationResult(
            success=False,
            expectation_config=first.expectation_config,
            result={},
            exception_info={
                "raised_exception": True,
                "exception_message": (
                    f"judges the whole table, which is checked in {len(parts)} chunks: "
                    "compute the number in pipelines/quality/checks.py and gate it there"
                ),
                "exception_traceback": None,
            },
        )
    elements = sum(part.result["element_count"] for part in parts)
    unexpected = sum(part.result["unexpected_count"] for part in parts)
    missing = sum(part.result.get("missing_count") or 0 for part in parts)
    present = elements - missing
    mostly = float(first.expectation_config.kwargs.get("mostly", 1.0))
    # GX's own rule, on the totals: the share of present values that pass is >= mostly.
    success = unexpected == 0 or (present > 0 and (present - unexpected) / present >= mostly)
    result = {
        "element_count": elements,
        "unexpected_count": unexpected,
        "missing_count": missing,
        "unexpected_percent": 100 * unexpected / present if present else None,
        "missing_percent": 100 * missing / elements if elements else None,
        "partial_unexpected_list": _pooled(parts, "partial_unexpected_list"),
        "partial_unexpected_index_list": _pooled(parts, "partial_unexpected_index_list"),
        "unexpected_index_column_names": first.result.get("unexpected_index_column_names"),
    }
    return ExpectationValidationResult(
        success=success,
        expectation_config=first.expectation_config,
        result={key: value for key, value in result.items() if value is not None},
    )


def _pooled(parts: list[ExpectationValidationResult], key: str) -> list[Any] | None:
    pooled = [item for part in parts for item in part.result.get(key) or []]
    return pooled[:SAMPLE_SIZE] if pooled or key in parts[0].result else None


def _outcome(suite: str, result: ExpectationValidationResult) -> Outcome:
    config = result.expectation_config
    details = result.result or {}
    return Outcome(
        suite=suite,
        expectation=config.type,
        column=_column(config.kwargs),
        severity=str(getattr(config.severity, "value", config.severity)),
        success=bool(result.success),
        evaluated_rows=details.get("element_count"),
        failed_rows=details.get("unexpected_count"),
        observed_value=_text(details["observed_value"]) if "observed_value" in details else None,
        samples=_samples(details),
        problem=_exception_message(result.exception_info),
    )


def _column(kwargs: Mapping[str, Any]) -> str | None:
    names = [
        str(kwargs[argument])
        for argument in ("column", "column_A", "column_B")
        if kwargs.get(argument) is not None
    ]
    names += [str(name) for name in kwargs.get("column_list") or []]
    return ", ".join(names) or None


def _samples(details: Mapping[str, Any]) -> list[str]:
    """A few failing values, each followed by the grain of its row when GX could give it:
    `-5 (order_id=O2)`."""
    indexed = details.get("partial_unexpected_index_list") or []
    if not (indexed and isinstance(indexed[0], dict)):
        return [_text(value) for value in (details.get("partial_unexpected_list") or [])]
    grain = details.get("unexpected_index_column_names") or []
    samples = []
    for row in indexed[:SAMPLE_SIZE]:
        values = {name: value for name, value in row.items() if name not in grain}
        where = ", ".join(f"{name}={_text(row[name])}" for name in grain if name in row)
        if not values:  # the expectation is about the grain itself (a duplicate key)
            samples.append(where)
        elif len(values) == 1:
            samples.append(f"{_text(next(iter(values.values())))} ({where})")
        else:
            shown = ", ".join(f"{name}={_text(value)}" for name, value in values.items())
            samples.append(f"{shown} ({where})")
    return samples


def _text(value: object, limit: int = 60) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is None and value.time() == dt.time(0):
        value = value.date()  # a date column, as pandas hands it over
    finite_float = isinstance(value, float) and math.isfinite(value)
    text = f"{value:.6g}" if finite_float else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exception_message(info: object) -> str | None:
    """GX reports a failure to evaluate either flat or keyed by metric: find the message."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "raised an exception").splitlines()[0]
    for nested in info.values():
        message = _exception_message(nested)
        if message:
            return message
    return None
