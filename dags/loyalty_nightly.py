"""Nightly loyalty pipeline: CRM exports and survey responses to the published warehouse.

Wiring only. Each task calls one stage function of `pipelines.run` with the run's as-of
date (the last whole day of its data interval, or the `as_of` param of a manual run);
nothing heavy is imported when Airflow parses this file.

The gate tasks judge the data with Great Expectations and are never retried: they read
files that a retry would not change, so a refused load stays refused until someone acts.
The PII key comes from `LOYALTY_PII_KEY` or, when that is unset, from the password of the
Airflow connection `loyalty_pii_key` (see docs/runbook.md).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pendulum
from airflow.sdk import chain, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

# The hour (UTC) the nightly run starts; the day's exports must have landed by then.
SCHEDULE_HOUR = int(os.environ.get("LOYALTY_SCHEDULE_HOUR", "3"))
PII_KEY_CONNECTION = "loyalty_pii_key"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "execution_timeout": dt.timedelta(hours=2),
}


def _as_of(params: dict[str, Any], data_interval_end: pendulum.DateTime | None) -> dt.date:
    from pipelines.periods import as_of_for_run

    return as_of_for_run(params.get("as_of"), data_interval_end)


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


@dag(
    dag_id="loyalty_nightly",
    description="CRM and survey exports -> loyalty warehouse (retention, churn, CLV, NPS)",
    schedule=CronDataIntervalTimetable(f"0 {SCHEDULE_HOUR} * * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one writer for the build database
    default_args=DEFAULT_ARGS,
    params={"as_of": None},
    tags=["loyalty", "warehouse"],
    doc_md=__doc__,
)
def loyalty_nightly() -> None:
    @task
    def extract(
        params: dict[str, Any] | None = None, data_interval_end: pendulum.DateTime | None = None
    ) -> str:
        """Load the day's exports into the raw layer; bad rows to quarantine."""
        from pipelines import run

        as_of = _as_of(params or {}, data_interval_end)
        run.extract(_settings(), as_of)
        return as_of.isoformat()

    @task(retries=0)
    def gate_raw(as_of: str) -> None:
        """Great Expectations on the day's deliveries and their row accounting."""
        from pipelines import run

        run.gate_raw(_settings(), dt.date.fromisoformat(as_of))

    @task
    def stage(as_of: str) -> None:
        """Current state of each customer, order and response."""
        from pipelines import run

        run.stage(_settings(), dt.date.fromisoformat(as_of))

    @task
    def build_facts(as_of: str) -> None:
        """Customer x month facts."""
        from pipelines import run

        run.build_facts(_settings(), dt.date.fromisoformat(as_of))

    @task(retries=0)
    def gate_facts(as_of: str) -> None:
        """Great Expectations on the facts; accounting and integrity of the history."""
        from pipelines import run

        run.gate_facts(_settings(), dt.date.fromisoformat(as_of))

    @task
    def build_clv(as_of: str) -> None:
        """Predictive CLV: BG/NBD and Gamma-Gamma fits, per-customer scores, backtest."""
        from pipelines import run

        run.build_clv(_settings(), dt.date.fromisoformat(as_of))

    @task
    def build_marts(as_of: str) -> None:
        """SQL models in the build database."""
        from pipelines import run

        run.build_marts(_settings(), dt.date.fromisoformat(as_of))

    @task(retries=0)
    def gate_marts(as_of: str) -> None:
        """Great Expectations on the marts; every gate's results into ops.gate_results."""
        from pipelines import run

        run.gate_marts(_settings(), dt.date.fromisoformat(as_of))

    @task
    def publish(as_of: str) -> str:
        """Swap the new warehouse release in."""
        from pipelines import run

        return run.publish(_settings(), dt.date.fromisoformat(as_of)).name

    as_of = extract()
    chain(
        gate_raw(as_of),
        stage(as_of),
        build_facts(as_of),
        gate_facts(as_of),
        build_clv(as_of),
        build_marts(as_of),
        gate_marts(as_of),
        publish(as_of),
    )


loyalty_nightly()
