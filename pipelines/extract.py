"""Landing -> raw: read each delivery under its contract, type it, pseudonymise PII, tag lineage.

Every row read ends up in exactly one place: the raw partition of its delivery, or the
quarantine partition with the reason it was refused. The load audit records both counts
per delivery, so `rows_read = rows_loaded + rows_quarantined` can be checked at any time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from pipelines import pii, storage
from pipelines.config import Settings
from pipelines.errors import ContractError
from pipelines.sources import CONTRACTS, Column, Kind, SourceContract

log = logging.getLogger(__name__)

LINEAGE = ("_source_file", "_export_date", "_source_row", "_load_id")
REASON = "_quarantine_reason"

_TIMESTAMP_WITH_OFFSET = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_TIMESTAMP_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d")
_BOOLEANS = {
    "true": True,
    "t": True,
    "yes": True,
    "1": True,
    "false": False,
    "f": False,
    "no": False,
    "0": False,
}


@dataclass(frozen=True)
class LoadResult:
    """What one delivery of one source gave: the row accounting of the load audit."""

    source: str
    export_date: dt.date
    load_id: str
    source_file: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    extra_columns: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, object]:
        row = asdict(self)
        row["extra_columns"] = ", ".join(self.extra_columns)
        return row


def extract(settings: Settings, export_dates: Sequence[dt.date]) -> list[LoadResult]:
    """Load the deliveries of `export_dates` for every source.

    Idempotent: each delivery's partitions are replaced. Several dates are checked in one
    pass (a backfill) because the per-call cost of Polars dwarfs a day's rows.
    """
    key = pii.load_key(settings)
    results = [
        result
        for contract in CONTRACTS.values()
        for result in _extract_source(settings, contract, export_dates, key)
    ]
    for export_date in export_dates:
        storage.write_partition(
            pl.DataFrame([r.as_row() for r in results if r.export_date == export_date]),
            settings.paths.load_audit_dir,
            export_date,
        )
    return results


def landing_file(settings: Settings, source: str, export_date: dt.date) -> Path:
    directory = settings.paths.landing_dir(export_date)
    path = directory / f"{source}.{settings.landing_format}"
    if not path.is_file():
        raise ContractError(f"{source}: no delivery for {export_date} (expected {path})")
    return path


def _extract_source(
    settings: Settings, contract: SourceContract, export_dates: Sequence[dt.date], key: bytes
) -> list[LoadResult]:
    deliveries = [_read_delivery(settings, contract, day) for day in export_dates]
    checked = check_rows(pl.concat([frame for _, frame, _ in deliveries]), contract, settings)
    is_good = pl.col(REASON).is_null()
    loaded = pseudonymise(_typed_columns(checked.filter(is_good), contract), contract, key)
    quarantined = pseudonymise(_text_columns(checked.filter(~is_good), contract), contract, key)
    loaded_parts = loaded.partition_by("_export_date", as_dict=True)
    quarantined_parts = quarantined.partition_by("_export_date", as_dict=True)

    results = []
    for (path, frame, extra), export_date in zip(deliveries, export_dates, strict=True):
        good = loaded_parts.get((export_date,), loaded.head(0))
        bad = quarantined_parts.get((export_date,), quarantined.head(0))
        storage.write_partition(good, settings.paths.raw_dir(contract.name), export_date)
        storage.write_partition(bad, settings.paths.quarantine_dir(contract.name), export_date)
        result = LoadResult(
            source=contract.name,
            export_date=export_date,
            load_id=frame["_load_id"][0] if frame.height else _load_id(path, export_date),
            source_file=str(path),
            rows_read=frame.height,
            rows_loaded=good.height,
            rows_quarantined=bad.height,
            extra_columns=extra,
        )
        log.debug(
            "%s %s: %d rows read, %d loaded, %d quarantined",
            contract.name,
            export_date,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
        )
        results.append(result)
    return results


def _read_delivery(
    settings: Settings, contract: SourceContract, export_date: dt.date
) -> tuple[Path, pl.DataFrame, list[str]]:
    """The delivery's text with its lineage columns."""
    path = landing_file(settings, contract.name, export_date)
    text_frame, extra = read_as_text(path, contract, settings)
    frame = text_frame.with_columns(
        _source_file=pl.lit(path.name),
        _export_date=pl.lit(export_date),
        _load_id=pl.lit(_load_id(path, export_date)),
    )
    return path, frame, extra


def _load_id(path: Path, export_date: dt.date) -> str:
    """Deterministic: the same delivery loaded twice gets the same id (idempotent raw files)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{export_date:%Y%m%d}-{digest}"


def read_as_text(
    path: Path, contract: SourceContract, settings: Settings
) -> tuple[pl.DataFrame, list[str]]:
    """Every declared column as text plus `_source_row`; refuse a file that breaks the shape."""
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: empty file (not even a header)")
    if settings.landing_format == "csv":
        frame = pl.read_csv(path, infer_schema=False)
    else:
        frame = _parquet_as_text(pl.read_parquet(path))
    missing = [name for name in contract.column_names if name not in frame.columns]
    if missing:
        raise ContractError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"the file has {', '.join(frame.columns)}"
        )
    extra = [name for name in frame.columns if name not in contract.column_names]
    if extra:
        log.warning("%s: ignoring column(s) not in the contract: %s", path, ", ".join(extra))
    return frame.select(contract.column_names).with_row_index("_source_row", offset=1), extra


def _parquet_as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Parquet deliveries are typed already; render them as text so one checker serves both."""
    return frame.with_columns(
        pl.col(pl.Datetime("us", "*")).dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z"),
        pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.f"),
    ).cast(pl.String)


