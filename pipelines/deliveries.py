"""Which deliveries the raw gate accepted: the only ones the layers after raw are built from.

A delivery (every source of one export date) is accepted when the raw gate passes on it,
and each acceptance gets a new id. Extracting a date again withdraws its acceptance until
the gate has judged the new load, so a refused delivery, or one whose run was killed
between extract and gate, waits in the raw layer instead of reaching the warehouse. The
staging snapshot records the acceptance ids it was built from, which is how a run knows
whether it may merge only the newer deliveries (`pipelines.transform.snapshots`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from pipelines import storage
from pipelines.config import Layout


def withdraw(layout: Layout, export_dates: Iterable[dt.date]) -> None:
    for day in export_dates:
        (layout.accepted_deliveries_dir / day.isoformat()).unlink(missing_ok=True)


def accept(layout: Layout, export_dates: Iterable[dt.date]) -> None:
    for day in export_dates:
        storage.write_text_atomic(
            uuid.uuid4().hex, layout.accepted_deliveries_dir / day.isoformat()
        )


def accepted(layout: Layout, up_to: dt.date | None = None) -> dict[dt.date, str]:
    """Accepted export dates (on or before `up_to`) and their acceptance ids, oldest first."""
    directory = layout.accepted_deliveries_dir
    if not directory.is_dir():
        return {}
    found = {
        dt.date.fromisoformat(marker.name): marker.read_text()
        for marker in directory.iterdir()
        if not marker.name.startswith(".")
    }
    return {day: found[day] for day in sorted(found) if up_to is None or day <= up_to}


def newest(layout: Layout) -> dt.date | None:
    return max(accepted(layout), default=None)
