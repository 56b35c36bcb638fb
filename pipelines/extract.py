"""Landing -> raw: read each delivery under its contract, type it, pseudonymise PII, tag lineage.

Every row read ends up in exactly one place: the raw partition of its delivery, or the
quarantine partition with the reason it was refused. The load audit records both counts
per delivery, so `rows_read = rows_loaded + rows_quarantined` can be checked at any time.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from pipelines import pii, storage
from pipelines.config import Settings
from pipelines.errors import ContractError
from pipelines.sources import CONTRACTS, Column, Kind, SourceContract

log = logging.getLogger(__name__)

LINEAGE = ("_source_file", "_export_date", "_source_row", "_source_line", "_load_id")
REASON = "_quarantine_reason"
# Read from the file's shape, beside its columns: where a record starts, what is wrong with it.
SHAPE_COLUMNS = ("_source_line", "_shape_problem")
_LOOKS_LIKE_A_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*")

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
    # Only what really lies under landing/ is read: a symlinked file or date folder that
    # leads elsewhere (to the PII key, say) would copy it into raw and quarantine.
    landing = settings.paths.landing.resolve()
    if not path.resolve().is_relative_to(landing):
        raise ContractError(
            f"{path}: leads to {path.resolve()}, outside the landing folder {landing}; "
            "refusing to read it"
        )
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
            source_file=path.relative_to(settings.paths.root).as_posix(),
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
    """Every declared column as text plus `_source_row` (1 = first record after the header),
    `_source_line` (the line of the file the record starts on; null for Parquet) and
    `_shape_problem`; refuse a file that breaks the shape of the contract."""
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: empty file (not even a header)")
    if settings.landing_format == "csv":
        frame = _csv_as_text(path, contract.name, settings.encoding_of(contract.name))
    else:
        frame = _parquet_as_text(path, contract)
    delivered = [name for name in frame.columns if name not in SHAPE_COLUMNS]
    _require_columns(path, delivered, contract)
    extra = [name for name in delivered if name not in contract.column_names]
    if extra:
        log.warning("%s: ignoring column(s) not in the contract: %s", path, ", ".join(extra))
    return frame.select(*contract.column_names, *SHAPE_COLUMNS).with_row_index(
        "_source_row", offset=1
    ), extra


def _require_columns(path: Path, delivered: list[str], contract: SourceContract) -> None:
    missing = [name for name in contract.column_names if name not in delivered]
    if not missing:
        return
    unexpected = [name for name in delivered if name not in contract.column_names]
    if len(delivered) == 1 and any(mark in delivered[0] for mark in ";\t|"):
        hint = "the header is a single column: is the file delimited by something else than ','?"
    elif not all(_LOOKS_LIKE_A_NAME.fullmatch(name) for name in delivered):
        # Never echo it: a first line that is not a header may be a customer's data.
        hint = "the first line does not look like a header (a file without one?)"
    elif unexpected:
        hint = f"it has column(s) the contract does not know: {', '.join(unexpected)} (renamed?)"
    else:
        hint = f"the file has {', '.join(delivered)}"
    raise ContractError(f"{path}: missing column(s) {', '.join(missing)}; {hint}")


def _decoded(path: Path, source: str, encoding: str) -> str:
    """The file's text; a byte that is not valid in the declared encoding is a clear error
    naming its place, never a guess (a wrong guess turns Cyrillic into mojibake)."""
    data = path.read_bytes()
    # UTF-8 files may start with a byte-order mark; it is not part of the first column's name.
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise ContractError(
            f"{path}: byte 0x{data[error.start]:02x} at line {line}, column {column} (offset "
            f"{error.start}) is not valid {encoding}; if {source} are exported in another "
            f"encoding, declare it: LOYALTY_SOURCE_ENCODINGS__{source.upper()}=<encoding>"
        ) from None


def _csv_as_text(path: Path, source: str, encoding: str) -> pl.DataFrame:
    """The file's columns as text plus the shape columns, one row per record.

    Polars parses the values; the standard library's reader walks the same text once more
    for what Polars does not report: where each record starts (a quoted value may span
    lines) and how many fields it has (Polars pads a short row with nulls). Blank lines
    are not records.
    """
    text = _decoded(path, source, encoding)
    if not text.strip():
        raise ContractError(f"{path}: no header, only blank space")
    header_width, starts, widths = _csv_records(path, text)
    try:
        frame = pl.read_csv(text.encode(), infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError:
        # Polars' message quotes the file's content, which may be personal data.
        raise ContractError(
            f"{path}: not readable as CSV (a quote inside an unquoted value?)"
        ) from None
    if frame.height != len(widths):
        raise ContractError(
            f"{path}: the CSV readers disagree on the number of records "
            f"({frame.height} and {len(widths)}); check its quoting"
        )
    shape = pl.DataFrame(
        {"_source_line": starts, "_fields": widths},
        schema=dict.fromkeys(("_source_line", "_fields"), pl.Int64),
    )
    return (
        pl.concat([frame, shape], how="horizontal")
        .filter(pl.col("_fields") > 0)
        .with_columns(
            _shape_problem=pl.when(pl.col("_fields") != header_width).then(
                pl.format("line has {} fields, the header has " + str(header_width), "_fields")
            )
        )
        .drop("_fields")
    )


def _csv_records(path: Path, text: str) -> tuple[int, list[int], list[int]]:
    """Header width, then the first line and field count of every record (0: a blank line)."""
    if '"' not in text and "\r" not in text:
        return _unquoted_csv_records(text)
    return _quoted_csv_records(path, text)


def _quoted_csv_records(path: Path, text: str) -> tuple[int, list[int], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    starts: list[int] = []
    widths: list[int] = []
    last_line = 0
    try:
        for fields in reader:
            starts.append(last_line + 1)
            widths.append(len(fields))
            last_line = reader.line_num
    except csv.Error as error:
        raise ContractError(f"{path}: line {last_line + 1}: not valid CSV ({error})") from None
    return widths[0], starts[1:], widths[1:]


def _unquoted_csv_records(text: str) -> tuple[int, list[int], list[int]]:
    """What `_csv_records` finds, for a text without quotes or carriage returns: each line
    is a record and its fields are its commas plus one. Counted by Polars, not the
    standard library's reader, which costs a sixth of an extract (docs/performance.md)."""
    lines = pl.Series(text.removesuffix("\n").split("\n"))
    widths = pl.select(
        pl.when(lines == "").then(0).otherwise(lines.str.count_matches(",", literal=True) + 1)
    ).to_series()
    return widths[0], list(range(2, len(lines) + 1)), widths[1:].to_list()


