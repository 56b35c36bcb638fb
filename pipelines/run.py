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

import duckdb
import polars as pl

from pipelines import clv, models, quality, storage
from pipelines import extract as extract_stage
from pipelines.config import CLI_COMPONENTS, SOURCES, SURVEY_DRIVERS, Settings
from pipelines.errors import MissingInputError
from pipelines.periods import (
    date_range,
    last_complete_month,
    month_start,
    trailing_year_start,
)
from pipelines.publish import Release, sql_literal
from pipelines.publish import publish as publish_release
from pipelines.transform import comments, facts, staging

log = logging.getLogger(__name__)

FACT_TABLES = ("customers", "orders", "survey_responses", "customer_month", "comment_terms")
# Export dates extracted in one pass by a backfill: large enough to amortise Polars'
# per-call cost, small enough that a month of a large workload fits in memory.
BACKFILL_BATCH_DAYS = 31


@contextmanager
def timed(stage: str, as_of: dt.date) -> Iterator[None]:
    started = time.perf_counter()
    log.info("%s %s: started", stage, as_of)
    yield
    log.info("%s %s: done in %.1fs", stage, as_of, time.perf_counter() - started)


def extract(settings: Settings, as_of: dt.date) -> list[extract_stage.LoadResult]:
    """Load the exports delivered on `as_of` into the raw layer (and quarantine)."""
    with timed("extract", as_of):
        return extract_stage.extract(settings, [as_of])


def gate_raw(settings: Settings, as_of: dt.date) -> quality.GateReport:
    """Judge the deliveries of `as_of` before anything is built from them."""
    with timed("gate_raw", as_of):
        return quality.gate_raw(settings, [as_of])


def stage(settings: Settings, as_of: dt.date) -> dict[str, int]:
    """Current state of each entity from every raw delivery up to `as_of`."""
    paths = settings.paths
    raw = {
        source: storage.scan_partitions(paths.raw_dir(source), as_of, f"raw {source}")
        for source in SOURCES
    }
    orders, held_orders = staging.split_by_known_customer(raw["orders"], raw["customers"])
    frames = {
        "customers": staging.stage_customers(raw["customers"]),
        "orders": staging.stage_orders(orders, settings.fx_rates),
        "held_orders": held_orders,
        "survey_responses": staging.stage_survey_responses(raw["survey_responses"]),
    }
    with timed("stage", as_of):
        return _write_all(frames, paths.staging)


def build_facts(settings: Settings, as_of: dt.date) -> dict[str, int]:
    """Conformed facts and the customer x month spine as of `as_of`, from staging."""
    paths = settings.paths

    def staged(table: str) -> pl.LazyFrame:
        return storage.read_table(paths.staging / f"{table}.parquet", f"staging table {table}")

    def built(table: str) -> pl.LazyFrame:
        return storage.read_table(paths.facts / f"{table}.parquet", f"facts table {table}")

    # In dependency order; each step reads the facts written by the steps before it.
    steps: list[tuple[str, Callable[[], pl.LazyFrame]]] = [
        ("orders", lambda: facts.order_facts(staged("orders"), as_of)),
        ("customers", lambda: facts.customer_facts(staged("customers"), built("orders"), as_of)),
        (
            "survey_responses",
            lambda: facts.response_facts(staged("survey_responses"), built("customers"), as_of),
        ),
        (
            "customer_month",
            lambda: facts.customer_month_facts(
                built("customers"), built("orders"), built("survey_responses"), as_of
            ),
        ),
        ("comment_terms", lambda: comments.comment_terms(built("survey_responses"))),
    ]
    counts: dict[str, int] = {}
    with timed("facts", as_of):
        for name, build in steps:
            counts |= _write_all({name: build()}, paths.facts)
    return counts


def gate_facts(settings: Settings, as_of: dt.date) -> quality.GateReport:
    with timed("gate_facts", as_of):
        return quality.gate_facts(settings, as_of)


def build_clv(settings: Settings, as_of: dt.date) -> clv.ClvRun:
    """Predictive CLV (BG/NBD and Gamma-Gamma) as of `as_of`, from the order facts."""
    orders = storage.read_table(settings.paths.facts / "orders.parquet", "facts table orders")
    with timed("clv", as_of):
        return clv.build(settings, as_of, orders)


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


def build_marts(settings: Settings, as_of: dt.date) -> dict[str, int]:
    """Run every SQL model in a fresh build database over the facts."""
    paths = settings.paths
    paths.build_db.parent.mkdir(parents=True, exist_ok=True)
    paths.build_db.unlink(missing_ok=True)  # a fresh build: no table of an old model lingers
    with timed("marts", as_of), connect(settings, str(paths.build_db)) as connection:
        register_inputs(connection, settings, as_of)
        _register_settings(connection, settings)
        return models.run_models(connection, models.discover(), model_parameters(settings, as_of))


def gate_marts(settings: Settings, as_of: dt.date) -> quality.GateReport:
    """Judge the marts, and record every gate's results in the build database."""
    with timed("gate_marts", as_of):
        return quality.gate_marts(settings, as_of)


def publish(settings: Settings, as_of: dt.date) -> Release:
    with timed("publish", as_of):
        return publish_release(settings.paths, as_of)


def run_all(settings: Settings, as_of: dt.date) -> Release:
    """The nightly run: load the day's exports, judge them, rebuild, publish."""
    extract(settings, as_of)
    gate_raw(settings, as_of)
    return rebuild(settings, as_of)


def rebuild(settings: Settings, as_of: dt.date) -> Release:
    """Everything after extract, from what the raw layer holds up to `as_of`."""
    stage(settings, as_of)
    build_facts(settings, as_of)
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


def backfill(
    settings: Settings,
    start: dt.date,
    end: dt.date,
    on_progress: Callable[[BackfillProgress], None] = lambda _progress: None,
) -> Release:
    """Load every export date from `start` to `end`, gate the deliveries, then rebuild and
    publish as of `end`.

    Rebuilding once, as of the last date, publishes exactly what day-by-day runs would
    have published at the end: every stage after extract recomputes from the raw layer.
    """
    days = date_range(start, end)
    for first in range(0, len(days), BACKFILL_BATCH_DAYS):
        batch = days[first : first + BACKFILL_BATCH_DAYS]
        extract_stage.extract(settings, batch)
        on_progress(BackfillProgress(first + len(batch), len(days), batch[-1]))
    # One gate over every delivery: its cost is mostly per call, and it reads in chunks.
    with timed("gate_raw", end):
        quality.gate_raw(settings, days)
    return rebuild(settings, end)


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
    tables = {table: paths.facts / f"{table}.parquet" for table in FACT_TABLES}
    tables["clv_customers"] = paths.clv_customers
    for table, path in tables.items():
        if not path.is_file():
            raise MissingInputError(f"facts table {table} not built yet ({path})")
        _create_view(connection, table, [path])
    histories = {
        "load_audit": (paths.load_audit_dir, "export_date"),
        "clv_model_runs": (paths.clv_model_runs_dir, clv.PARTITION_KEY),
        "clv_backtests": (paths.clv_backtests_dir, clv.PARTITION_KEY),
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


def _register_settings(connection: duckdb.DuckDBPyConnection, settings: Settings) -> None:
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


def _write_all(frames: dict[str, pl.LazyFrame], directory: Path) -> dict[str, int]:
    counts = {}
    for name, frame in frames.items():
        path = directory / f"{name}.parquet"
        storage.write_parquet_atomic(frame, path)
        counts[name] = pl.scan_parquet(path).select(pl.len()).collect().item()
        log.info("wrote %s: %d rows", path, counts[name])
    return counts
