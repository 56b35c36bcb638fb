"""A checksum per published table, to tell whether two warehouses hold the same data.

Used to prove that a re-run, or dates run out of order, publish the same warehouse as
runs in order, and by operators comparing a nightly warehouse with a full refresh
(`loyalty checksums`). The checksum of a table is its row count and the sum of a hash of
each row, so it does not depend on row order.

What records how the runs went rather than what they computed is left out: the list of
releases, and the gates' verdicts (with their times, pages, and row counts that include
run histories, so they grow with the number of runs). The CLV run histories keep one
row per run; they are compared on the rows of the newest run only.

Floating-point values are compared to 9 significant digits, and as zero below 1e-9.
Polars adds a group's floats in an order that varies from call to call, so the money sums
of the facts and the CLV stage's revenue are summed in whole millionths, as integers
(pipelines/transform/money.py): on the demo data a re-run of the same date now publishes
the same checksum for every table (it changed 10 of 30 before). What is left can differ
in the last bits only: floats Polars aggregates other than money (means of scores). The
SQL models sum money and scores exactly (decimals, integers) and add any other doubles
in a fixed order, so DuckDB gives the same numbers on any number of threads. On the M
benchmark (1,000,000 customers) two re-runs of the same date publish every table to the
last bit, once the CLV's discounted sum stopped depending on the order of its rows
(pipelines/clv/score.py; before, 12 to 139 customers' `clv_12m` moved by an ulp).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# Records of the runs themselves: which releases were published, how each gate judged.
RUN_RECORDS = {"ops.releases", "ops.gate_results"}
SIGNIFICANT_DIGITS = 9
NOISE_FLOOR = 1e-9
# Run histories, and the column that says which run a row belongs to.
RUN_HISTORIES = {
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
            if table not in RUN_RECORDS
        }


def table_checksum(connection: duckdb.DuckDBPyConnection, table: str) -> str:
    described = connection.execute(f"select column_name, column_type from (describe {table})")
    columns = ", ".join(_comparable(name, kind) for name, kind in described.fetchall())
    newest_run = ""
    if table in RUN_HISTORIES:
        run = RUN_HISTORIES[table]
        newest_run = f" where {run} = (select max({run}) from {table})"
    rows, digest = connection.execute(
        f"select count(*), coalesce(sum(hash(r)), 0) from (select {columns} from {table}"
        f"{newest_run}) r"
    ).fetchall()[0]
    return f"{rows}:{digest:x}"


def _comparable(column: str, kind: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    if kind not in ("DOUBLE", "FLOAT"):
        return quoted
    magnitude = f"cast(floor(log10(abs({quoted}))) as integer)"
    rounded = f"round({quoted}, {SIGNIFICANT_DIGITS - 1} - {magnitude})"
    # Below the noise floor a value is zero (a correlation of exactly nothing may come out
    # as 1e-17 one time and -2e-17 the next).
    return (
        f"case when not isfinite({quoted}) then {quoted} when abs({quoted}) < {NOISE_FLOOR} "
        f"then 0 else {rounded} end"
    )
