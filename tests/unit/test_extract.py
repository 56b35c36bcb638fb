"""Extract: the contract, quarantine with reasons, row accounting, pseudonymisation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines import extract, storage
from pipelines.config import Settings
from pipelines.errors import ContractError
from tests.scenario import customer, order, response, write_landing

DAY = dt.date(2025, 1, 10)


def _load(
    settings: Settings, rows: dict[str, list[dict[str, object]]]
) -> dict[str, extract.LoadResult]:
    write_landing(settings, rows, DAY, DAY)
    return {result.source: result for result in extract.extract(settings, [DAY])}


def _quarantine(settings: Settings, source: str) -> pl.DataFrame:
    return pl.read_parquet(storage.partition_path(settings.paths.quarantine_dir(source), DAY))


def _raw(settings: Settings, source: str) -> pl.DataFrame:
    return pl.read_parquet(storage.partition_path(settings.paths.raw_dir(source), DAY))


def test_every_row_is_loaded_or_quarantined_with_its_reason(settings: Settings) -> None:
    results = _load(
        settings,
        {
            "orders": [
                order("O1", "C1", "2025-01-10T10:00:00Z", 10),
                order("O2", "C1", "2025-01-10T10:00:00Z", -5),
                order("O3", "C1", "2025-01-10T10:00:00Z", 5, currency="XYZ"),
                order("O4", "C1", "not a time", 5, updated_at="2025-01-10T11:00:00Z"),
                order("O5", "C1", "2025-01-10T10:00:00Z", 5, status="lost"),
            ],
            "survey_responses": [
                response("R1", "C1", "2025-01-10T10:00:00Z", 7),
                response("R2", "C1", "2025-01-10T10:00:00Z", 11),
                response("R3", "C1", "2025-01-10T10:00:00Z", -1),
                response("R4", "C1", "2025-01-10T10:00:00Z", "7.5"),
                response("R5", "C1", "2025-01-10T10:00:00Z", "ten"),
            ],
        },
    )
    orders, responses = results["orders"], results["survey_responses"]
    assert (orders.rows_read, orders.rows_loaded, orders.rows_quarantined) == (5, 1, 4)
    assert (responses.rows_read, responses.rows_loaded, responses.rows_quarantined) == (5, 1, 4)
    reasons = dict(_quarantine(settings, "orders").select("order_id", "_quarantine_reason").rows())
    assert reasons["O2"].startswith("amount negative")
    assert reasons["O3"] == "currency not in the settings' fx_rates"
    assert reasons["O4"] == "ordered_at: cannot read 'not a time' as timestamp"
    assert reasons["O5"] == "status not one of completed, cancelled, refunded"
    nps = dict(
        _quarantine(settings, "survey_responses").select("response_id", "_quarantine_reason").rows()
    )
    assert nps == {
        "R2": "nps_score outside 0-10",
        "R3": "nps_score outside 0-10",
        "R4": "nps_score: cannot read '7.5' as integer",
        "R5": "nps_score: cannot read 'ten' as integer",
    }
    # The quarantined rows keep their text as delivered, and their place in the file.
    assert _quarantine(settings, "survey_responses")["nps_score"].to_list() == [
        "11",
        "-1",
        "7.5",
        "ten",
    ]
    assert _quarantine(settings, "survey_responses")["_source_row"].to_list() == [2, 3, 4, 5]


def test_audit_partition_balances(settings: Settings) -> None:
    _load(
        settings,
        {
            "orders": [
                order("O1", "C1", "2025-01-10T10:00:00Z", 10),
                order("O2", "C1", "2025-01-10T10:00:00Z", -1),
            ]
        },
    )
    audit = pl.read_parquet(storage.partition_path(settings.paths.load_audit_dir, DAY))
    assert sorted(audit["source"]) == ["customers", "orders", "survey_responses"]
    assert (audit["rows_read"] == audit["rows_loaded"] + audit["rows_quarantined"]).all()
    assert audit.filter(pl.col("source") == "orders").select("rows_read", "rows_quarantined").row(
        0
    ) == (2, 1)


def test_conflicting_versions_are_all_refused_and_exact_repeats_keep_one(
    settings: Settings,
) -> None:
    same = order("O1", "C1", "2025-01-10T10:00:00Z", 10)
    results = _load(
        settings,
        {
            "orders": [
                same,
                same,
                order("O2", "C1", "2025-01-10T10:00:00Z", 10),
                order("O2", "C1", "2025-01-10T10:00:00Z", 12),
                # Two versions of one order on one day are fine: staging keeps the later.
                order("O3", "C1", "2025-01-10T10:00:00Z", 10),
                order(
                    "O3",
                    "C1",
                    "2025-01-10T10:00:00Z",
                    10,
                    status="refunded",
                    updated_at="2025-01-10T15:00:00Z",
                ),
            ]
        },
    )
    assert results["orders"].rows_quarantined == 3
    reasons = _quarantine(settings, "orders").select("order_id", "_quarantine_reason").rows()
    assert reasons == [
        ("O1", "exact repeat of an earlier row of this delivery"),
        ("O2", "order_id and updated_at repeat with different values"),
        ("O2", "order_id and updated_at repeat with different values"),
    ]
    assert sorted(_raw(settings, "orders")["order_id"]) == ["O1", "O3", "O3"]


def test_event_after_the_export_day_is_quarantined(settings: Settings) -> None:
    results = _load(
        settings, {"orders": [order("O1", "C1", "2025-01-11T00:00:00Z", 10, _export_date=DAY)]}
    )
    assert results["orders"].rows_quarantined == 1
    assert (
        "ordered_at after the export date"
        in _quarantine(settings, "orders")["_quarantine_reason"][0]
    )


def test_timestamps_with_and_without_offsets_are_read_as_utc(settings: Settings) -> None:
    _load(
        settings,
        {
            "orders": [
                order("O1", "C1", "2025-01-10T10:00:00Z", 1),
                order(
                    "O2", "C1", "2025-01-10T12:00:00+02:00", 1, updated_at="2025-01-10T12:00:00Z"
                ),
                order("O3", "C1", "2025-01-10 10:00:00", 1, updated_at="2025-01-10T12:00:00Z"),
            ]
        },
    )
    hours = _raw(settings, "orders").sort("order_id")["ordered_at"].dt.hour().to_list()
    assert hours == [10, 10, 10]


def test_missing_column_is_a_clear_error_naming_the_file(settings: Settings) -> None:
    write_landing(settings, {}, DAY, DAY)
    path = settings.paths.landing_dir(DAY) / "orders.csv"
    path.write_text("order_id,customer_id\nO1,C1\n")
    with pytest.raises(ContractError, match=r"orders\.csv: missing column\(s\) ordered_at, status"):
        extract.extract(settings, [DAY])


def test_empty_file_and_missing_delivery_are_clear_errors(settings: Settings) -> None:
    write_landing(settings, {}, DAY, DAY)
    (settings.paths.landing_dir(DAY) / "orders.csv").write_text("")
    with pytest.raises(ContractError, match="empty file"):
        extract.extract(settings, [DAY])
    (settings.paths.landing_dir(DAY) / "orders.csv").unlink()
    with pytest.raises(ContractError, match="orders: no delivery for 2025-01-10"):
        extract.extract(settings, [DAY])


def test_pii_never_reaches_the_raw_layer(settings: Settings) -> None:
    _load(
        settings,
        {
            "customers": [
                customer("C1", "2025-01-10T10:00:00Z", email="Ann@Example.com", full_name="Ann Lee")
            ],
            "survey_responses": [
                response("R1", None, "2025-01-10T10:00:00Z", 9, respondent_email="ann@example.com ")
            ],
        },
    )
    customers = _raw(settings, "customers")
    assert not {"email", "phone", "full_name"} & set(customers.columns)
    assert {"email_hash", "phone_hash", "full_name_hash"} <= set(customers.columns)
    text = customers.write_csv() + _raw(settings, "survey_responses").write_csv()
    assert "Ann" not in text and "example.com" not in text
    # Case and spacing do not change the pseudonym: the respondent matches the customer.
    assert (
        customers["email_hash"][0] == _raw(settings, "survey_responses")["respondent_email_hash"][0]
    )


def test_loading_the_same_delivery_twice_writes_identical_partitions(settings: Settings) -> None:
    rows = {"orders": [order("O1", "C1", "2025-01-10T10:00:00Z", 10)]}
    _load(settings, rows)
    first = _raw(settings, "orders")
    _load(settings, rows)
    assert _raw(settings, "orders").equals(first)


@pytest.mark.parametrize(
    "text",
    ["a,b,c\n1,2,3\n\n4,5\n6,7,8,9\n", "a,b\n1,2", "a,b\n\n\n , \n", "a\n"],
)
def test_unquoted_records_are_counted_as_the_csv_reader_counts_them(text: str) -> None:
    path = Path("orders.csv")
    assert extract._unquoted_csv_records(text) == extract._quoted_csv_records(path, text)
