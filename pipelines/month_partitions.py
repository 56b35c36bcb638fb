"""A facts table kept as one Parquet file per period month, rewritten only when its inputs
change.

Each file carries, in its Parquet metadata, the digest of the inputs it was computed from
(`facts.customer_month_inputs`). A run computes every month's digest and recomputes only
the months whose file is missing or carries another digest: a nightly run rewrites the
months its data touches, and a run killed half way leaves files that are each complete
and labelled with what they hold, so the next run redoes only the rest. A file is
written beside its final name and renamed into place, like every other layer's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path

import polars as pl

from pipelines import storage

DIGEST_KEY = "loyalty.inputs_digest"


def path(directory: Path, month: dt.date) -> Path:
    return directory / f"{month:%Y-%m}.parquet"


def files(directory: Path) -> list[Path]:
    """Every month's file, oldest month first."""
    return sorted(directory.glob("*.parquet"))


def outdated(directory: Path, digests: Mapping[dt.date, str]) -> list[dt.date]:
    """Months whose file is missing or was computed from other inputs."""
    return [month for month, digest in digests.items() if _digest(path(directory, month)) != digest]


def remove_other_months(directory: Path, months: Collection[dt.date]) -> None:
    """Delete the files of months outside `months` (months no longer on the spine)."""
    keep = {path(directory, month) for month in months}
    for stale in files(directory):
        if stale not in keep:
            stale.unlink()


def write(frame: pl.DataFrame, directory: Path, month: dt.date, digest: str) -> None:
    storage.write_parquet_atomic(frame, path(directory, month), metadata={DIGEST_KEY: digest})


def _digest(file: Path) -> str | None:
    if not file.is_file():
        return None
    return pl.read_parquet_metadata(file).get(DIGEST_KEY)
