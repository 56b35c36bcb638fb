"""Where an interrupted backfill stopped, so running it again resumes there.

`data/ops/backfill.json` holds the range of the backfill under way and the last export
date loaded into the raw layer; it is removed once the backfill has published.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from pipelines import storage
from pipelines.config import Layout
from pipelines.periods import date_range

log = logging.getLogger(__name__)


def remaining(layout: Layout, start: dt.date, end: dt.date) -> list[dt.date]:
    """The dates of `start`..`end` an earlier run of the same backfill has not done."""
    days = date_range(start, end)
    if not layout.backfill_progress.is_file():
        return days
    progress = json.loads(layout.backfill_progress.read_text())
    if (progress["start"], progress["end"]) != (start.isoformat(), end.isoformat()):
        log.warning(
            "an unfinished backfill of %s..%s is replaced by %s..%s",
            progress["start"],
            progress["end"],
            start,
            end,
        )
        return days
    done_through = dt.date.fromisoformat(progress["done_through"])
    return [day for day in days if day > done_through]


def record(layout: Layout, start: dt.date, end: dt.date, done_through: dt.date) -> None:
    progress = {"start": start.isoformat(), "end": end.isoformat()}
    progress["done_through"] = done_through.isoformat()
    storage.write_text_atomic(json.dumps(progress), layout.backfill_progress)


def finish(layout: Layout) -> None:
    layout.backfill_progress.unlink(missing_ok=True)
