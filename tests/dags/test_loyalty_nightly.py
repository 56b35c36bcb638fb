"""The nightly DAG: its shape, checked without a database, and a real run by Airflow itself."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipelines import run, storage
from pipelines.config import Settings
from pipelines.synth import SynthConfig, generate
from tests.conftest import TEST_PII_KEY
from tests.dags.conftest import DAGS_FOLDER

pytestmark = pytest.mark.integration

STAGES = [
    "extract",
    "gate_raw",
    "stage",
    "build_facts",
    "gate_facts",
    "build_clv",
    "build_marts",
    "gate_marts",
    "publish",
]
GATES = {"gate_raw", "gate_facts", "gate_marts"}
# Extract retries with backoff (an export may land late), a gate never, a build once.
RETRIES = {"extract": 3, "publish": 2} | dict.fromkeys(GATES, 0)


def _dag_facts(airflow_env: dict[str, str]) -> dict[str, object]:
    """Parse the DAG folder in a fresh interpreter and describe the DAG."""
    script = f"""
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag({str(DAGS_FOLDER)!r})
dag = bag.get_dag("loyalty_nightly")
print(json.dumps({{
    "import_errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "tags": sorted(dag.tags),
    "max_active_runs": dag.max_active_runs,
    "timetable": type(dag.timetable).__name__,
    "params": sorted(dag.params.keys()),
    "tasks": {{t.task_id: {{"owner": t.owner, "retries": t.retries,
                          "timeout": t.execution_timeout.total_seconds(),
                          "outlets": [a.name for a in t.outlets],
                          "downstream": sorted(t.downstream_task_ids)}} for t in dag.tasks}},
}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], env=airflow_env, check=True, capture_output=True, text=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_dag_parses_with_owner_retries_timeouts_params_asset_and_one_writer(
    airflow_env: dict[str, str],
) -> None:
    facts = _dag_facts(airflow_env)
    assert facts["import_errors"] == {}
    assert facts["tags"] == ["loyalty", "warehouse"]
    assert facts["max_active_runs"] == 1
    # A real one-day data interval, not a zero-width cron trigger.
    assert facts["timetable"] == "CronDataIntervalTimetable"
    tasks = facts["tasks"]
    assert sorted(tasks) == sorted(STAGES)
    for stage, following in itertools.pairwise(STAGES):
        assert following in tasks[stage]["downstream"]
    for task_id, task in tasks.items():
        assert task["owner"] == "data-engineering"
        assert task["retries"] == RETRIES.get(task_id, 1), task_id
        assert 0 < task["timeout"] <= 2 * 3600, task_id
    assert facts["params"] == ["as_of", "full_refresh"]
    # Downstream DAGs can be scheduled on the published warehouse.
    assert tasks["publish"]["outlets"] == ["loyalty_warehouse"]
    assert all(not task["outlets"] for task_id, task in tasks.items() if task_id != "publish")


def test_parsing_the_dag_imports_nothing_heavy(airflow_env: dict[str, str]) -> None:
    dag_file = str(DAGS_FOLDER / "loyalty_nightly.py")
    script = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("nightly", {dag_file!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
heavy = {{"polars", "duckdb", "great_expectations", "pipelines"}}
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in heavy)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], env=airflow_env, check=True, capture_output=True, text=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_a_run_another_run_overtook_skips_its_remaining_tasks(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    """A step that finds its inputs replaced by another run (`SupersededError`) ends as
    skipped, not failed: Airflow skips the tasks after it, and the other run publishes.
    The overtaking itself is tested in tests/integration/test_incremental_runs.py."""
    script = f"""
import json
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowSkipException
from pipelines import run
from pipelines.errors import SupersededError
def overtaken(*args, **kwargs):
    raise SupersededError("facts were rebuilt as of 2025-03-01 by another run")
run.build_marts = overtaken
task = DagBag({str(DAGS_FOLDER)!r}).get_dag("loyalty_nightly").get_task("build_marts")
try:
    task.python_callable(as_of="2025-02-28")
    print(json.dumps("returned"))
except AirflowSkipException as skipped:
    print(json.dumps(str(skipped)))
"""
    env = airflow_env | {"LOYALTY_DATA_DIR": str(tmp_path), "LOYALTY_PII_KEY": TEST_PII_KEY}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == (
        "superseded: facts were rebuilt as of 2025-03-01 by another run"
    )


def _history_up_to_the_day_before(tmp_path: Path) -> Settings:
    """Two months of exports, loaded and published up to Feb 27; the DAG loads Feb 28."""
    settings = Settings(data_dir=tmp_path / "data", pii_key=TEST_PII_KEY)
    exports = generate(
        settings.paths, SynthConfig(customers=400, months=2, start=dt.date(2025, 1, 1))
    )
    run.backfill(settings, exports.start, exports.end - dt.timedelta(days=1))
    return settings


def _run_the_dag(
    airflow_env: dict[str, str], settings: Settings, **extra: str
) -> tuple[dict[str, Any], str]:
    """Run the DAG in a fresh interpreter with only these LOYALTY_* settings."""
    env = {k: v for k, v in airflow_env.items() if not k.startswith("LOYALTY_")}
    env |= {"LOYALTY_DATA_DIR": str(settings.data_dir), **extra}
    # The run after the interval [Feb 28 03:00, Mar 1 03:00) processes Feb 28.
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parent / "dag_runner.py"),
            str(DAGS_FOLDER),
            "2025-03-01T03:00:00+00:00",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome, result.stdout[-3000:] + result.stderr[-3000:]


def _published_as_of(settings: Settings) -> dt.date:
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        as_of: dt.date = connection.sql("select max(as_of) from ops.releases").fetchall()[0][0]
    return as_of


def test_a_nightly_run_publishes_the_warehouse(airflow_env: dict[str, str], tmp_path: Path) -> None:
    settings = _history_up_to_the_day_before(tmp_path)
    outcome, output = _run_the_dag(airflow_env, settings, LOYALTY_PII_KEY=TEST_PII_KEY)
    assert outcome["state"] == "success", output
    assert set(outcome["tasks"].values()) == {"success"}
    with duckdb.connect(str(settings.paths.warehouse_db), read_only=True) as connection:
        months = connection.sql("select count(*) from marts.nps_monthly").fetchall()[0][0]
        cohorts = connection.sql(
            "select count(distinct cohort_month) from marts.cohort_retention"
        ).fetchall()[0][0]
    assert _published_as_of(settings) == dt.date(2025, 2, 28)
    assert months == 2 and cohorts == 2


def test_a_refused_load_fails_its_gate_task_and_publishes_nothing(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    settings = _history_up_to_the_day_before(tmp_path)
    orders = settings.paths.landing_dir(dt.date(2025, 2, 28)) / "orders.csv"
    # The day's orders sent five times over under new ids: a spike no real day has.
    header, *rows = orders.read_text().splitlines()
    copies = [row.replace(",", f"-copy{n},", 1) for row in rows for n in range(4)]
    orders.write_text("\n".join([header, *rows, *copies]) + "\n")
    # The key comes from the Airflow connection this time, not from LOYALTY_PII_KEY.
    connection = json.dumps({"conn_type": "generic", "password": TEST_PII_KEY})
    outcome, output = _run_the_dag(
        airflow_env,
        settings,
        AIRFLOW_CONN_LOYALTY_PII_KEY=connection,
        LOYALTY_QUALITY_MIN_ROWS="1",
    )
    assert outcome["state"] == "failed", output
    tasks = outcome["tasks"]
    assert tasks["extract"] == "success"  # so the key was found in the connection
    assert tasks["gate_raw"] == "failed"
    assert {tasks[stage] for stage in STAGES[2:]} == {"upstream_failed"}
    assert _published_as_of(settings) == dt.date(2025, 2, 27)
    recorded = pl.read_parquet(
        storage.partition_path(settings.paths.gate_results_dir / "raw", dt.date(2025, 2, 28))
    )
    refused = recorded.filter(~pl.col("success"))
    assert refused.select("suite", "column_name", "severity").rows() == [
        ("checks.deliveries", "volume_ratio", "critical")
    ]
    assert refused["sample"][0].endswith("(source=orders, export_date=2025-02-28)")
