"""Run the nightly DAG once through Airflow's own `dag.test()` and print the outcome as JSON.

Called in a subprocess by the DAG tests, so that AIRFLOW_HOME (a temporary metadata
database) is in place before Airflow is imported.
"""

from __future__ import annotations

import json
import sys

import pendulum
from airflow.dag_processing.dagbag import DagBag


def main(dags_folder: str, logical_date: str) -> None:
    bag = DagBag(dags_folder)
    if bag.import_errors:
        print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
        sys.exit(1)
    dag_run = bag.get_dag("loyalty_nightly").test(logical_date=pendulum.parse(logical_date))
    tasks = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    print(json.dumps({"state": str(dag_run.state), "tasks": tasks}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
