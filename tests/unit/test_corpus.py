"""The bad-input corpus: broken exports as a CRM might deliver them, each with its outcome.

Every file in tests/corpus/ is delivered alone (the other sources deliver a header) and
must either be refused with a clear error, or load with exactly the broken rows in
quarantine, each with its reason and line, and no other row lost. A few cases need a
file system trick (symlinks) or a binary format (Parquet) and are built in the test.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from pipelines import deliveries, extract, run, storage
from pipelines.config import Settings
from pipelines.errors import ContractError, MissingInputError
from pipelines.sources import CONTRACTS
from tests.conftest import TEST_PII_KEY
from tests.scenario import write_landing

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DAY = dt.date(2025, 1, 10)
CONFLICT = "{key} and updated_at repeat with different values"


@dataclass(frozen=True)
class Loads:
    """The delivery loads: these keys reach raw, these lines go to quarantine."""

    loaded: list[str]
    quarantined: dict[int, str] = field(default_factory=dict)  # line -> reason


@dataclass(frozen=True)
class Refused:
    """The delivery is refused as a whole with an error matching `message`."""

    message: str


CASES: dict[str, Loads | Refused] = {
    "empty.orders.csv": Refused(r"empty file \(not even a header\)"),
    "header_only.orders.csv": Loads([]),
    "truncated_last_line.orders.csv": Loads(
        ["O1", "O2"], {4: "line has 4 fields, the header has 9"}
    ),
    "wrong_delimiter.orders.csv": Refused(
        r"missing column\(s\) order_id, .*; the header is a single column: "
        r"is the file delimited by something else than ','\?"
    ),
    # R1's comment spans lines 2-4, so the broken R2 is on line 5, not "row 2".
    "quoted_newlines_and_commas.survey_responses.csv": Loads(
        ["R1", "R3"], {5: "nps_score outside 0-10"}
    ),
    "utf8_bom.customers.csv": Loads(["C1", "C2"]),
    "cp1251_comments.survey_responses.csv": Refused(
        # Line 2 is "R1,C1,,...,4," (50 characters) then the first Cyrillic letter, Д.
        r"byte 0xc4 at line 2, column 51 \(offset 237\) is not valid utf-8; "
        r"if survey_responses are exported in another encoding, declare it: "
        r"LOYALTY_SOURCE_ENCODINGS__SURVEY_RESPONSES=<encoding>"
    ),
    "crlf.orders.csv": Loads(["O1", "O2"]),
    "missing_required_column.orders.csv": Refused(
        r"missing column\(s\) amount; the file has order_id, customer_id, "
    ),
    "renamed_column.orders.csv": Refused(
        r"missing column\(s\) amount; it has column\(s\) the contract does not know: "
        r"total \(renamed\?\)"
    ),
    "extra_column.orders.csv": Loads(["O1"]),
    "duplicate_ids.customers.csv": Loads(
        ["C2", "C3"],
        {
            2: CONFLICT.format(key="customer_id"),
            3: CONFLICT.format(key="customer_id"),
            5: "exact repeat of an earlier row of this delivery",
        },
    ),
    "same_order_different_amounts.orders.csv": Loads(
        ["O2"], {2: CONFLICT.format(key="order_id"), 3: CONFLICT.format(key="order_id")}
    ),
    "negative_amount.orders.csv": Loads(
        ["O1", "O3"], {3: "amount negative; refund_amount outside 0..amount"}
    ),
    "absurd_amount.orders.csv": Loads(["O1"], {3: "amount above 1,000,000"}),
    "future_dates.orders.csv": Loads(
        ["O1"],
        {
            3: "ordered_at after updated_at; ordered_at after the export date",
            4: "ordered_at after the export date; updated_at after the export date",
        },
    ),
    "timestamps_with_and_without_zones.orders.csv": Loads(["O1", "O2", "O3", "O4", "O5"]),
    "nps_11.survey_responses.csv": Loads(["R1"], {3: "nps_score outside 0-10"}),
    "nps_minus_1.survey_responses.csv": Loads(["R1"], {3: "nps_score outside 0-10"}),
    "nps_7_5.survey_responses.csv": Loads(["R1"], {3: "nps_score: cannot read '7.5' as integer"}),
    "nps_ten.survey_responses.csv": Loads(["R1"], {3: "nps_score: cannot read 'ten' as integer"}),
    "unknown_currency.orders.csv": Loads(
        ["O1", "O3"], {3: "currency not in the settings' fx_rates"}
    ),
    "no_header.customers.csv": Refused(
        r"missing column\(s\) customer_id, .*; the first line does not look like a header"
    ),
    "unclosed_quote.survey_responses.csv": Refused(
        r"line 3: not valid CSV \(unexpected end of data\)"
    ),
    "row_with_extra_field.customers.csv": Loads(
        ["C1", "C3"], {3: "line has 13 fields, the header has 12"}
    ),
    "blank_lines.orders.csv": Loads(["O1", "O2"]),
    "missing_required_value.orders.csv": Loads(["O1", "O3"], {3: "customer_id: missing"}),
    # Referential integrity is judged at staging, against every customer known by then.
    "order_for_unknown_customer.orders.csv": Loads(["O1", "O2"]),
}


def _deliver(settings: Settings, corpus_file: str) -> str:
    """The corpus file as the day's delivery of its source; the others deliver a header."""
    source = corpus_file.split(".")[1]
    write_landing(settings, {}, DAY, DAY)
    shutil.copyfile(CORPUS / corpus_file, settings.paths.landing_dir(DAY) / f"{source}.csv")
    return source


