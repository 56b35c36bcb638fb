"""DuckDB's EXPLAIN ANALYZE of one SQL model, on a copy of a workload's build database.

    python -m bench.explain_model ../loyalty-bench-data/M marts.key_drivers 2026-10-31

Binds the model's parameters as pipelines.run does and prints the operator tree with the
time and rows of each operator (the build database itself is left as it was). The working
tables the model reads (`pipelines.models.WORKING_SCHEMAS`: not kept in the build
database) are built first, in memory.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path


def main() -> None:
    data_dir, table, as_of = Path(sys.argv[1]), sys.argv[2], dt.date.fromisoformat(sys.argv[3])
    os.environ["LOYALTY_DATA_DIR"] = str(data_dir)
    import duckdb

    from pipelines import models, run
    from pipelines.config import Settings

    settings = Settings()
    every_model = models.discover()
    model = next(model for model in every_model if model.table == table)
    working = [
        needed
        for needed in models.needed_by(model.references, every_model)
        if needed.schema in models.WORKING_SCHEMAS
    ]
    parameters = run.model_parameters(settings, as_of)
    with tempfile.TemporaryDirectory(dir=data_dir) as directory:
        copy = Path(directory) / "build.duckdb"
        shutil.copy(settings.paths.build_db, copy)
        connection = duckdb.connect(str(copy), config={"memory_limit": "8GB"})
        models.run_models(connection, working, parameters)  # registers the SQL functions
        plan = connection.execute(
            f"explain analyze {model.sql}", {name: parameters[name] for name in model.parameters}
        ).fetchall()
        for _kind, text in plan:
            print(text)


if __name__ == "__main__":
    main()
