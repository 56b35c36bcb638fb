"""No raw personal data past the landing files: not in the published warehouse, not in its
Parquet export, not in any layer, result, Data Docs page or log the pipeline writes.

The scan looks for e-mail addresses, phone numbers and the full names the generator draws
from (pipelines/synth/text.py); it first proves it finds them in the landing files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.synth.text import name_pool

pytestmark = pytest.mark.integration

LOYALTY = str(Path(sys.executable).parent / "loyalty")
DEMO_SEED = 42  # `loyalty demo` generates with the default seed
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# International numbers as the generator writes them ("+40 7...", "+373 6..."), with or
# without spaces; ISO timestamps' "+02:00" do not match.
PHONE = r"\+\d{1,3}[ ]?\d[\d ]{6,}"
# Where personal data is allowed: the deliveries themselves and the secret key.
EXEMPT = ("landing", "secrets")


def _hits(values: pl.Series, names: list[str]) -> list[str]:
    text = values.drop_nulls()
    found = text.filter(text.str.contains(f"{EMAIL}|{PHONE}") | text.str.contains_any(names))
    return found.head(3).to_list()


def _frame_hits(frame: pl.DataFrame, names: list[str]) -> dict[str, list[str]]:
    """Hits per text column (a number cannot hold an address, a "+" or a name)."""
    hits = {
        column: _hits(frame[column], names) for column in frame.select(pl.col(pl.String)).columns
    }
    return {column: found for column, found in hits.items() if found}


def _database_hits(path: Path, names: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.sql(
            "select schema_name || '.' || table_name from duckdb_tables()"
        ).fetchall()
        for (table,) in tables:
            for column, values in _frame_hits(connection.table(table).pl(), names).items():
                found[f"{path}:{table}.{column}"] = values
    return found


def _hits_in_files(paths: list[Path], names: list[str]) -> dict[str, list[str]]:
    """Parquet files read together per schema, DuckDB files table by table, the rest as text."""
    found: dict[str, list[str]] = {}
    by_schema: dict[str, list[Path]] = {}
    texts = []
    for path in paths:
        if path.suffix == ".parquet":
            by_schema.setdefault(str(pl.read_parquet_schema(path)), []).append(path)
        elif path.suffix == ".duckdb":
            found |= _database_hits(path, names)
        else:
            texts.append(path.read_text(errors="replace"))
    for files in by_schema.values():
        for column, values in _frame_hits(pl.read_parquet(files), names).items():
            found[f"{files[0].parent.parent}/*:{column}"] = values
    text_hits = _hits(pl.Series(texts, dtype=pl.String), names)
    if text_hits:
        found["text files"] = [hit[:200] for hit in text_hits]
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small `loyalty demo`, run as a user runs it (logs, key file and all)."""
    data = tmp_path_factory.mktemp("personal_data") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["LOYALTY_DATA_DIR"] = str(data)
    result = subprocess.run(
        [LOYALTY, "demo", "--customers", "300", "--months", "3"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return data


@pytest.fixture(scope="module")
def names() -> list[str]:
    return [name for pool in name_pool(DEMO_SEED).values() for name in pool]


def test_the_scan_finds_personal_data_in_the_landing_files(demo: Path, names: list[str]) -> None:
    customers = next((demo / "landing").glob("*/customers.csv"))
    hits = _frame_hits(pl.read_csv(customers, infer_schema=False), names)
    assert set(hits) == {"email", "phone", "full_name"}
    assert _hits_in_files(sorted((demo / "landing").rglob("*.csv")), names)


def test_the_published_warehouse_and_its_parquet_export_hold_no_personal_data(
    demo: Path, names: list[str]
) -> None:
    warehouse = demo / "warehouse"
    assert _database_hits(warehouse / "loyalty.duckdb", names) == {}
    exports = sorted((warehouse / "parquet").glob("*.parquet"))
    assert {path.stem for path in exports} >= {"marts.nps_monthly", "ops.gate_results"}
    assert _hits_in_files(exports, names) == {}


def test_no_layer_result_page_or_log_holds_personal_data(demo: Path, names: list[str]) -> None:
    scanned = [
        path
        for path in demo.rglob("*")
        if path.is_file()
        and not path.is_symlink()
        and path.relative_to(demo).parts[0] not in EXEMPT
        # Great Expectations' own fonts, images and styles, shipped with every site.
        and "static" not in path.relative_to(demo).parts
    ]
    layers = {path.relative_to(demo).parts[0] for path in scanned}
    layers_written = {"raw", "quarantine", "staging_snapshots", "facts", "build", "quality", "logs"}
    assert layers_written | {"ops"} <= layers
    assert _hits_in_files(scanned, names) == {}
