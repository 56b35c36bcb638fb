"""A facts table kept as one Parquet file per month, rewritten only when its inputs change,
and judged by the facts gate only when rewritten.

Each file carries, in its Parquet metadata, the digest of the inputs it was computed from
(`facts.order_month_inputs`, `facts.customer_month_inputs`). A run computes every month's
digest and recomputes only the months whose file is missing or carries another digest: a
nightly run rewrites the months its data touches, and a run killed half way leaves files
that are each complete and labelled with what they hold, so the next run redoes only the
rest. A file is written beside its final name and renamed into place, like every other
layer's.

`judged.json` records the months the facts gate passed, each with the file's digest and
the suite that judged it. Rewriting a month first removes its record, so a month is
judged again whenever its file or the suite changes, and a month of a refused load stays
unjudged until a gate passes it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import polars as pl

from pipelines import storage

DIGEST_KEY = "loyalty.inputs_digest"
JUDGED_FILE = "judged.json"


def path(directory: Path, month: dt.date) -> Path:
    return directory / f"{month:%Y-%m}.parquet"


def month(file: Path) -> dt.date:
    """The month a file of `path` holds (its name)."""
    return dt.date.fromisoformat(f"{file.stem}-01")


def files(directory: Path) -> list[Path]:
    """Every month's file, oldest month first."""
    return sorted(directory.glob("*.parquet"))


def by_month(directory: Path) -> dict[dt.date, Path]:
    """Every month's file, by month, oldest first."""
    return {month(file): file for file in files(directory)}


def outdated(directory: Path, digests: Mapping[dt.date, str]) -> list[dt.date]:
    """Months whose file is missing or was computed from other inputs."""
    return [month for month, digest in digests.items() if _digest(path(directory, month)) != digest]


def batches(
    months: list[dt.date], rows: Mapping[dt.date, int], batch_rows: int
) -> Iterator[list[dt.date]]:
    """`months` in order, grouped into batches of about `batch_rows` rows (at least one
    month each): what is computed or split in memory at a time."""
    batch: list[dt.date] = []
    held = 0
    for month in months:
        if batch and held + rows[month] > batch_rows:
            yield batch
            batch, held = [], 0
        batch.append(month)
        held += rows[month]
    if batch:
        yield batch


def remove_other_months(directory: Path, months: Collection[dt.date]) -> None:
    """Delete the files of months outside `months` (months no longer on the spine)."""
    keep = {path(directory, month) for month in months}
    for stale in files(directory):
        if stale not in keep:
            stale.unlink()


def write(frame: pl.DataFrame, directory: Path, month: dt.date, digest: str) -> None:
    file = path(directory, month)
    judged = _judged(directory)
    if judged.pop(file.name, None) is not None:
        _write_judged(directory, judged)
    storage.write_parquet_atomic(frame, file, metadata={DIGEST_KEY: digest})


def unjudged(directory: Path, suite_digest: str) -> list[Path]:
    """The month files this suite has not passed as they are now."""
    judged = _judged(directory)
    return [
        file
        for file in files(directory)
        if judged.get(file.name) != {"inputs": _digest(file), "suite": suite_digest}
    ]


def mark_judged(directory: Path, passed: list[Path], suite_digest: str) -> None:
    judged = _judged(directory)
    for file in passed:
        judged[file.name] = {"inputs": _digest(file), "suite": suite_digest}
    _write_judged(directory, judged)


def _judged(directory: Path) -> dict[str, dict[str, str | None]]:
    record = directory / JUDGED_FILE
    return json.loads(record.read_text()) if record.is_file() else {}


def _write_judged(directory: Path, judged: dict[str, dict[str, str | None]]) -> None:
    storage.write_text_atomic(json.dumps(judged, indent=1, sort_keys=True), directory / JUDGED_FILE)


def _digest(file: Path) -> str | None:
    if not file.is_file():
        return None
    return pl.read_parquet_metadata(file).get(DIGEST_KEY)
