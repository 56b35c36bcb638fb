"""`airflow backfill create` over the nightly DAG, executed by a real scheduler.

A whole deployment is started for it: a fresh PostgreSQL metadata database, the
api-server, the scheduler (LocalExecutor) and the dag-processor, as an operator runs them
(docs/runbook.md, "Backfill"). History up to the day before the backfill is loaded
with `pipelines.run.backfill` first, as `loyalty backfill` would; Airflow then backfills
the following days, one run per day and one run at a time, and the published warehouse
must be as of the last of them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines import run
from pipelines.config import Settings
from pipelines.synth import SynthConfig, generate
from tests.dags.airflow_services import (
    AirflowDeployment,
    fresh_postgres_database,
    running_airflow,
)
from tests.dags.conftest import DAGS_FOLDER
from tests.dags.test_loyalty_nightly import STAGES

pytestmark = pytest.mark.integration

DAG_ID = "loyalty_nightly"
SAMPLE = SynthConfig(customers=400, months=2, start=dt.date(2025, 1, 1))  # Jan 1 - Feb 28
# Airflow backfills these as-of dates; everything before them is loaded beforehand.
FIRST, LAST = dt.date(2025, 2, 25), dt.date(2025, 2, 27)
DAYS = [FIRST + dt.timedelta(days=n) for n in range((LAST - FIRST).days + 1)]


@pytest.fixture
def pipeline_settings(tmp_path: Path) -> Settings:
    """Sample exports of two months, loaded and published up to the day before FIRST."""
    settings = Settings(data_dir=tmp_path / "data", pii_key=secrets.token_hex(32))
    exports = generate(settings.paths, SAMPLE)
    assert exports.start < FIRST < LAST < exports.end
    run.backfill(settings, exports.start, FIRST - dt.timedelta(days=1))
    return settings


@pytest.fixture
def airflow(
    postgres_server: str, pipeline_settings: Settings, tmp_path: Path
) -> Iterator[AirflowDeployment]:
    assert pipeline_settings.pii_key is not None
    loyalty_env = {
        "LOYALTY_DATA_DIR": str(pipeline_settings.data_dir),
        "LOYALTY_PII_KEY": pipeline_settings.pii_key.get_secret_value(),
    }
    # No scheduled run: with catchup off, unpausing would otherwise start the run of the
    # latest interval (today), which has no exports and would overlap the backfill.
    airflow_env = {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    with (
        fresh_postgres_database(postgres_server) as database,
        running_airflow(
            tmp_path / "airflow", database, DAGS_FOLDER, loyalty_env | airflow_env
        ) as deployment,
    ):
        yield deployment


def _dag_is_parsed(airflow: AirflowDeployment) -> bool | None:
    errors = airflow.query("select filename, stacktrace from import_error")
    assert not errors, errors
    rows = airflow.query(
        "select 1 from dag join serialized_dag using (dag_id) where dag_id = %(dag)s",
        {"dag": DAG_ID},
    )
    return True if rows else None


def _backfill_runs(airflow: AirflowDeployment) -> list[tuple[object, ...]]:
    return airflow.query(
        "select run_id, logical_date, state, run_type, start_date, end_date from dag_run "
        "where dag_id = %(dag)s order by logical_date",
        {"dag": DAG_ID},
    )


def _backfill_complete(airflow: AirflowDeployment) -> bool | None:
    """True once the scheduler has marked the backfill complete (all its runs finished);
    fails at the first failed run, with the failed task's log."""
    failed = airflow.query(
        "select run_id from dag_run where dag_id = %(dag)s and state = 'failed'", {"dag": DAG_ID}
    )
    if failed:
        raise AssertionError(_failure_report(airflow, failed[0][0]))
    done = airflow.query(
        "select 1 from backfill where dag_id = %(dag)s and completed_at is not null",
        {"dag": DAG_ID},
    )
    return True if done else None


def _failure_report(airflow: AirflowDeployment, run_id: str) -> str:
    tasks = airflow.query(
        "select task_id, state from task_instance where dag_id = %(dag)s and run_id = %(run)s",
        {"dag": DAG_ID, "run": run_id},
    )
    failed = [task for task, state in tasks if state in ("failed", "up_for_retry")]
    logs = "\n".join(airflow.task_log_tail(DAG_ID, run_id, task) for task in failed)
    return f"backfill run {run_id} failed: {sorted(tasks)}\n{logs}\n{airflow.tails()}"


def test_airflow_backfill_runs_each_day_in_order_and_publishes_the_last(
    airflow: AirflowDeployment, pipeline_settings: Settings
) -> None:
    airflow.wait_for("the dag-processor to parse the DAG", lambda: _dag_is_parsed(airflow), 180)
    airflow.airflow("dags", "unpause", DAG_ID)
    # The window selects runs by logical date (the start of the data interval, 03:00 UTC):
    # ending it at LAST's 03:00 includes the run as of LAST; ending at LAST (00:00) would not.
    window = ["--from-date", FIRST.isoformat(), "--to-date", f"{LAST.isoformat()}T03:00:00+00:00"]
    planned = airflow.airflow("backfill", "create", "--dag-id", DAG_ID, *window, "--dry-run").stdout
    for day in [*DAYS, LAST + dt.timedelta(days=1)]:
        assert (f"{day} 03:00:00" in planned) == (day in DAYS), planned
    started = time.monotonic()
    # One build database, one writer: the backfill's own limit (default 10; backfills do
    # not obey the DAG's max_active_runs) keeps its runs from overlapping.
    airflow.airflow("backfill", "create", "--dag-id", DAG_ID, *window, "--max-active-runs", "1")
    airflow.wait_for("the backfill to complete", lambda: _backfill_complete(airflow), 480)
    print(f"backfill of {len(DAYS)} days took {time.monotonic() - started:.0f}s")

    runs = _backfill_runs(airflow)
    # One run per day: logical date D 03:00 UTC, data interval to D+1 03:00, as of D.
    assert [r[1].date() for r in runs] == DAYS
    assert all(r[1].hour == 3 for r in runs)
    assert {r[2] for r in runs} == {"success"}
    assert {r[3] for r in runs} == {"backfill"}
    # One at a time, in date order.
    for earlier, later in itertools.pairwise(runs):
        assert later[4] >= earlier[5], (earlier, later)
    tasks = airflow.query(
        "select run_id, task_id, state from task_instance where dag_id = %(dag)s",
        {"dag": DAG_ID},
    )
    assert len(tasks) == len(DAYS) * len(STAGES)
    assert {state for _, _, state in tasks} == {"success"}

    warehouse = pipeline_settings.paths.warehouse_db
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        releases = [
            row[0]
            for row in connection.sql(
                "select as_of from ops.releases order by published_at"
            ).fetchall()
        ]
        audit = connection.sql(
            "select max(export_date), count(distinct export_date) from ops.load_audit"
        ).fetchall()[0]
        period_end = connection.sql("select max(period_end) from marts.churn").fetchall()[0][0]
        months = connection.sql("select count(*) from marts.nps_monthly").fetchall()[0][0]
    # The preload published the day before FIRST; each backfill run one release after it.
    assert releases == [FIRST - dt.timedelta(days=1), *DAYS]
    assert audit == (LAST, (LAST - SAMPLE.start).days + 1)
    assert period_end == LAST
    assert months == 2