def _parquet_as_text(path: Path, contract: SourceContract) -> pl.DataFrame:
    """Parquet deliveries are typed already; render them as text so one checker serves both.

    A column whose type cannot hold its kind (a boolean `amount`, a number `signup_at`) is
    a broken contract, not a file of bad rows.
    """
    frame = pl.read_parquet(path)
    for column in contract.columns:
        if column.name in frame.columns and not _holds(frame.schema[column.name], column.kind):
            raise ContractError(
                f"{path}: column {column.name} is {frame.schema[column.name]}, "
                f"the contract says {column.kind}"
            )
    return (
        frame.with_columns(
            pl.col(pl.Datetime("us", "*")).dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z"),
            pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.f"),
        )
        .cast(pl.String)
        .with_columns(
            _source_line=pl.lit(None, dtype=pl.Int64), _shape_problem=pl.lit(None, dtype=pl.String)
        )
    )


def _holds(dtype: pl.DataType, kind: Kind) -> bool:
    if dtype in (pl.String, pl.Null):
        return True  # read as text and checked value by value, like CSV
    match kind:
        case Kind.STRING:
            return dtype.is_numeric() or dtype == pl.Boolean or dtype == pl.Categorical
        case Kind.INTEGER:
            return dtype.is_integer()
        case Kind.NUMBER:
            return dtype.is_numeric()
        case Kind.BOOLEAN:
            return dtype == pl.Boolean
        case Kind.TIMESTAMP:
            return dtype.is_temporal() and dtype != pl.Time and dtype != pl.Duration


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
    # A record with the wrong number of fields has its values in the wrong columns: the
    # shape is the one reason worth giving.
    checked = typed_frame.with_columns(
        pl.coalesce("_shape_problem", pl.when(reasons != "").then(reasons)).alias(REASON)
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
    # Comparing payloads in a window per version is one window per row, the extract's
    # largest cost (docs/performance.md): judge only the versions that occur twice, every
    # row of which this picks (none, in a clean delivery).
    rows = checked.select(pl.arg_where(in_version & pl.struct(version).is_duplicated()))
    if rows.is_empty():
        return checked
    repeats = checked[rows.to_series()]
    conflicting = pl.struct(payload).n_unique().over(version) > 1
    repeated = pl.struct(payload).is_first_distinct().not_().over(version)
    verdicts = repeats.select(
        pl.when(conflicting)
        .then(pl.lit(f"{contract.key} and {contract.updated_at} repeat with different values"))
        .when(repeated)
        .then(pl.lit("exact repeat of an earlier row of this delivery"))
        .otherwise(pl.col(REASON))
    ).to_series()
    return checked.with_columns(checked[REASON].scatter(rows.to_series(), verdicts))


def _typed_columns(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    return frame.select(*contract.column_names, *LINEAGE)


def _text_columns(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    """Quarantined rows keep the text exactly as delivered, to be read and fixed at the source.

    Except a record of the wrong shape: its values sit under the wrong names, so a PII value
    may sit under a column that is not hashed. It keeps only its place in the file.
    """
    misshapen = pl.col("_shape_problem").is_not_null()
    return frame.select(
        *(
            pl.when(misshapen).then(None).otherwise(pl.col(f"_text_{name}")).alias(name)
            for name in contract.column_names
        ),
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
