"""The `loyalty` command end to end, as a user runs it: a real process, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import TEST_PII_KEY

pytestmark = pytest.mark.integration

LOYALTY = str(Path(sys.executable).parent / "loyalty")


def _loyalty(
    data_dir: Path, *args: str, key: bool = True, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["LOYALTY_DATA_DIR"] = str(data_dir)
    if key:
        env["LOYALTY_PII_KEY"] = TEST_PII_KEY
    env |= {f"LOYALTY_{name.upper()}": value for name, value in settings.items()}
    return subprocess.run([LOYALTY, *args], env=env, capture_output=True, text=True, check=False)


def test_generate_backfill_then_nightly_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generated = _loyalty(
        data, "generate", "--customers", "300", "--months", "2", "--start", "2025-01-01"
    )
    assert generated.returncode == 0, generated.stderr
    assert "2025-01-01 to 2025-02-28" in generated.stdout

    backfilled = _loyalty(data, "backfill", "--start", "2025-01-01", "--end", "2025-02-27")
    assert backfilled.returncode == 0, backfilled.stderr
    assert "Loyalty warehouse as of 2025-02-27" in backfilled.stdout

    nightly = _loyalty(data, "run", "--date", "2025-02-28")
    assert nightly.returncode == 0, nightly.stderr
    # 2025-02-28 is the last day of February, so February is the latest complete month.
    for line in ("customers", "orders", "survey responses", "NPS February 2025", "warehouse"):
        assert line in nightly.stdout
    with duckdb.connect(str(data / "warehouse" / "loyalty.duckdb"), read_only=True) as connection:
        releases = connection.sql("select as_of from ops.releases order by as_of").fetchall()
        unbalanced = connection.sql(
            "select count(*) from ops.load_audit where not is_balanced"
        ).fetchall()
    assert [str(day) for (day,) in releases] == ["2025-02-27", "2025-02-28"]
    assert unbalanced == [(0,)]

    # An old date run again after the newest: the warehouse stays as of the newest.
    again = _loyalty(data, "run", "--date", "2025-02-27")
    assert again.returncode == 0, again.stderr
    assert "Loyalty warehouse as of 2025-02-28" in again.stdout
    listed = _loyalty(data, "checksums")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert any(line.endswith("  marts.nps_monthly") for line in lines)
    assert not any(line.endswith("ops.releases") for line in lines)  # a record of runs


def test_demo_runs_from_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    demo = _loyalty(data, "demo", "--customers", "300", "--months", "4", key=False)
    assert demo.returncode == 0, demo.stderr
    assert "created a demo PII key" in demo.stdout
    assert "3-month retention of the" in demo.stdout
    assert "NPS February 2025" in demo.stdout  # demo data: 2024-11-01 plus 4 months
    key_file = data / "secrets" / "pii.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--date", "2025-13-01"), "error: not a date: '2025-13-01'"),
        (("run", "--date", "2025-01-01"), "error: customers: no delivery for 2025-01-01"),
        (
            ("backfill", "--start", "2025-02-01", "--end", "2025-01-01"),
            "error: --end 2025-01-01 is before",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = _loyalty(tmp_path / "data", *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()  # progress lines may come first
    assert lines[-1].startswith(message), result.stderr
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]]
    assert "Traceback" not in result.stderr


def test_missing_key_says_how_to_make_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _loyalty(data, "generate", "--customers", "50", "--months", "1", "--start", "2025-01-01")
    result = _loyalty(data, "run", "--date", "2025-01-01", key=False)
    assert result.returncode == 1
    assert "no PII key: set LOYALTY_PII_KEY" in result.stderr
    assert "loyalty keygen" in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _loyalty(tmp_path / "data", "--debug", "run", "--date", "2025-13-01")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_a_refused_load_is_one_line_and_the_published_warehouse_stays(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _loyalty(data, "generate", "--customers", "300", "--months", "2", "--start", "2025-01-01")
    assert (
        _loyalty(data, "backfill", "--start", "2025-01-01", "--end", "2025-02-27").returncode == 0
    )
    published = (data / "warehouse" / "current").resolve()
    # The CRM sends the day's orders with every amount negated: each row is quarantined,
    # and a delivery quarantined whole is a broken export, not a day of bad luck.
    orders = data / "landing" / "2025-02-28" / "orders.csv"
    header, *rows = orders.read_text().splitlines()
    amount = header.split(",").index("amount")
    negated = [row.split(",") for row in rows]
    for fields in negated:
        fields[amount] = "-" + fields[amount]
    orders.write_text("\n".join([header, *(",".join(fields) for fields in negated)]) + "\n")

    refused = _loyalty(data, "run", "--date", "2025-02-28", quality_min_rows="1")

    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in refused.stderr
    assert errors[0].startswith(
        "error: raw gate refused the load (2025-02-28): checks.deliveries: "
        "expect_column_values_to_be_between(quarantine_share) failed on 1 of 3 rows, "
        "e.g. 1 (source=orders, export_date=2025-02-28)"
    )
    page = Path(errors[0].split("full result: file://")[1].split(" ")[0].replace("%20", " "))
    assert page.is_file()
    assert (data / "warehouse" / "current").resolve() == published
    with duckdb.connect(str(data / "warehouse" / "loyalty.duckdb"), read_only=True) as connection:
        as_of = connection.sql("select max(as_of) from ops.releases").fetchall()[0][0]
    assert str(as_of) == "2025-02-27"
