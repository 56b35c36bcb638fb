"""The gates with Great Expectations: what passes, what stops the run, what it says, and
where the results go. Tiny inputs; each broken case breaks one thing."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import extract, month_partitions, quality, storage
from pipelines.config import Settings
from pipelines.errors import GateError
from pipelines.quality.suites import Suite, load_suite, load_suites, suite_parameters
from pipelines.quality.tables import Table, chunks
from pipelines.quality.validation import Validator
from tests import tiny_shop as shop
from tests.conftest import TEST_PII_KEY
from tests.scenario import order, write_landing

DAY = dt.date(2025, 1, 10)


@pytest.fixture
def shop_copy(tiny_shop: Settings, tmp_path: Path) -> Settings:
    """A private copy of the published tiny shop, to break."""
    shutil.copytree(tiny_shop.data_dir, tmp_path / "data", symlinks=True)
    return Settings(data_dir=tmp_path / "data", pii_key=TEST_PII_KEY)


def _page(message: str) -> Path:
    """The Data Docs page a refusal points at, as a path."""
    url = message.split("full result: ")[1].split(" ")[0]
    return Path(url.removeprefix("file://").replace("%20", " "))


def test_the_tiny_shop_passes_every_gate_and_publishes_the_results(tiny_shop: Settings) -> None:
    with duckdb.connect(str(tiny_shop.paths.warehouse_db), read_only=True) as connection:
        results = connection.sql(
            "select gate, suite, severity, success, data_docs_page from ops.gate_results"
        ).pl()
    assert set(results["gate"]) == {"raw", "facts", "marts"}
    suites = load_suites(tiny_shop)
    generated = {derived.name for suite in suites for derived, _ in suite.cross_row_suites()}
    assert set(results["suite"]) == {suite.name for suite in suites} | generated
    assert results.filter(~pl.col("success") & (pl.col("severity") == "critical")).is_empty()
    for page in results["data_docs_page"].unique():
        assert Path(page.removeprefix("file://").replace("%20", " ")).is_file()
    assert (tiny_shop.paths.quality / "data_docs" / "index.html").is_file()


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            "update marts.nps_monthly set nps = 150 where period_month = date '2025-01-01'",
            "marts.nps_monthly: expect_column_values_to_be_between(nps) failed on 1 of 3 rows, "
            "e.g. 150 (period_month=2025-01-01); and 1 more critical failure(s)",
        ),
        (
            # Counts that must add up: promoters + passives + detractors = responses_n.
            "update marts.nps_monthly set promoters = promoters + 1",
            "marts.nps_monthly: expect_column_values_to_be_between(unclassified_responses) failed "
            "on 3 of 3 rows, e.g. -1 (period_month=2025-01-01)",
        ),
        (
            "update marts.cohort_retention set retention_rate = 1.5 where segment = 'all' "
            "and cohort_month = date '2025-01-01' and period_index = 1",
            "marts.cohort_retention: expect_column_values_to_be_between(retention_rate) failed "
            "on 1 of 54 rows, e.g. 1.5 (segment=all, segment_value=all, cohort_month=2025-01-01, "
            "period_index=1)",
        ),
        (
            "drop table marts.nps_monthly",
            "marts.nps_monthly: table_is_readable could not be evaluated: marts.nps_monthly in",
        ),
    ],
)
def test_a_broken_mart_is_refused_with_table_expectation_rows_and_samples(
    shop_copy: Settings, breakage: str, message: str
) -> None:
    with duckdb.connect(str(shop_copy.paths.build_db)) as connection:
        connection.execute(breakage)
    with pytest.raises(GateError) as refusal:
        quality.gate_marts(shop_copy, shop.AS_OF)
    text = str(refusal.value)
    assert text.startswith(f"marts gate refused the load ({shop.AS_OF}): {message}"), text
    assert "\n" not in text  # one line on the terminal
    if "table_is_readable" not in message:
        assert _page(text).is_file()
    # The refusal is recorded, in the build database and in the results partition.
    with duckdb.connect(str(shop_copy.paths.build_db), read_only=True) as connection:
        failed = connection.sql(
            "select count(*) from ops.gate_results "
            "where gate = 'marts' and not success and severity = 'critical'"
        ).fetchall()[0][0]
    assert failed >= 1


def test_a_duplicate_in_the_facts_grain_is_refused(shop_copy: Settings) -> None:
    path = shop_copy.paths.facts / "customer_month" / "2025-01.parquet"
    facts = pl.read_parquet(path)
    storage.write_parquet_atomic(pl.concat([facts, facts.head(1)]), path)
    with pytest.raises(GateError) as refusal:
        quality.gate_facts(shop_copy, shop.AS_OF)
    # Only January is judged (its file changed): C1 and C2 in January, and the copy of C1.
    assert (
        "facts.customer_month: expect_compound_columns_to_be_unique(customer_id, period_month) "
        "failed on 2 of 3 rows, e.g. customer_id=C1, period_month=2025-01-01 | "
        "customer_id=C1, period_month=2025-01-01;"
    ) in str(refusal.value)


def _customer_month_rows_judged(report: quality.GateReport) -> int | None:
    """Rows of facts.customer_month the gate validated; None when it validated none."""
    judged = [result for result in report.results if result.suite == "facts.customer_month"]
    return judged[0].outcomes[0].evaluated_rows if judged else None


def test_the_facts_gate_judges_only_months_it_has_not_passed_as_they_are(
    shop_copy: Settings,
) -> None:
    # The backfill's gate passed all three months (9 rows): none is judged again.
    assert _customer_month_rows_judged(quality.gate_facts(shop_copy, shop.AS_OF)) is None
    # February rewritten (3 rows: C1, C2, C4): only February is judged.
    months = shop_copy.paths.facts / "customer_month"
    february = pl.read_parquet(months / "2025-02.parquet")
    month_partitions.write(february, months, dt.date(2025, 2, 1), "recomputed")
    assert _customer_month_rows_judged(quality.gate_facts(shop_copy, shop.AS_OF)) == 3
    assert _customer_month_rows_judged(quality.gate_facts(shop_copy, shop.AS_OF)) is None


def test_a_changed_facts_suite_judges_every_month_again(
    shop_copy: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Suite, "digest", lambda _suite, _parameters: "another suite")
    assert _customer_month_rows_judged(quality.gate_facts(shop_copy, shop.AS_OF)) == 9


def test_a_refused_month_is_judged_again_by_the_next_gate(shop_copy: Settings) -> None:
    path = shop_copy.paths.facts / "customer_month" / "2025-03.parquet"
    march = pl.read_parquet(path)
    month_partitions.write(pl.concat([march, march.head(1)]), path.parent, shop.AS_OF, "bad")
    for _ in range(2):  # refused, and not taken for judged by the next gate
        with pytest.raises(GateError, match="expect_compound_columns_to_be_unique"):
            quality.gate_facts(shop_copy, shop.AS_OF)


def test_rows_missing_from_a_raw_partition_fail_the_row_accounting(shop_copy: Settings) -> None:
    partition = storage.partition_path(shop_copy.paths.raw_dir("orders"), dt.date(2025, 1, 10))
    storage.write_parquet_atomic(pl.read_parquet(partition).head(0), partition)
    with pytest.raises(GateError, match=r"checks\.integrity: expect_column_values_to_be_between"):
        quality.gate_facts(shop_copy, shop.AS_OF)
    # O1 of 2025-01-10 is gone from disk but the audit still counts it.
    with pytest.raises(GateError, match=r"\(raw_rows_gap\) failed on 1 of 3 rows, e.g. -1 \("):
        quality.gate_facts(shop_copy, shop.AS_OF)


def _deliver_orders(settings: Settings, rows: list[dict[str, object]]) -> None:
    write_landing(settings, {"orders": rows}, DAY, DAY)
    extract.extract(settings, [DAY])


def test_a_mistyped_csv_column_is_refused_by_the_share_quarantined(settings: Settings) -> None:
    # Every amount unreadable: extract quarantines row by row; the gate sees a broken export.
    _deliver_orders(
        settings,
        [order(f"O{i}", "C1", "2025-01-10T10:00:00Z", "abc") for i in range(25)],
    )
    with pytest.raises(GateError) as refusal:
        quality.gate_raw(settings, [DAY])
    assert (
        "raw gate refused the load (2025-01-10): checks.deliveries: "
        "expect_column_values_to_be_between(quarantine_share) failed on 1 of 3 rows, "
        "e.g. 1 (source=orders, export_date=2025-01-10)"
    ) in str(refusal.value)


def test_a_row_that_slipped_past_extract_is_caught_by_the_raw_suite(settings: Settings) -> None:
    _deliver_orders(settings, [order("O1", "C1", "2025-01-10T10:00:00Z", 10)])
    partition = storage.partition_path(settings.paths.raw_dir("orders"), DAY)
    raw = pl.read_parquet(partition)
    storage.write_parquet_atomic(raw.with_columns(amount=pl.lit(-10.0)), partition)
    with pytest.raises(
        GateError, match=r"raw\.orders: expect_column_values_to_be_between\(amount\)"
    ):
        quality.gate_raw(settings, [DAY])


def test_a_warning_is_recorded_and_logged_and_the_run_goes_on(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _deliver_orders(settings, [order("O1", "C1", "2025-01-10T10:00:00Z", 10)])
    orders_csv = settings.paths.landing_dir(DAY) / "orders.csv"
    lines = orders_csv.read_text().splitlines()
    orders_csv.write_text(f"{lines[0]},coupon_code\n{lines[1]},WINTER25\n")
    extract.extract(settings, [DAY])
    with caplog.at_level(logging.WARNING):
        report = quality.gate_raw(settings, [DAY])
    assert not report.critical_failures
    assert [(w.suite, w.column, w.severity) for w in report.warnings] == [
        ("checks.deliveries", "extra_columns", "warning")
    ]
    assert "checks.deliveries: expect_column_values_to_be_null(extra_columns)" in caplog.text
    recorded = pl.read_parquet(storage.partition_path(settings.paths.gate_results_dir / "raw", DAY))
    assert recorded.filter(~pl.col("success")).select("column_name", "severity").rows() == [
        ("extra_columns", "warning")
    ]


def _suite_file(tmp_path: Path, expectations: list[dict[str, object]]) -> Path:
    path = tmp_path / "facts.toy.json"
    path.write_text(
        json.dumps(
            {
                "name": "facts.toy",
                "meta": {"grain": ["customer_id", "period_month"]},
                "expectations": expectations,
            }
        )
    )
    return path


def test_chunks_give_the_verdicts_of_one_pass_and_refuse_whole_table_expectations(
    settings: Settings, tmp_path: Path
) -> None:
    # 12 rows; (C3, 1) is there twice; 3 of 12 values are negative.
    frame = pl.DataFrame(
        {
            "customer_id": [f"C{i // 2}" for i in range(11)] + ["C3"],
            "period_month": [i % 2 for i in range(11)] + [1],
            "value": [1, -1, 2, -2, 3, -3, 4, 5, 6, 7, 8, 9],
        }
    )
    expectations = [
        {
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": ["customer_id", "period_month"]},
            "severity": "critical",
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "value", "min_value": 0, "mostly": 0.8},
            "severity": "warning",
        },
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"min_value": 1},
            "severity": "critical",
        },
    ]
    suite = load_suite(_suite_file(tmp_path, expectations), set())
    table = Table("facts.toy", frame.lazy, "a test frame")
    verdicts = {}
    for chunk_rows in (100, 3):
        count, parts = chunks(table, suite, chunk_rows, tmp_path / "scratch")
        validator = Validator(settings.paths.quality, f"facts_{DAY}", f"{chunk_rows} rows a chunk")
        result = validator.validate(suite, parts, suite_parameters(settings))
        verdicts[count] = [(o.success, o.failed_rows, o.problem) for o in result.outcomes]
    assert verdicts[1] == [
        (False, 2, None),  # both rows of (C3, 1)
        (False, 3, None),  # 9 of 12 pass: 0.75 < 0.8
        (True, None, None),
    ]
    # Split on the hash of customer_id, the duplicate pair stays together.
    assert verdicts[4][:2] == verdicts[1][:2]
    assert verdicts[4][2][0] is False
    assert "judges the whole table, which is checked in 4 chunks" in str(verdicts[4][2][2])
    assert not list((tmp_path / "scratch").iterdir())  # the split chunks are removed


def test_a_chunk_is_validated_without_hashing_its_rows(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX would md5 every row of a pandas batch to fingerprint it (half the facts gate on
    M); the Validator turns that off. Fails if a GX upgrade brings the hashing back."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(_frame: object) -> str:
        raise AssertionError("GX hashed the rows of a batch")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    expectations = [
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "customer_id"},
            "severity": "critical",
        }
    ]
    suite = load_suite(_suite_file(tmp_path, expectations), set())
    frame = pl.DataFrame({"customer_id": ["C1", "C2"], "period_month": [1, 1]})
    _count, parts = chunks(Table("facts.toy", frame.lazy, "a test frame"), suite, 100, tmp_path)
    validator = Validator(settings.paths.quality, f"facts_{DAY}", "one chunk")
    result = validator.validate(suite, parts, suite_parameters(settings))
    assert [(o.success, o.problem) for o in result.outcomes] == [(True, None)]


def test_narrow_integers_and_decimals_reach_gx_as_int64_and_float64(tmp_path: Path) -> None:
    """GX's pandas `between` is vectorised only for those two dtypes."""
    expectations = [
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": column, "min_value": 0},
            "severity": "critical",
        }
        for column in ("period_month", "share")
    ]
    suite = load_suite(_suite_file(tmp_path, expectations), set())
    frame = pl.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "period_month": pl.Series([1, 2], dtype=pl.Int32),
            "share": pl.Series(["0.5", "1.25"]).str.to_decimal(scale=2),
        }
    )
    _count, parts = chunks(Table("facts.toy", frame.lazy, "a test frame"), suite, 100, tmp_path)
    chunk = next(parts)
    assert (str(chunk["period_month"].dtype), str(chunk["share"].dtype)) == ("int64", "float64")
    assert chunk["share"].tolist() == [0.5, 1.25]


