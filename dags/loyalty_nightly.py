"""Nightly loyalty pipeline: CRM exports and survey responses to the published warehouse.

Each run loads one day's exports (the last whole UTC day of its data interval, or the
`as_of` param), judges them, and rebuilds and publishes the warehouse as of the newest
accepted delivery: re-running an old day, or running days out of order, publishes what
running them in order would. Only deliveries newer than the current staging snapshot are
read, and only the months of the customer x month facts whose inputs changed are
recomputed (`full_refresh` stages every delivery and recomputes every month again). The
publish task updates the Asset `loyalty_warehouse`, so downstream DAGs can be scheduled
on a new release.

Wiring only: each task calls one stage function of `pipelines.run`; nothing heavy is
imported when Airflow parses this file. Retries: extract retries with backoff (an export
may land late); the builds retry once (a worker lost mid-step; each step is idempotent);
the gates never (they read files a retry would not change, so a refused load stays
refused until someone acts, see docs/runbook.md). One run at a time: `max_active_runs=1`
for scheduled and manual runs; a backfill's runs are counted apart by Airflow, so each
step also holds the pipeline's build lock, and a run whose inputs another run replaced
in between skips its remaining tasks, saying which run publishes instead
(`pipelines.build_lock`, `pipelines.lineage`).

The PII key comes from `LOYALTY_PII_KEY` or, when that is unset, from the password of the
Airflow connection `loyalty_pii_key`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, chain, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

log = logging.getLogger(__name__)

# The hour (UTC) the nightly run starts; the day's exports must have landed by then.
SCHEDULE_HOUR = int(os.environ.get("LOYALTY_SCHEDULE_HOUR", "3"))
PII_KEY_CONNECTION = "loyalty_pii_key"
WAREHOUSE = Asset(
    name="loyalty_warehouse",
    uri=(
        Path(os.environ.get("LOYALTY_DATA_DIR", "data")).resolve() / "warehouse" / "loyalty.duckdb"
    ).as_uri(),
)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-engineering",
    "retries": 1,
    "retry_delay": dt.timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(hours=1),
    "execution_timeout": dt.timedelta(hours=2),
}
# A gate judges files a retry would not change.
GATE = {"retries": 0, "execution_timeout": dt.timedelta(hours=1)}


def _settings() -> Any:
    """Settings from the `LOYALTY_*` environment; the PII key from the Airflow connection
    when the environment has none (without either, extract says how to provide one)."""
    from pipelines.config import Settings

    if os.environ.get("LOYALTY_PII_KEY"):
        return Settings()
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        key = Connection.get(PII_KEY_CONNECTION).password
    except AirflowNotFoundException:
        return Settings()
    return Settings(pii_key=key)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _step(name: str, as_of: str, **options: Any) -> Any:
    """Call the stage `name` of `pipelines.run` as of `as_of`. When another run (a
    backfill beside this one) has replaced this run's inputs since its earlier steps
    built them, that run publishes them: this task and the rest of the run are skipped,
    and the log says why (`pipelines.lineage`)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from pipelines import run
    from pipelines.errors import SupersededError

    try:
        return getattr(run, name)(_settings(), _date(as_of), **options)
    except SupersededError as superseded:
        raise AirflowSkipException(f"superseded: {superseded}") from superseded


@dag(
    dag_id="loyalty_nightly",
    description="CRM and survey exports -> loyalty warehouse (retention, churn, CLV, NPS)",
    schedule=CronDataIntervalTimetable(f"0 {SCHEDULE_HOUR} * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one writer for the build database (backfills: the build lock)
    dagrun_timeout=dt.timedelta(hours=10),
    default_args=DEFAULT_ARGS,
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Export date to load (YYYY-MM-DD); empty: the run's data interval, "
            "or the latest complete day for a manual run",
        ),
        "full_refresh": Param(
            False,
            type="boolean",
            description="Stage every accepted delivery and recompute every month of the facts",
        ),
    },
    tags=["loyalty", "warehouse"],
    doc_md=__doc__,
)
def loyalty_nightly() -> None:
    @task(retries=3, retry_delay=dt.timedelta(minutes=10), execution_timeout=dt.timedelta(hours=1))
    def extract(
        params: dict[str, Any] | None = None, data_interval_end: pendulum.DateTime | None = None
    ) -> str:
        """Load the day's exports into the raw layer; bad rows to quarantine."""
        from pipelines import run
        from pipelines.periods import as_of_for_run

        today = dt.datetime.now(dt.UTC).date()
        export_date, why = as_of_for_run((params or {}).get("as_of"), data_interval_end, today)
        log.info("loading the exports of %s (%s)", export_date, why)
        run.extract(_settings(), export_date)
        return export_date.isoformat()

    @task(**GATE)
    def gate_raw(export_date: str) -> str:
        """Great Expectations on the day's deliveries; returns the as-of date to build."""
        from pipelines import run

        return run.gate_raw(_settings(), _date(export_date)).isoformat()

    @task
    def stage(as_of: str, params: dict[str, Any] | None = None) -> None:
        """Current state of each customer, order and response (newer deliveries merged)."""
        _step("stage", as_of, full_refresh=bool((params or {}).get("full_refresh")))

    @task
    def build_facts(as_of: str, params: dict[str, Any] | None = None) -> None:
        """Customer x month facts (the months whose inputs changed)."""
        _step("build_facts", as_of, full_refresh=bool((params or {}).get("full_refresh")))

    @task(**GATE)
    def gate_facts(as_of: str) -> None:
        """Great Expectations on the facts; accounting and integrity of the history."""
        _step("gate_facts", as_of)

    @task
    def build_clv(as_of: str) -> None:
        """Predictive CLV: BG/NBD and Gamma-Gamma fits, per-customer scores, backtest."""
        _step("build_clv", as_of)

    @task
    def build_marts(as_of: str) -> None:
        """SQL models in the build database."""
        _step("build_marts", as_of)

    @task(**GATE)
    def gate_marts(as_of: str) -> None:
        """Great Expectations on the marts; every gate's results into ops.gate_results."""
        _step("gate_marts", as_of)

    @task(retries=2, execution_timeout=dt.timedelta(minutes=30), outlets=[WAREHOUSE])
    def publish(as_of: str) -> str:
        """Swap the new warehouse release in; updates the loyalty_warehouse Asset."""
        return str(_step("publish", as_of).name)

    as_of = gate_raw(extract())
    chain(
        as_of,
        stage(as_of),
        build_facts(as_of),
        gate_facts(as_of),
        build_clv(as_of),
        build_marts(as_of),
        gate_marts(as_of),
        publish(as_of),
    )


loyalty_nightly()
