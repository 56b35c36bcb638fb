"""The three gates: after extract (raw), after the facts, after the SQL models (marts).

A gate validates every suite of its layer (`pipelines.quality.suites`), records each
expectation's verdict as a Parquet partition under `data/ops/gate_results/<gate>/`, renders
the results in Data Docs, logs each warning, and raises `GateError` naming the table, the
expectation, how many rows failed, a few of them and where the full result is when any
critical expectation failed. Nothing is published after a refused gate.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import duckdb
import polars as pl

from pipelines import models, month_partitions, storage
from pipelines.config import MONTHLY_FACTS, SOURCES, Settings
from pipelines.errors import GateError
from pipelines.publish import PUBLISHED_SCHEMAS
from pipelines.quality import checks
from pipelines.quality.suites import Gate, Suite, load_suites, suite_parameters
from pipelines.quality.tables import Table, chunks
from pipelines.quality.validation import Outcome, SuiteResult, Validator

log = logging.getLogger(__name__)

# One row per expectation per gate run: data/ops/gate_results and ops.gate_results.
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "gate": pl.String,
    "run_date": pl.Date,
    "batch": pl.String,
    "suite": pl.String,
    "expectation": pl.String,
    "column_name": pl.String,
    "severity": pl.String,
    "success": pl.Boolean,
    "evaluated_rows": pl.Int64,
    "failed_rows": pl.Int64,
    "observed_value": pl.String,
    "sample": pl.String,
    "problem": pl.String,
    "chunks": pl.Int64,
    "data_docs_page": pl.String,
    "validated_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class GateReport:
    gate: Gate
    run_date: dt.date  # the newest export date the gate looked at
    results: list[SuiteResult]
    data_docs: Path

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for result in self.results for outcome in result.outcomes]

    @property
    def critical_failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.is_critical_failure]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and not o.is_critical_failure]


def gate_raw(settings: Settings, export_dates: Sequence[dt.date]) -> GateReport:
    """The deliveries just extracted: their raw partitions, and their batch-level numbers."""
    paths = settings.paths
    tables = [
        _parquet(
            f"raw.{source}",
            [storage.partition_path(paths.raw_dir(source), day) for day in export_dates],
        )
        for source in SOURCES
    ]
    tables.append(_frame("checks.deliveries", checks.delivery_checks(settings, export_dates)))
    first, last = min(export_dates), max(export_dates)
    batch = last.isoformat() if first == last else f"{first}..{last}"
    report = _run("raw", settings, _suites(settings, "raw"), tables, last, batch)
    _refuse_on_critical_failures(report)
    return report


def gate_facts(settings: Settings, as_of: dt.date) -> GateReport:
    """Every facts table that has a suite, and the accounting and integrity of the history.

    A table kept by month (`customer_month`) is judged on the months its suite has not
    passed as they are now (`pipelines.month_partitions`): a nightly run judges the months
    it recomputed, a changed suite every month.
    """
    suites = _suites(settings, "facts")
    parameters = suite_parameters(settings)
    tables = [_frame("checks.integrity", checks.integrity_checks(settings, as_of))]
    to_mark: list[tuple[Path, list[Path], str]] = []
    judged_before: set[str] = set()
    for suite in suites:
        if not suite.name.startswith("facts."):
            continue
        files = settings.paths.fact_files(suite.table)
        if suite.table in MONTHLY_FACTS and files:
            directory, digest = files[0].parent, suite.digest(parameters)
            unjudged = month_partitions.unjudged(directory, digest)
            log.info("%s: %d of %d months to judge", suite.name, len(unjudged), len(files))
            if not unjudged:
                judged_before.add(suite.name)
                continue
            to_mark.append((directory, unjudged, digest))
            files = unjudged
        tables.append(_parquet(suite.name, files))
    suites = [suite for suite in suites if suite.name not in judged_before]
    report = _run("facts", settings, suites, tables, as_of, f"as of {as_of}")
    _refuse_on_critical_failures(report)
    for directory, passed, digest in to_mark:
        month_partitions.mark_judged(directory, passed, digest)
    return report


def gate_marts(settings: Settings, as_of: dt.date) -> GateReport:
    """Every table of the build database that has a suite, and the cross-row checks its
    suite declares; then `ops.gate_results`.

    The last gate before publish also records the results of every gate run up to the
    as-of date in the build database, so they are published with the marts.
    """
    build = settings.paths.build_db
    suites = _suites(settings, "marts")
    cross_row = [(suite.name, *pair) for suite in suites for pair in suite.cross_row_suites()]
    # One read-only connection for every table: opening the build database once per
    # table (about 70 times, cross-row checks included) cost 4 s of the gate on M.
    with duckdb.connect(str(build), read_only=True) as connection:

        def build_table(name: str) -> pl.LazyFrame:
            return connection.table(name).pl().lazy()

        tables = [
            Table(
                suite.name,
                lambda name=suite.name: build_table(name),
                f"{suite.name} in {build}",
            )
            for suite in suites
        ]
        tables += [
            Table(
                derived.name,
                lambda name=name, total=total: total.frame(build_table(name)),
                f"computed from {name} in {build}",
            )
            for name, derived, total in cross_row
        ]
        suites += [derived for _, derived, _ in cross_row]
        report = _run("marts", settings, suites, tables, as_of, f"as of {as_of}")
    _warn_about_ungated_models({suite.name for suite in suites})
    record_in_build(settings, as_of)
    _refuse_on_critical_failures(report)
    return report


def record_in_build(settings: Settings, as_of: dt.date) -> None:
    """`ops.gate_results` in the build database: every gate run recorded up to `as_of`."""
    files = [
        storage.partition_path(gate_dir, day)
        for gate_dir in sorted(settings.paths.gate_results_dir.glob("*"))
        for day in storage.partition_dates(gate_dir)
        if day <= as_of
    ]
    if not files:
        return
    results = pl.concat([pl.read_parquet(path) for path in files], how="diagonal_relaxed")
    # A run deletes the pages of runs older than `quality_history_days`; their results stay.
    pages = results["data_docs_page"].drop_nulls().unique().to_list()
    kept = [page for page in pages if _page_file(page).is_file()]
    results = results.with_columns(
        data_docs_page=pl.when(pl.col("data_docs_page").is_in(kept)).then("data_docs_page")
    )
    with duckdb.connect(str(settings.paths.build_db)) as connection:
        connection.register("gate_results", results)
        connection.execute("create schema if not exists ops")
        connection.execute(
            "create or replace table ops.gate_results as from gate_results "
            "order by run_date, gate, suite, expectation"
        )


def _page_file(url: str) -> Path:
    """The file a Data Docs page URL (`file:///...`) points at."""
    return Path(url2pathname(urlparse(url).path))


def _suites(settings: Settings, gate: Gate) -> list[Suite]:
    return [suite for suite in load_suites(settings) if suite.gate == gate]


def _parquet(name: str, files: list[Path]) -> Table:
    where = (
        str(files[0])
        if len(files) == 1
        else f"{len(files)} files under {os.path.commonpath(files)}"
    )
    return Table(name, lambda: pl.scan_parquet(files), where)


def _frame(name: str, frame: pl.DataFrame) -> Table:
    return Table(name, frame.lazy, "computed by pipelines/quality/checks.py")


def _run(
    gate: Gate,
    settings: Settings,
    suites: list[Suite],
    tables: list[Table],
    run_date: dt.date,
    batch: str,
) -> GateReport:
    """Validate every suite of the gate, render Data Docs, record and log the outcomes."""
    by_name = {table.name: table for table in tables}
    for name in by_name.keys() - {suite.name for suite in suites}:
        log.warning("%s has no suite in expectations/: not gated", name)
    parameters = suite_parameters(settings)
    validator = Validator(settings.paths.quality, run_name=f"{gate}_{run_date}", batch_name=batch)
    results = []
    for suite in suites:
        table = by_name.get(suite.name)
        if table is None:
            results.append(_unreadable(suite, f"the {gate} layer has no table {suite.name}"))
            continue
        results.append(_validate(validator, table, suite, settings, parameters))
    validator.build_data_docs(
        forget_before=run_date - dt.timedelta(days=settings.quality_history_days)
    )
    report = GateReport(gate, run_date, results, validator.index)
    _record(settings, report, batch)
    for warning in report.warnings:
        log.warning("%s gate: %s", gate, describe(warning))
    log.info(
        "%s gate %s: %d expectations on %d tables, %d critical failures, %d warnings; %s",
        gate,
        batch,
        len(report.outcomes),
        len(results),
        len(report.critical_failures),
        len(report.warnings),
        report.data_docs,
    )
    return report


def _validate(
    validator: Validator,
    table: Table,
    suite: Suite,
    settings: Settings,
    parameters: dict[str, object],
) -> SuiteResult:
    try:
        count, parts = chunks(table, suite, settings.gate_chunk_rows, settings.paths.scratch)
    except (duckdb.Error, pl.exceptions.PolarsError, OSError) as error:
        return _unreadable(suite, f"{table.described_as}: {str(error).splitlines()[0]}")
    if count > 1:
        log.info(
            "%s: validating in %d chunks of at most %d rows",
            suite.name,
            count,
            settings.gate_chunk_rows,
        )
    return validator.validate(suite, parts, parameters)


def _unreadable(suite: Suite, problem: str) -> SuiteResult:
    """A suite whose table cannot be read fails as a whole, critically."""
    outcome = Outcome(
        suite=suite.name,
        expectation="table_is_readable",
        column=None,
        severity="critical",
        success=False,
        evaluated_rows=None,
        failed_rows=None,
        observed_value=None,
        problem=problem,
    )
    return SuiteResult(suite.name, [outcome], 0, str(suite.path))


def _record(settings: Settings, report: GateReport, batch: str) -> None:
    """One row per expectation of this gate run, replacing an earlier run of the same date."""
    validated_at = dt.datetime.now(dt.UTC)  # metadata only
    rows = [
        {
            "gate": report.gate,
            "run_date": report.run_date,
            "batch": batch,
            "suite": result.suite,
            "expectation": outcome.expectation,
            "column_name": outcome.column,
            "severity": outcome.severity,
            "success": outcome.success,
            "evaluated_rows": outcome.evaluated_rows,
            "failed_rows": outcome.failed_rows,
            "observed_value": outcome.observed_value,
            "sample": "; ".join(outcome.samples) or None,
            "problem": outcome.problem,
            "chunks": result.chunks,
            "data_docs_page": result.page,
            "validated_at": validated_at,
        }
        for result in report.results
        for outcome in result.outcomes
    ]
    storage.write_partition(
        pl.DataFrame(rows, schema=RESULT_SCHEMA),
        settings.paths.gate_results_dir / report.gate,
        report.run_date,
    )


def describe(outcome: Outcome) -> str:
    """One expectation's failure in words: table, expectation, rows, samples."""
    what = f"{outcome.suite}: {outcome.expectation}"
    if outcome.column:
        what += f"({outcome.column})"
    if outcome.problem:
        return f"{what} could not be evaluated: {outcome.problem}"
    if outcome.failed_rows is not None:
        what += f" failed on {outcome.failed_rows:,} of {outcome.evaluated_rows:,} rows"
    elif outcome.observed_value is not None:
        what += f" failed: observed {outcome.observed_value}"
    else:
        what += " failed"
    if outcome.samples:
        what += ", e.g. " + " | ".join(outcome.samples[:3])
    return what


def _refuse_on_critical_failures(report: GateReport) -> None:
    failures = report.critical_failures
    if not failures:
        return
    first = failures[0]
    page = next(result.page for result in report.results if result.suite == first.suite)
    more = f"; and {len(failures) - 1} more critical failure(s)" if len(failures) > 1 else ""
    raise GateError(
        f"{report.gate} gate refused the load ({report.run_date}): {describe(first)}{more}; "
        f"full result: {page} (all results: {report.data_docs})"
    )


def _warn_about_ungated_models(gated: set[str]) -> None:
    """A published model without a suite is published unchecked: say so on every run."""
    for model in models.discover():
        if model.schema in PUBLISHED_SCHEMAS and model.table not in gated:
            log.warning("%s has no suite in expectations/: published without a gate", model.table)
