"""The batch-level numbers the gates judge: row accounting, volume, freshness, integrity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines import deliveries as accepted_deliveries
from pipelines import extract, run, storage
from pipelines.config import Settings
from pipelines.periods import date_range
from pipelines.quality import checks
from tests.conftest import TEST_PII_KEY
from tests.scenario import customer, order, response, write_landing

START = dt.date(2025, 1, 1)
DAYS = date_range(START, START + dt.timedelta(days=7))  # eight deliveries


def _audit(settings: Settings, day: dt.date, read: int, loaded: int, quarantined: int) -> None:
    storage.write_partition(
        pl.DataFrame(
            {
                "source": ["orders"],
                "export_date": [day],
                "load_id": ["x"],
                "source_file": ["orders.csv"],
                "rows_read": [read],
                "rows_loaded": [loaded],
                "rows_quarantined": [quarantined],
                "extra_columns": ["coupon_code" if day == DAYS[-1] else ""],
            }
        ),
        settings.paths.load_audit_dir,
        day,
    )


def _rows(
    settings: Settings, layer: Path, day: dt.date, rows: int, updated_at: dt.datetime
) -> None:
    storage.write_partition(
        pl.DataFrame(
            {"_export_date": [day] * rows, "updated_at": [updated_at] * rows},
            schema={"_export_date": pl.Date, "updated_at": pl.Datetime("us", "UTC")},
        ),
        layer,
        day,
    )


@pytest.fixture
def deliveries(tmp_path: Path) -> Settings:
    """Seven deliveries of 40 order rows, then one of 4; the seventh lost a raw row on disk."""
    settings = Settings(
        data_dir=tmp_path / "data",
        pii_key=TEST_PII_KEY,
        quality_min_rows=4,
        volume_trailing_deliveries=7,
    )
    raw, quarantine = settings.paths.raw_dir("orders"), settings.paths.quarantine_dir("orders")
    for day in DAYS:
        read, quarantined = (40, 2) if day != DAYS[-1] else (4, 1)
        _audit(settings, day, read, read - quarantined, quarantined)
        loaded_on_disk = read - quarantined - (1 if day == DAYS[-2] else 0)
        newest = dt.datetime.combine(day, dt.time(18), tzinfo=dt.UTC)
        _rows(settings, raw, day, loaded_on_disk, newest)
        _rows(settings, quarantine, day, quarantined, newest)
    return settings


def test_delivery_checks_by_hand(deliveries: Settings) -> None:
    frame = checks.delivery_checks(deliveries, DAYS[-2:])
    assert frame.select(
        "export_date",
        "unbalanced_rows",
        "partition_row_gap",
        "quarantine_share",
        "volume_ratio",
        "freshness_lag_hours",
        "extra_columns",
    ).rows() == [
        # Seventh delivery: six earlier ones, fewer than the 7 trailing deliveries a ratio
        # needs (a growing history's first days would look like spikes).
        # 38 loaded per the audit but 37 rows in the raw partition: a gap of 1.
        (DAYS[-2], 0, 1, 2 / 40, None, 6.0, None),
        # Eighth: 4 rows against a trailing median of 40 = 0.1; newest row at 18:00, 6 h
        # before the end of its export day; 1 of 4 quarantined.
        (DAYS[-1], 0, 0, 1 / 4, 0.1, 6.0, "coupon_code"),
    ]


def test_shares_and_ratios_under_the_minimum_rows_are_not_judged(deliveries: Settings) -> None:
    strict = deliveries.model_copy(update={"quality_min_rows": 5})
    last = checks.delivery_checks(strict, DAYS[-1:]).row(0, named=True)
    assert last["quarantine_share"] is None  # 4 rows read < 5
    assert last["volume_ratio"] == pytest.approx(0.1)  # the trailing median, 40, is judged


def test_integrity_checks_by_hand(settings: Settings) -> None:
    day = dt.date(2025, 1, 10)
    judged = settings.model_copy(update={"quality_min_rows": 1})
    write_landing(
        judged,
        {
            "customers": [
                customer("C1", "2025-01-10T08:00:00Z"),
                customer("C2", "2025-01-10T08:00:00Z", email="two@example.com"),
            ],
            "orders": [
                order("O1", "C1", "2025-01-10T10:00:00Z", 10),
                order("O2", "C1", "2025-01-10T11:00:00Z", 20),
                order("O3", "C404", "2025-01-10T12:00:00Z", 30),  # its customer never came
            ],
            "survey_responses": [
                response("R1", "C1", "2025-01-10T10:00:00Z", 9),
                response("R2", "C99", "2025-01-10T10:00:00Z", 7),  # unknown: unlinked
                response("R3", None, "2025-01-10T10:00:00Z", 3, respondent_email="two@example.com"),
            ],
        },
        day,
        day,
    )
    extract.extract(judged, [day])
    accepted_deliveries.accept(judged.paths, [day])  # judged here, not by the raw gate
    run.stage(judged, day)
    run.build_facts(judged, day)
    frame = checks.integrity_checks(judged, day)
    assert frame.select(
        "source",
        "unbalanced_deliveries",
        "raw_rows_gap",
        "held_rows",
        "held_share",
        "orders_without_customer",
        "linked_share",
    ).rows() == [
        ("customers", 0, 0, None, None, None, None),
        # O3 is held at staging: 1 of 3 order rows; the facts hold no orphan order.
        ("orders", 0, 0, 1, 1 / 3, 0, None),
        # R1 by id, R3 by its e-mail's pseudonym; R2 names a customer nobody knows: 2 of 3.
        ("survey_responses", 0, 0, None, None, None, 2 / 3),
    ]
    storage.partition_path(judged.paths.raw_dir("orders"), day).unlink()
    storage.write_partition(
        pl.DataFrame(schema={"_export_date": pl.Date}),
        judged.paths.raw_dir("orders"),
        day,
    )
    gaps = dict(checks.integrity_checks(judged, day).select("source", "raw_rows_gap").rows())
    assert gaps["orders"] == -3  # the audit says 3 rows were loaded; the partition is empty
