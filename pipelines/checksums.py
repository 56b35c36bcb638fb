"""A checksum per published table, to tell whether two warehouses hold the same data.

Used to prove that a re-run, or dates run out of order, publish the same warehouse as
runs in order, and by operators comparing a nightly warehouse with a full refresh
(`loyalty checksums`). The checksum of a table is its row count and the sum of a hash of
each row, so it does not depend on row order.

What records how a run happened rather than what it computed is left out: the release
list, when a gate ran and where its page is. Run histories keep one row per run; they
are compared on the rows of the newest run only.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# Tables that only name releases: what they hold is a history of publishing.
RELEASE_HISTORY = {"ops.releases"}
# Columns that say when or where a run happened.
RUN_METADATA = {"ops.gate_results": ("validated_at", "data_docs_page")}
# Run histories, and the column that says which run a row belongs to.
RUN_HISTORIES = {
    "ops.gate_results": "run_date",
    "ops.clv_model_runs": "as_of",
    "ops.clv_backtests": "as_of",
}


def of_database(path: Path) -> dict[str, str]:
    """`schema.table` -> `rows:hash` for every table of a warehouse file, opened read-only."""
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where not internal order by 1"
        ).fetchall()
        return {
            table: table_checksum(connection, table)
            for (table,) in tables
            if table not in RELEASE_HISTORY
        }


def table_checksum(connection: duckdb.DuckDBPyConnection, table: str) -> str:
    dropped = RUN_METADATA.get(table, ())
    columns = f"* exclude ({', '.join(dropped)})" if dropped else "*"
    newest_run = ""
    if table in RUN_HISTORIES:
        run = RUN_HISTORIES[table]
        newest_run = f" where {run} = (select max({run}) from {table})"
    rows, digest = connection.execute(
        f"select count(*), coalesce(sum(hash(r)), 0) from (select {columns} from {table}"
        f"{newest_run}) r"
    ).fetchall()[0]
    return f"{rows}:{digest:x}"