def typed(column: Column, settings: Settings) -> pl.Expr:
    """The typed value of the text column `_text_<name>`; null where the text does not parse."""
    text = _text(column.name)
    match column.kind:
        case Kind.STRING:
            return text
        case Kind.INTEGER:
            return text.cast(pl.Int64, strict=False)
        case Kind.NUMBER:
            return text.cast(pl.Float64, strict=False)
        case Kind.BOOLEAN:
            return text.str.to_lowercase().replace_strict(
                _BOOLEANS, default=None, return_dtype=pl.Boolean
            )
        case Kind.TIMESTAMP:
            with_offset = [
                text.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
                for fmt in _TIMESTAMP_WITH_OFFSET
            ]
            naive = [
                text.str.to_datetime(fmt, strict=False, time_unit="us")
                .dt.replace_time_zone(settings.source_timezone, non_existent="null")
                .dt.convert_time_zone("UTC")
                for fmt in _TIMESTAMP_NAIVE
            ]
            return pl.coalesce(*with_offset, *naive)


def _text(name: str) -> pl.Expr:
    """The text of a column as delivered, with blank meaning absent."""
    stripped = pl.col(f"_text_{name}").str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def check_rows(frame: pl.DataFrame, contract: SourceContract, settings: Settings) -> pl.DataFrame:
    """Typed columns under their own names, the text as `_text_<name>`, and `_quarantine_reason`
    (null for a good row) listing every type, presence, rule and key problem of the row."""
    names = contract.column_names
    typed_frame = frame.rename({name: f"_text_{name}" for name in names}).with_columns(
        typed(column, settings).alias(column.name) for column in contract.columns
    )
    problems: list[pl.Expr] = []
    for column in contract.columns:
        text, value = _text(column.name), pl.col(column.name)
        if column.required:
            problems.append(pl.when(text.is_null()).then(pl.lit(f"{column.name}: missing")))
        problems.append(
            pl.when(text.is_not_null() & value.is_null()).then(
                pl.concat_str(
                    pl.lit(f"{column.name}: cannot read '"), text, pl.lit(f"' as {column.kind}")
                )
            )
        )
    for rule in contract.rules:
        problems.append(
            pl.when(rule.is_broken(settings).fill_null(False)).then(pl.lit(rule.reason))
        )
    problems.extend(_future_timestamps(contract))
    # concat_str, not concat_list + list.join: the list route is twenty times slower.
    reasons = pl.concat_str(problems, separator="; ", ignore_nulls=True)
    checked = typed_frame.with_columns(
        pl.when(reasons == "").then(None).otherwise(reasons).alias(REASON)
    )
    return _quarantine_duplicate_keys(checked, contract)


def _future_timestamps(contract: SourceContract) -> list[pl.Expr]:
    """A delivery cannot hold an event after the end of its own export day."""
    day_after = (pl.col("_export_date") + pl.duration(days=1)).cast(pl.Datetime("us", "UTC"))
    return [
        pl.when(pl.col(column.name) >= day_after).then(
            pl.lit(f"{column.name} after the export date")
        )
        for column in contract.columns
        if column.kind is Kind.TIMESTAMP
    ]


def _quarantine_duplicate_keys(checked: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    """A version of an entity is its key and `updated_at`; a delivery holds it once.

    Exact repeats keep their first row. Rows of the same version that disagree are all
    refused, since nothing says which one is right. Different versions of one key in one
    delivery are fine: staging keeps the latest.
    """
    payload = [f"_text_{name}" for name in contract.column_names]
    in_version = pl.col(contract.key).is_not_null() & pl.col(REASON).is_null()
    version = [
        pl.col("_export_date"),
        pl.when(in_version).then(pl.col(contract.key)),
        pl.when(in_version).then(pl.col(contract.updated_at)),
    ]
    conflicting = pl.struct(payload).n_unique().over(version) > 1
    repeated = pl.struct(payload).is_first_distinct().not_().over(version)
    return checked.with_columns(
        pl.when(in_version & conflicting)
        .then(pl.lit(f"{contract.key} and {contract.updated_at} repeat with different values"))
        .when(in_version & repeated)
        .then(pl.lit("exact repeat of an earlier row of this delivery"))
        .otherwise(pl.col(REASON))
        .alias(REASON)
    )


def _typed_columns(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    return frame.select(*contract.column_names, *LINEAGE)


def _text_columns(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    """Quarantined rows keep the text exactly as delivered, to be read and fixed at the source."""
    return frame.select(
        *(pl.col(f"_text_{name}").alias(name) for name in contract.column_names),
        REASON,
        *LINEAGE,
    )


def pseudonymise(frame: pl.DataFrame, contract: SourceContract, key: bytes) -> pl.DataFrame:
    """Replace each PII column by `<name>_hash`; the raw value is dropped here, in extract."""
    pii_columns = [column for column in contract.columns if column.pii is not None]
    if not pii_columns:
        return frame
    normal = frame.select(pii.normalised(column.name, column.pii) for column in pii_columns)
    return frame.with_columns(
        pii.keyed_hash(normal[column.name], key).alias(f"{column.name}_hash")
        for column in pii_columns
    ).drop(column.name for column in pii_columns)
