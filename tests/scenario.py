"""Write tiny hand-made exports into a landing folder, the way the CRM would deliver them.

Tests describe rows as dicts; every export date from the first to the last gets a file
per source (header only when nothing changed that day), as real deliveries do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import polars as pl

from pipelines import run
from pipelines.config import Settings
from pipelines.periods import date_range
from pipelines.sources import CONTRACTS

Row = Mapping[str, object]


def write_landing(
    settings: Settings,
    rows: Mapping[str, Iterable[Row]],
    start: dt.date,
    end: dt.date,
) -> None:
    """`rows[source]` are delivered on the date of their `updated_at` (or `_export_date`)."""
    by_date: dict[tuple[str, dt.date], list[Row]] = {}
    for source, source_rows in rows.items():
        for row in source_rows:
            day = row.get("_export_date") or dt.date.fromisoformat(str(row["updated_at"])[:10])
            by_date.setdefault((source, day), []).append(row)  # type: ignore[arg-type]
    for day in date_range(start, end):
        directory = settings.paths.landing_dir(day)
        directory.mkdir(parents=True, exist_ok=True)
        for source, contract in CONTRACTS.items():
            records = [
                {name: _text(row.get(name)) for name in contract.column_names}
                for row in by_date.get((source, day), [])
            ]
            frame = pl.DataFrame(records, schema=dict.fromkeys(contract.column_names, pl.String))
            frame.write_csv(directory / f"{source}.csv")


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def publish_as_of(settings: Settings, start: dt.date, as_of: dt.date) -> duckdb.DuckDBPyConnection:
    """Run the whole pipeline over the landing folder and open the published warehouse."""
    run.backfill(settings, start, as_of)
    return duckdb.connect(str(settings.paths.warehouse_db), read_only=True)


def customer(customer_id: str, signup_at: str, **fields: object) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "email": f"{customer_id.lower()}@example.com",
        "phone": "+40 700 000 000",
        "full_name": "Test Person",
        "signup_at": signup_at,
        "country": "RO",
        "acquisition_channel": "organic",
        "birth_year": 1990,
        "is_loyalty_member": False,
        "updated_at": signup_at,
        **fields,
    }


def order(
    order_id: str, customer_id: str, ordered_at: str, amount: float, **fields: object
) -> dict[str, object]:
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "ordered_at": ordered_at,
        "status": "completed",
        "amount": amount,
        "refund_amount": 0,
        "currency": "EUR",
        "channel": "web",
        "updated_at": ordered_at,
        **fields,
    }


def response(
    response_id: str,
    customer_id: str | None,
    submitted_at: str,
    nps_score: object,
    **fields: object,
) -> dict[str, object]:
    return {
        "response_id": response_id,
        "customer_id": customer_id,
        "submitted_at": submitted_at,
        "wave": "2025-Q1",
        "nps_score": nps_score,
        "satisfaction": 4,
        "language": "en",
        "updated_at": submitted_at,
        **fields,
    }


def landing_digest(root: Path) -> str:
    """One hash of every file under `root`, names included: equal landings, equal digests."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()
