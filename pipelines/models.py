"""Run the SQL models of `sql/` inside DuckDB, in the order their references imply.

A model is one file `sql/<schema>/<name>.sql` holding one SELECT; it becomes the table
`<schema>.<name>`. Which models it reads, and which `$parameters` it binds, are read from
the SQL itself with sqlglot, so there is no hand-kept list to fall out of date. The tables
of a working schema (`WORKING_SCHEMAS`) are read by later models only, so they are kept
in memory for the run, not in the build database. The statistical functions models may
call (p-values, intervals) are registered on the connection first
(`pipelines.sql_functions`). Importing this module does not import SciPy (0.3 s, in every
task that lists the models): `run_models` does, when it registers them.
"""

from __future__ import annotations

import graphlib
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from pipelines.errors import LoyaltyError

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# Working tables: only later models read them; nothing gates or publishes them. Each
# schema is an in-memory database attached under its name for the run: writing its tables
# into the build database file cost 6 of the models' 37 s on the M benchmark. Past its
# memory limit DuckDB spills them to its temporary directory, as it does a join's.
WORKING_SCHEMAS = frozenset({"intermediate"})


@dataclass(frozen=True)
class Model:
    schema: str
    name: str
    path: Path
    sql: str
    references: frozenset[str]  # schema.table names the SELECT reads
    parameters: frozenset[str]  # $names it binds

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"


def load_model(path: Path) -> Model:
    sql = path.read_text()
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as error:
        raise LoyaltyError(f"{path}: not valid SQL: {error}") from None
    if not isinstance(tree, exp.Query):
        raise LoyaltyError(f"{path}: a model holds one SELECT (the runner creates the table)")
    references = frozenset(
        f"{table.db}.{table.name}" for table in tree.find_all(exp.Table) if table.db
    )
    parameters = frozenset(node.name for node in tree.find_all(exp.Placeholder))
    return Model(path.parent.name, path.stem, path, sql, references, parameters)


def discover(sql_dir: Path = SQL_DIR) -> list[Model]:
    return [load_model(path) for path in sorted(sql_dir.glob("*/*.sql"))]


def execution_order(models: list[Model]) -> list[Model]:
    """Models sorted so that each runs after every model it reads."""
    by_table = {model.table: model for model in models}
    graph = {model.table: {ref for ref in model.references if ref in by_table} for model in models}
    try:
        return [by_table[table] for table in graphlib.TopologicalSorter(graph).static_order()]
    except graphlib.CycleError as error:
        raise LoyaltyError(f"SQL models reference each other in a cycle: {error.args[1]}") from None


def needed_by(targets: Collection[str], models: list[Model]) -> list[Model]:
    """The models of the `targets` tables and every model they read, directly or not."""
    by_table = {model.table: model for model in models}
    needed: set[str] = set()
    pending = list(targets)
    while pending:
        table = pending.pop()
        if table in by_table and table not in needed:
            needed.add(table)
            pending.extend(by_table[table].references)
    return [by_table[table] for table in sorted(needed)]


def run_models(
    connection: duckdb.DuckDBPyConnection,
    models: list[Model],
    parameters: Mapping[str, object],
) -> dict[str, int]:
    """Build every model as a table; returns the row count of each."""
    from pipelines import sql_functions  # SciPy: see the module's docstring

    sql_functions.register(connection)
    for schema in sorted(WORKING_SCHEMAS & {model.schema for model in models}):
        connection.execute(f"attach if not exists ':memory:' as {schema}")
    counts: dict[str, int] = {}
    for model in execution_order(models):
        missing = model.parameters - parameters.keys()
        if missing:
            raise LoyaltyError(
                f"{model.path}: no value for parameter(s) {', '.join(sorted(missing))}"
            )
        started = time.perf_counter()
        if model.schema not in WORKING_SCHEMAS:  # a working schema is a database (above)
            connection.execute(f"create schema if not exists {model.schema}")
        try:
            connection.execute(
                f"create or replace table {model.table} as\n{model.sql}",
                {name: parameters[name] for name in model.parameters},
            )
        except duckdb.Error as error:
            raise LoyaltyError(f"{model.path}: {error}") from None
        counts[model.table] = connection.sql(f"select count(*) from {model.table}").fetchall()[0][0]
        log.info(
            "built %s: %d rows in %.2fs",
            model.table,
            counts[model.table],
            time.perf_counter() - started,
        )
    return counts