def _partition(settings: Settings, layer: str, source: str) -> pl.DataFrame:
    base = (
        settings.paths.raw_dir(source) if layer == "raw" else settings.paths.quarantine_dir(source)
    )
    return pl.read_parquet(storage.partition_path(base, DAY))


def test_every_corpus_file_has_a_case() -> None:
    files = {path.name for path in CORPUS.iterdir() if not path.name.startswith(".")}
    assert files == set(CASES)
    assert len(files) >= 20


@pytest.mark.parametrize("corpus_file", sorted(CASES))
def test_corpus_file_is_refused_or_loads_without_losing_a_row(
    settings: Settings, corpus_file: str
) -> None:
    source = _deliver(settings, corpus_file)
    expected = CASES[corpus_file]
    if isinstance(expected, Refused):
        with pytest.raises(ContractError, match=expected.message) as refusal:
            extract.extract(settings, [DAY])
        # The error names the file as it lies in landing.
        assert str(refusal.value).startswith(str(settings.paths.landing_dir(DAY) / source))
        assert "@" not in str(refusal.value)  # an error never quotes personal data
        return
    result = next(r for r in extract.extract(settings, [DAY]) if r.source == source)
    key = CONTRACTS[source].key
    raw, quarantine = (
        _partition(settings, "raw", source),
        _partition(settings, "quarantine", source),
    )
    assert sorted(raw[key]) == expected.loaded
    assert dict(quarantine.select("_source_line", "_quarantine_reason").rows()) == (
        expected.quarantined
    )
    # Row accounting: nothing lost, nothing counted twice.
    assert result.rows_read == len(expected.loaded) + len(expected.quarantined)
    assert (result.rows_loaded, result.rows_quarantined) == (raw.height, quarantine.height)


def test_quoted_values_keep_their_newlines_commas_and_quotes(settings: Settings) -> None:
    _deliver(settings, "quoted_newlines_and_commas.survey_responses.csv")
    extract.extract(settings, [DAY])
    comments = dict(
        _partition(settings, "raw", "survey_responses").select("response_id", "comment").rows()
    )
    assert comments == {
        "R1": 'Fast delivery, good prices.\nWould buy again,\n"really"',
        "R3": "one, two; three",
    }


def test_declared_cp1251_reads_cyrillic_exactly(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        pii_key=TEST_PII_KEY,
        source_encodings={"survey_responses": "cp1251"},
    )
    _deliver(settings, "cp1251_comments.survey_responses.csv")
    extract.extract(settings, [DAY])
    comments = _partition(settings, "raw", "survey_responses").sort("response_id")["comment"]
    assert comments.to_list() == [
        "Доставка задержалась на неделю",
        "Чудова якість і швидка доставка",
    ]


def test_an_unknown_encoding_or_source_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="'klingon' is not a known text encoding"):
        Settings(source_encodings={"orders": "klingon"})
    with pytest.raises(ValueError, match="'invoices' is not a source"):
        Settings(source_encodings={"invoices": "cp1251"})


def test_crlf_and_bom_leave_no_trace_in_values_or_names(settings: Settings) -> None:
    _deliver(settings, "crlf.orders.csv")
    extract.extract(settings, [DAY])
    assert _partition(settings, "raw", "orders")["updated_at"].null_count() == 0
    _deliver(settings, "utf8_bom.customers.csv")
    extract.extract(settings, [DAY])
    assert _partition(settings, "raw", "customers")["customer_id"].to_list() == ["C1", "C2"]


def test_timestamps_with_and_without_zones_become_utc(settings: Settings) -> None:
    _deliver(settings, "timestamps_with_and_without_zones.orders.csv")
    extract.extract(settings, [DAY])
    ordered_at = _partition(settings, "raw", "orders").sort("order_id")["ordered_at"]
    assert ordered_at.dt.strftime("%H:%M:%S%.3f").to_list() == [
        "10:00:00.000",  # Z
        "10:00:00.000",  # +02:00
        "10:00:00.000",  # no zone: LOYALTY_SOURCE_TIMEZONE, UTC by default
        "13:30:00.250",  # -03:30, with milliseconds
        "00:00:00.000",  # a bare date is midnight
    ]


def test_extra_column_is_recorded_and_ignored(settings: Settings) -> None:
    _deliver(settings, "extra_column.orders.csv")
    result = next(r for r in extract.extract(settings, [DAY]) if r.source == "orders")
    assert result.extra_columns == ["coupon_code"]
    assert "coupon_code" not in _partition(settings, "raw", "orders").columns


