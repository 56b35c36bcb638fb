"""One function per pipeline stage. The Airflow DAG and the `loyalty` CLI both call these;
neither holds business logic of its own.

Each stage takes the settings and the as-of date, reads the layer above it and writes its
own: extract (landing -> raw), stage (raw -> staging), build_facts (staging -> facts),
build_clv (facts -> CLV predictions and fit history), build_marts (facts and CLV -> marts
in the build database), publish (build -> warehouse). A gate after extract, the facts
and the marts stops the run before publish on a critical data-quality failure
(`pipelines.quality`, docs/quality.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipelines import (
    backfills,
    deliveries,
    lineage,
    models,
    month_partitions,
    quality,
    snapshots,
    storage,
)
from pipelines import extract as extract_stage
from pipelines.build_lock import locked
from pipelines.config import (
    CLI_COMPONENTS,
    CLV_PARTITION_KEY,
    MONTHLY_FACTS,
    MONTHLY_STAGING,
    SOURCES,
    SURVEY_DRIVERS,
    Settings,
)
from pipelines.errors import MissingInputError, SupersededError
from pipelines.periods import (
    date_range,
    last_complete_month,
    month_start,
    trailing_year_start,
)
from pipelines.publish import Release, sql_literal
from pipelines.publish import publish as publish_release
from pipelines.transform import comments, facts, staging

if TYPE_CHECKING:
    from pipelines import clv

log = logging.getLogger(__name__)

# Each table is written sorted by its key: the same rows in the same order whichever way
# they were computed (all deliveries at once, or merged), so every floating-point sum
# downstream adds in the same order and a re-run publishes identical numbers.
STAGING_KEYS = {
    "customers": ("customer_id",),
    "orders": ("order_id",),
    "held_orders": ("order_id", "_export_date", "_source_row"),
    "survey_responses": ("response_id",),
}
# Tables a nightly merge keeps in key order (`staging.merge_latest`): streamed, not sorted.
MERGED_IN_KEY_ORDER = frozenset({"customers", "orders", "survey_responses"})
FACT_KEYS = {
    "orders": ("order_id",),
    "customers": ("customer_id",),
    "survey_responses": ("response_id",),
    "customer_month": ("customer_id", "period_month"),
    "comment_terms": ("response_id", "term_key"),
}
FACT_TABLES = tuple(FACT_KEYS)
# Export dates extracted in one pass by a backfill: large enough to amortise Polars'
# per-call cost, small enough that a month of a large workload fits in memory.
BACKFILL_BATCH_DAYS = 31


@contextmanager
def timed(stage: str, as_of: dt.date) -> Iterator[None]:
    started = time.perf_counter()
    log.info("%s %s: started", stage, as_of)
    yield
    log.info("%s %s: done in %.1fs", stage, as_of, time.perf_counter() - started)


@locked("extract")
def extract(settings: Settings, export_date: dt.date) -> list[extract_stage.LoadResult]:
    """Load the exports delivered on `export_date` into the raw layer (and quarantine).

    The date is not accepted for building until the raw gate has judged this load.
    """
    with timed("extract", export_date):
        deliveries.withdraw(settings.paths, [export_date])
        return extract_stage.extract(settings, [export_date])


@locked("gate_raw")
def gate_raw(settings: Settings, export_date: dt.date) -> dt.date:
    """Judge the deliveries of `export_date`; on success accept them. Returns the as-of
    date to build: the newest accepted delivery (`build_as_of`)."""
    with timed("gate_raw", export_date):
        quality.gate_raw(settings, [export_date])
        deliveries.accept(settings.paths, [export_date])
    return build_as_of(settings, export_date)


def build_as_of(settings: Settings, export_date: dt.date) -> dt.date:
    """The warehouse shows every accepted delivery: a run for an old date (re-run, or out
    of order) rebuilds as of the newest one, so the order in which dates run does not
    change what is published."""
    newest = deliveries.newest(settings.paths)
    if newest is not None and newest > export_date:
        log.info("%s is not the newest accepted delivery: building as of %s", export_date, newest)
        return newest
    return export_date


@locked("stage")
def stage(settings: Settings, as_of: dt.date, full_refresh: bool = False) -> dict[str, int]:
    """Current state of each entity from every accepted delivery up to `as_of`, the
    newest accepted delivery.

    The current staging snapshot is reused when it can be: only deliveries newer than it
    are read and merged (`snapshots.newer_deliveries`). `full_refresh` stages everything.
    """
    paths = settings.paths
    lineage.require_newest_delivery(paths, as_of)
    accepted = deliveries.accepted(paths, as_of)
    if not accepted:
        raise MissingInputError(
            f"no delivery on or before {as_of} has passed the raw gate: run `loyalty run` "
            "or `loyalty backfill` for those dates first"
        )
    newer = (
        None
        if full_refresh
        else snapshots.newer_deliveries(snapshots.current_deliveries(paths), accepted)
    )
    if newer == []:
        log.info("staging is current: no accepted delivery is newer than its snapshot")
        return snapshots.row_counts(paths, STAGING_KEYS)
    with timed("stage", as_of):
        if newer is None:
            log.info("staging every accepted delivery (%d)", len(accepted))
            tables = _stage_all(settings, list(accepted))
        else:
            log.info("staging %d newer deliveries into the current snapshot", len(newer))
            tables = _stage_newer(settings, newer)
        return snapshots.commit(
            paths,
            tables,
            STAGING_KEYS,
            settings.sorted_write_rows,
            accepted,
            in_key_order=MERGED_IN_KEY_ORDER if newer else (),
        )


def _stage_all(settings: Settings, days: list[dt.date]) -> dict[str, snapshots.Table]:
    raw = {source: _raw(settings, source, days) for source in SOURCES}
    orders, held_orders = staging.split_by_known_customer(raw["orders"], raw["customers"])
    return {
        "customers": staging.stage_customers(raw["customers"]),
        "orders": staging.stage_orders(orders, settings.fx_rates),
        "held_orders": held_orders,
        "survey_responses": staging.stage_survey_responses(raw["survey_responses"]),
    }


def _stage_newer(
    settings: Settings, days: list[dt.date]
) -> dict[str, snapshots.Table | snapshots.MonthFiles]:
    """The current snapshot with the deliveries of `days` merged in; a table they do not
    change is linked into the new snapshot as it is."""
    paths = settings.paths
    current = {table: snapshots.table(paths, table) for table in STAGING_KEYS}
    raw = {source: storage.scan_dates(paths.raw_dir(source), days) for source in SOURCES}
    tables: dict[str, snapshots.Table | snapshots.MonthFiles] = dict(current)
    customers = pl.scan_parquet(current["customers"])
    if raw["customers"] is not None:
        # Computed once, here: the staged and the held orders below are both split on
        # these customers, and a lazy merge would be computed for each of them.
        customers = (
            staging.merge_latest(
                customers, staging.stage_customers(raw["customers"]), "customer_id"
            )
            .collect()
            .lazy()
        )
        tables["customers"] = customers
    if raw["orders"] is not None or raw["customers"] is not None:
        # Held orders wait for their customer: try them again with the new deliveries.
        pending = pl.scan_parquet(current["held_orders"]).drop(staging.HELD_REASON_COLUMN)
        if raw["orders"] is not None:
            pending = pl.concat([pending, raw["orders"]], how="diagonal_relaxed")
        orders, tables["held_orders"] = staging.split_by_known_customer(pending, customers)
        tables["orders"] = snapshots.merge_by_month(
            snapshots.month_files(paths, "orders"),
            staging.stage_orders(orders, settings.fx_rates),
            "order_id",
            MONTHLY_STAGING["orders"],
        )
    if raw["survey_responses"] is not None:
        tables["survey_responses"] = staging.merge_latest(
            pl.scan_parquet(current["survey_responses"]),
            staging.stage_survey_responses(raw["survey_responses"]),
            "response_id",
        )
    return tables


def _raw(settings: Settings, source: str, days: list[dt.date]) -> pl.LazyFrame:
    frame = storage.scan_dates(settings.paths.raw_dir(source), days)
    if frame is None:
        raise MissingInputError(
            f"no raw {source} for the accepted deliveries {days[0]}..{days[-1]}"
        )
    return frame


@locked("build_facts")
def build_facts(settings: Settings, as_of: dt.date, full_refresh: bool = False) -> dict[str, int]:
    """Conformed facts and the customer x month spine as of `as_of`, from staging.

    The months of the tables kept by month (`orders`, `customer_month`) whose inputs did
    not change since they were written are kept (`pipelines.month_partitions`);
    `full_refresh` recomputes every month.
    """
    paths = settings.paths
    snapshot = lineage.require_current_staging(paths, as_of)

    def staged(table: str) -> pl.LazyFrame:
        return storage.read_table(paths.staging_files(table), f"staging table {table}")

    def built(table: str) -> pl.LazyFrame:
        return storage.read_table(paths.fact_files(table), f"facts table {table}")

    # In dependency order; each step reads the facts written by the steps before it.
    steps: list[tuple[str, Callable[[], pl.LazyFrame]]] = [
        ("customers", lambda: facts.customer_facts(staged("customers"), built("orders"), as_of)),
        (
            "survey_responses",
            lambda: facts.response_facts(staged("survey_responses"), built("customers"), as_of),
        ),
        ("comment_terms", lambda: comments.comment_terms(built("survey_responses"))),
    ]
    # An order's facts go to the month file of the month it was placed in, as its staged
    # row does: a batch of months reads only those months' staged files.
    if not paths.staging_table("orders").is_dir():  # a snapshot staged before months
        raise MissingInputError(f"staging table orders not built yet: stage as of {as_of} first")
    staged_months = snapshots.month_files(paths, "orders")
    if not staged_months:
        raise MissingInputError(
            f"no order is staged as of {as_of}: every order delivered so far "
            f"({storage.row_count(paths.held_orders):,}) is held until its customer is "
            f"delivered ({paths.held_orders}); the facts need at least one order"
        )
    counts: dict[str, int] = {}
    lineage.begin(paths.facts)
    with timed("facts", as_of):
        counts["orders"] = _build_by_month(
            settings,
            "orders",
            facts.order_month_inputs(
                facts.order_facts(pl.scan_parquet(list(staged_months.values())), as_of)
            ),
            lambda months: facts.order_facts(
                pl.scan_parquet([staged_months[month] for month in months]), as_of
            ),
            full_refresh,
        )
        for name, build in steps:
            path = paths.fact_table(name)
            storage.write_parquet_sorted(build(), FACT_KEYS[name], path, settings.sorted_write_rows)
            counts[name] = storage.row_count(path)
            log.info("wrote %s: %d rows", path, counts[name])
        customers, responses = built("customers"), built("survey_responses")
        counts["customer_month"] = _build_by_month(
            settings,
            "customer_month",
            facts.customer_month_inputs(customers, built("orders"), responses, as_of),
            lambda months: facts.customer_month_facts(
                customers, built("orders"), responses, as_of, months
            ),
            full_refresh,
        )
    lineage.finish(paths.facts, as_of, {"staging": snapshot})
    return counts


def _build_by_month(
    settings: Settings,
    table: str,
    inputs: dict[dt.date, facts.MonthInputs],
    compute: Callable[[list[dt.date]], pl.LazyFrame],
    full_refresh: bool,
) -> int:
    """Recompute the months of a table kept by month whose inputs changed, a batch of
    months of about `sorted_write_rows` rows at a time (`compute` gives a batch's rows);
    returns the rows of every month."""
    directory = settings.paths.fact_table(table)
    # The table as one file, as it was kept before it was kept by month: nothing reads it.
    directory.with_suffix(".parquet").unlink(missing_ok=True)
    month_partitions.remove_other_months(directory, inputs)
    digests = {month: month_inputs.digest for month, month_inputs in inputs.items()}
    todo = list(inputs) if full_refresh else month_partitions.outdated(directory, digests)
    log.info(
        "%s: %d of %d months to compute (%s)",
        table,
        len(todo),
        len(inputs),
        ", ".join(f"{month:%Y-%m}" for month in todo) or "none changed",
    )
    key = FACT_KEYS[table][0]  # within one month, the first key orders the rows
    rows = {month: month_inputs.rows for month, month_inputs in inputs.items()}
    for batch in month_partitions.batches(todo, rows, settings.sorted_write_rows):
        computed = compute(batch).collect()
        for month in batch:
            in_month = computed.filter(pl.col(MONTHLY_FACTS[table]) == month)
            if not in_month[key].is_sorted():  # the orders keep staging's order already
                in_month = in_month.sort(key)
            month_partitions.write(in_month, directory, month, digests[month])
    return storage.row_count(settings.paths.fact_files(table))


@locked("gate_facts")
def gate_facts(settings: Settings, as_of: dt.date) -> quality.GateReport:
    """Judge the facts, and their accounting against the raw and staging layers they
    were built from."""
    built_facts = lineage.require(settings.paths.facts, "facts", as_of, gated=False)
    if lineage.require_current_staging(settings.paths, as_of) != built_facts.inputs["staging"]:
        raise SupersededError(
            "another run staged the deliveries again after this run built its facts; that "
            "run builds, judges and publishes them"
        )
    with timed("gate_facts", as_of):
        report = quality.gate_facts(settings, as_of)
    lineage.mark_passed(settings.paths.facts, "facts", as_of)
    return report


@locked("build_clv")
def build_clv(settings: Settings, as_of: dt.date) -> clv.ClvRun:
    """Predictive CLV (BG/NBD and Gamma-Gamma) as of `as_of`, from the order facts."""
    # Imported here: it loads SciPy's optimisers (0.7 s), and each Airflow task is a
    # process of its own, so the eight stages that do not fit CLV need not wait for it.
    from pipelines import clv

    paths = settings.paths
    built_facts = lineage.require(paths.facts, "facts", as_of, gated=True)
    orders = storage.read_table(paths.fact_files("orders"), "facts table orders")
    lineage.begin(paths.clv_customers.parent)
    with timed("clv", as_of):
        result = clv.build(settings, as_of, orders)
    lineage.finish(paths.clv_customers.parent, as_of, {"facts": built_facts.id})
    return result


def model_parameters(settings: Settings, as_of: dt.date) -> dict[str, object]:
    """Every value a SQL model may bind as `$name`."""
    return {
        "as_of": as_of,
        "as_of_month": month_start(as_of),
        "last_complete_month": last_complete_month(as_of),
        "nps_min_sample": settings.nps_min_sample,
        "trailing_year_start": trailing_year_start(as_of),
        "gross_margin_rate": settings.gross_margin_rate,
        **survey_parameters(settings, as_of),
    }


def survey_parameters(settings: Settings, as_of: dt.date) -> dict[str, object]:
    """The settings of the survey marts, as the `$names` their SQL binds."""
    return {
        **{f"csi_weight_{driver}": settings.csi_weight(driver) for driver in SURVEY_DRIVERS},
        **{f"cli_weight_{part}": settings.cli_weight(part) for part in CLI_COMPONENTS},
        "comment_top_terms": settings.comment_top_terms,
        "nps_churn_window_days": settings.nps_churn_window_days,
        "nps_churn_horizon_months": settings.nps_churn_horizon_months,
        # NULL start: each member is followed from their own enrolment.
        "programme_window_start": settings.programme_window_start,
        "programme_window_end": min(settings.programme_window_end or as_of, as_of),
    }


@locked("build_marts")
def build_marts(settings: Settings, as_of: dt.date) -> dict[str, int]:
    """Run every SQL model in a fresh build database over the facts and the CLV output."""
    paths = settings.paths
    inputs = _judged_facts_and_their_clv(settings, as_of)
    build = paths.build_db.parent
    build.mkdir(parents=True, exist_ok=True)
    lineage.begin(build)
    paths.build_db.unlink(missing_ok=True)  # a fresh build: no table of an old model lingers
    with timed("marts", as_of), connect(settings, str(paths.build_db)) as connection:
        register_inputs(connection, settings, as_of)
        register_settings(connection, settings)
        counts = models.run_models(connection, models.discover(), model_parameters(settings, as_of))
    lineage.finish(build, as_of, inputs)
    return counts


def _judged_facts_and_their_clv(settings: Settings, as_of: dt.date) -> dict[str, str]:
    paths = settings.paths
    built_facts = lineage.require(paths.facts, "facts", as_of, gated=True)
    built_clv = lineage.require(paths.clv_customers.parent, "CLV", as_of, gated=False)
    if built_clv.inputs["facts"] != built_facts.id:
        raise SupersededError(
            "another run rebuilt the facts after this run's CLV step read them; that run "
            "builds the CLV and the marts from them and publishes"
        )
    return {"facts": built_facts.id, "clv": built_clv.id}


@locked("gate_marts")
def gate_marts(settings: Settings, as_of: dt.date) -> quality.GateReport:
    """Judge the marts, and record every gate's results in the build database."""
    build = settings.paths.build_db.parent
    lineage.require(build, "the build database", as_of, gated=False)
    with timed("gate_marts", as_of):
        report = quality.gate_marts(settings, as_of)
    lineage.mark_passed(build, "the build database", as_of)
    return report


@locked("publish")
def publish(settings: Settings, as_of: dt.date) -> Release:
    """Publish the build database once the marts gate has passed it."""
    lineage.require(settings.paths.build_db.parent, "the build database", as_of, gated=True)
    with timed("publish", as_of):
        return publish_release(settings.paths, as_of)


@locked("run")
def run_all(settings: Settings, export_date: dt.date, full_refresh: bool = False) -> Release:
    """The nightly run: load the day's exports, judge them, rebuild, publish."""
    extract(settings, export_date)
    as_of = gate_raw(settings, export_date)
    return rebuild(settings, as_of, full_refresh)


@locked("rebuild")
def rebuild(settings: Settings, as_of: dt.date, full_refresh: bool = False) -> Release:
    """Everything after the raw gate, from the deliveries accepted up to `as_of`."""
    stage(settings, as_of, full_refresh)
    build_facts(settings, as_of, full_refresh)
    gate_facts(settings, as_of)
    build_clv(settings, as_of)
    build_marts(settings, as_of)
    gate_marts(settings, as_of)
    return publish(settings, as_of)


@dataclass(frozen=True)
class BackfillProgress:
    done: int
    total: int
    export_date: dt.date


@locked("backfill")
def backfill(
    settings: Settings,
    start: dt.date,
    end: dt.date,
    on_progress: Callable[[BackfillProgress], None] = lambda _progress: None,
    restart: bool = False,
) -> Release:
    """Load every export date from `start` to `end`, gate them, then rebuild and publish
    as of the newest accepted delivery.

    Rebuilding once publishes exactly what day-by-day runs would have published at the
    end. Dates an earlier, interrupted run of the same backfill loaded are not loaded
    again unless `restart` (`pipelines.backfills`); the gate judges the whole range.
    """
    days = date_range(start, end)
    todo = days if restart else backfills.remaining(settings.paths, start, end)
    if len(todo) < len(days):
        log.info("resuming the backfill %s..%s: %d dates left to load", start, end, len(todo))
    deliveries.withdraw(settings.paths, days)
    done = len(days) - len(todo)
    for first in range(0, len(todo), BACKFILL_BATCH_DAYS):
        batch = todo[first : first + BACKFILL_BATCH_DAYS]
        extract_stage.extract(settings, batch)
        backfills.record(settings.paths, start, end, batch[-1])
        done += len(batch)
        on_progress(BackfillProgress(done, len(days), batch[-1]))
    # One gate over every delivery: its cost is mostly per call, and it reads in chunks.
    with timed("gate_raw", end):
        quality.gate_raw(settings, days)
    deliveries.accept(settings.paths, days)
    release = rebuild(settings, build_as_of(settings, end))
    backfills.finish(settings.paths)
    return release


@contextmanager
def connect(settings: Settings, database: str) -> Iterator[duckdb.DuckDBPyConnection]:
    config: dict[str, str | int] = {}
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    if settings.duckdb_memory_limit:
        config["memory_limit"] = settings.duckdb_memory_limit
    connection = duckdb.connect(database, config=config)
    try:
        yield connection
    finally:
        connection.close()


def register_inputs(
    connection: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date
) -> None:
    """Facts, CLV output and the run histories as views, so models read them like tables."""
    paths = settings.paths
    connection.execute("create schema if not exists facts")
    tables = {table: paths.fact_files(table) for table in FACT_TABLES}
    tables["clv_customers"] = [paths.clv_customers]
    for table, files in tables.items():
        if not files or not all(path.is_file() for path in files):
            raise MissingInputError(f"facts table {table} not built yet (in {paths.facts})")
        _create_view(connection, table, files)
    histories = {
        "load_audit": (paths.load_audit_dir, "export_date"),
        "clv_model_runs": (paths.clv_model_runs_dir, CLV_PARTITION_KEY),
        "clv_backtests": (paths.clv_backtests_dir, CLV_PARTITION_KEY),
    }
    for table, (directory, key) in histories.items():
        files = [
            storage.partition_path(directory, day, key)
            for day in storage.partition_dates(directory, key)
            if day <= as_of
        ]
        if not files:
            raise MissingInputError(f"no {table} on or before {as_of} in {directory}")
        _create_view(connection, table, files)


def _create_view(connection: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> None:
    # A view cannot bind parameters; the paths come from the settings, quoted.
    quoted = ", ".join(sql_literal(str(path)) for path in files)
    connection.execute(f"create view facts.{table} as from read_parquet([{quoted}])")


def register_settings(connection: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Settings that are lists become small tables (`settings.*`), so no model builds SQL
    text from them: one row per named churn window."""
    connection.execute("create schema if not exists settings")
    connection.execute(
        "create table settings.churn_windows"
        " (churn_window varchar primary key, churn_window_days integer not null)"
    )
    connection.executemany(
        "insert into settings.churn_windows values (?, ?)", list(settings.churn_windows.items())
    )
