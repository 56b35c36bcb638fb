"""marts.survey_linkage on the tiny shop (real extract: the 11 is quarantined, C99 is
unknown) and cross-checked on generated data."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines import models
from pipelines.config import Settings
from tests.sql import harness


def _linkage(settings: Settings) -> dict[tuple[dt.date, str], dict]:
    with harness.warehouse(settings) as connection:
        frame = connection.sql("from marts.survey_linkage").pl()
    return {(row["response_month"], row["language"]): row for row in frame.iter_rows(named=True)}


def test_tiny_shop_linkage(tiny_shop: Settings) -> None:
    linkage = _linkage(tiny_shop)
    jan, feb, mar = (dt.date(2025, month, 1) for month in (1, 2, 3))
    # January: R1 and R2, both C1's. Active: C1 and C2 (both bought); C1 answered: 1 / 2.
    assert linkage[(jan, "all")]["linked_responses"] == 2
    assert linkage[(jan, "all")]["response_rate_active"] == 0.5
    # February: C2's 8 is linked, C99's 9 is not (unknown id): share 1 / 2, still counted.
    feb_all = linkage[(feb, "all")]
    assert (feb_all["responses_n"], feb_all["linked_responses"]) == (2, 1)
    assert (feb_all["unmatched_responses"], feb_all["linked_share"]) == (1, 0.5)
    # Active in February: C1 and C4; the one who answered (C2) only cancelled: 0 / 2.
    assert (feb_all["active_customers"], feb_all["response_rate_active"]) == (2, 0.0)
    # March: the anonymous 3 links to C4 by e-mail; the 11 was quarantined, never counted.
    assert (linkage[(mar, "all")]["responses_n"], linkage[(mar, "all")]["linked_share"]) == (1, 1.0)
    assert linkage[(mar, "all")]["is_complete_month"] is False
    # Every response is in English: one language row per month, the whole month.
    assert linkage[(feb, "en")]["language_share"] == 1.0
    assert linkage[(feb, "en")]["response_rate_active"] is None
    with harness.warehouse(tiny_shop) as connection:
        quarantined = connection.sql(
            "select sum(rows_quarantined) from ops.load_audit where source = 'survey_responses'"
        ).fetchall()[0][0]
    assert quarantined == 1


@pytest.mark.integration
def test_matches_polars_on_generated_data(generated_run: Settings) -> None:
    responses = pl.read_parquet(generated_run.paths.facts / "survey_responses.parquet")
    months = pl.read_parquet(generated_run.paths.fact_files("customer_month"))
    expected = responses.group_by("response_month").agg(
        n=pl.len(), linked=pl.col("is_linked").sum()
    )
    active = (
        months.filter(pl.col("is_active"))
        .group_by("period_month")
        .agg(rate=(pl.col("responses") > 0).mean())
    )
    linkage = _linkage(generated_run)
    for month, n, linked in expected.iter_rows():
        row = linkage[(month, "all")]
        assert (row["responses_n"], row["linked_responses"]) == (n, linked)
    for month, rate in active.iter_rows():
        assert linkage[(month, "all")]["response_rate_active"] == pytest.approx(rate)
    shares = [row["language_share"] for (_, language), row in linkage.items() if language != "all"]
    assert sum(shares) == pytest.approx(len(expected))  # each month's languages add up to 1


def test_every_survey_mart_is_published_and_the_intermediate_tables_are_not(
    tiny_shop: Settings,
) -> None:
    with harness.warehouse(tiny_shop) as connection:
        tables = {
            f"{schema}.{table}"
            for schema, table in connection.sql(
                "select schema_name, table_name from duckdb_tables()"
            ).fetchall()
        }
    shipped = {model.table for model in models.discover()}
    assert {table for table in shipped if table.startswith("marts.")} <= tables
    assert not {table for table in tables if table.startswith("intermediate.")}