def test_the_data_docs_index_links_only_the_newest_results(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering the index reads every result it links: it must not grow with the history."""
    from pipelines.quality import validation

    monkeypatch.setattr(validation, "INDEX_RESULTS", 2)
    expectations = [
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "customer_id"},
            "severity": "critical",
        }
    ]
    suite = load_suite(_suite_file(tmp_path, expectations), set())
    frame = pl.DataFrame({"customer_id": ["C1"], "period_month": [1]})
    for day in (1, 2, 3):
        validator = Validator(settings.paths.quality, f"facts_2025-01-0{day}", "one chunk")
        _count, parts = chunks(Table("facts.toy", frame.lazy, "a frame"), suite, 100, tmp_path)
        validator.validate(suite, parts, suite_parameters(settings))
        validator.build_data_docs(forget_before=dt.date(2025, 1, 1))
    index = validator.index.read_text()
    assert "facts_2025-01-03" in index and "facts_2025-01-02" in index
    assert "facts_2025-01-01" not in index
    assert len(list(settings.paths.quality.rglob("*facts_2025-01-01*/*/*.html"))) == 1


def test_results_and_pages_older_than_the_history_are_forgotten(
    tiny_shop: Settings, shop_copy: Settings
) -> None:
    # The copy's recorded results link the pages of the original shop: point them at its own.
    for partition in shop_copy.paths.gate_results_dir.rglob("*.parquet"):
        results = pl.read_parquet(partition).with_columns(
            pl.col("data_docs_page").str.replace(
                str(tiny_shop.data_dir), str(shop_copy.data_dir), literal=True
            )
        )
        storage.write_parquet_atomic(results, partition)
    quality_dir = shop_copy.paths.quality
    old_runs = {path.name for path in quality_dir.rglob("*_2025-03-15") if path.is_dir()}
    assert {"raw_2025-03-15", "facts_2025-03-15", "marts_2025-03-15"} <= old_runs
    later = shop.AS_OF + dt.timedelta(days=shop_copy.quality_history_days + 1)
    quality.gate_marts(shop_copy, later)
    runs = {path.name for path in quality_dir.rglob("*_20*") if path.is_dir()}
    assert runs == {f"marts_{later}"}
    assert (quality_dir / "data_docs" / "index.html").is_file()
    # Their results stay in ops.gate_results, without a link to the deleted page.
    with duckdb.connect(str(shop_copy.paths.build_db), read_only=True) as connection:
        links = connection.sql(
            "select run_date, count(data_docs_page), count(*) from ops.gate_results"
            " group by run_date order by run_date"
        ).fetchall()
    assert [(run_date, linked > 0, linked == rows) for run_date, linked, rows in links] == [
        (shop.AS_OF, False, False),
        (later, True, True),
    ]