def test_a_misshapen_row_is_quarantined_without_its_values(settings: Settings) -> None:
    # "Popescu, Ana" unquoted shifts every later field: any of them may be personal data.
    _deliver(settings, "row_with_extra_field.customers.csv")
    extract.extract(settings, [DAY])
    quarantined = _partition(settings, "quarantine", "customers")
    assert quarantined.height == 1
    assert "Ana" not in quarantined.write_csv() and "Popescu" not in quarantined.write_csv()
    assert quarantined.select("_source_line", "_source_file").row(0) == (3, "customers.csv")


def test_an_order_for_an_unknown_customer_is_held_at_staging_until_the_customer_arrives(
    settings: Settings,
) -> None:
    _deliver(settings, "order_for_unknown_customer.orders.csv")
    customers = settings.paths.landing_dir(DAY) / "customers.csv"
    shutil.copyfile(CORPUS / "utf8_bom.customers.csv", customers)  # C1 and C2
    extract.extract(settings, [DAY])
    deliveries.accept(settings.paths, [DAY])  # as the raw gate would
    run.stage(settings, DAY)
    held = pl.read_parquet(settings.paths.held_orders)
    assert held.select("order_id", "_source_line", "_load_id").rows() == [
        ("O2", 3, held["_load_id"][0])
    ]
    assert held["_quarantine_reason"][0].startswith("customer_id not among the customers")
    staged = pl.read_parquet(settings.paths.staging_files("orders"))
    assert staged["order_id"].to_list() == ["O1"]
    # The customer arrives the next day: the order is taken in, nothing was lost.
    next_day = DAY + dt.timedelta(days=1)
    write_landing(settings, {}, next_day, next_day)
    customers_next = settings.paths.landing_dir(next_day) / "customers.csv"
    text = (CORPUS / "utf8_bom.customers.csv").read_bytes().decode("utf-8-sig")
    customers_next.write_text(
        text.replace("C2,", "C404,").replace("2025-01-10T10:00:00Z\n", "2025-01-11T10:00:00Z\n")
    )
    extract.extract(settings, [next_day])
    deliveries.accept(settings.paths, [next_day])
    run.stage(settings, next_day)  # merges the new day into the first day's snapshot
    assert pl.read_parquet(settings.paths.held_orders).height == 0
    staged = pl.read_parquet(settings.paths.staging_files("orders"))
    assert sorted(staged["order_id"]) == ["O1", "O2"]


def test_a_history_whose_every_order_is_held_stops_the_facts_saying_so(
    settings: Settings,
) -> None:
    _deliver(settings, "order_for_unknown_customer.orders.csv")  # no customer delivered
    extract.extract(settings, [DAY])
    deliveries.accept(settings.paths, [DAY])
    run.stage(settings, DAY)
    assert pl.read_parquet(settings.paths.held_orders).height == 2
    with pytest.raises(MissingInputError, match=r"every order delivered so far \(2\) is held"):
        run.build_facts(settings, DAY)
    # A snapshot staged before orders were kept by month has no month folder at all.
    settings.paths.staging_table("orders").rmdir()
    with pytest.raises(MissingInputError, match="staging table orders not built yet: stage"):
        run.build_facts(settings, DAY)


@pytest.mark.parametrize("escape", ["file", "date folder"])
def test_a_delivery_that_leads_outside_the_landing_folder_is_refused(
    settings: Settings, escape: str
) -> None:
    write_landing(settings, {}, DAY, DAY)
    secret = settings.paths.root / "secrets" / "pii.key"
    secret.parent.mkdir(parents=True)
    secret.write_text("not for the warehouse\n")
    day_folder = settings.paths.landing_dir(DAY)
    if escape == "file":
        (day_folder / "orders.csv").unlink()
        (day_folder / "orders.csv").symlink_to(Path("..") / ".." / "secrets" / "pii.key")
    else:
        elsewhere = settings.paths.root / "elsewhere"
        day_folder.rename(elsewhere)
        day_folder.symlink_to(elsewhere)
    with pytest.raises(ContractError, match=r"outside the landing folder .*; refusing to read it"):
        extract.extract(settings, [DAY])
    assert not settings.paths.raw_dir("orders").exists()


def test_a_wrongly_typed_parquet_column_is_a_contract_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", pii_key=TEST_PII_KEY, landing_format="parquet")
    directory = settings.paths.landing_dir(DAY)
    directory.mkdir(parents=True)
    for source, contract in CONTRACTS.items():
        schema = dict.fromkeys(contract.column_names, pl.String)
        if source == "orders":
            schema["amount"] = pl.Boolean
        pl.DataFrame(schema=schema).write_parquet(directory / f"{source}.parquet")
    with pytest.raises(ContractError, match="column amount is Boolean, the contract says number"):
        extract.extract(settings, [DAY])
