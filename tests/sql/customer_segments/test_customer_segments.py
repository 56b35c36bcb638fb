"""intermediate.customer_segments (not published: read from the build database) and the
settings tables the runner registers beside it."""

from __future__ import annotations

import duckdb

from pipelines.config import Settings
from tests.sql.behaviour_reference import query


def _build_rows(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.paths.build_db), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def test_every_customer_has_one_row_per_segment(behaviour_shop: Settings) -> None:
    rows = _build_rows(
        behaviour_shop,
        "select segment, segment_value from intermediate.customer_segments"
        " where customer_id = 'G' order by segment",
    )
    # G: Moldovan loyalty member in arm variant_a, organic, born 1990 (35 in 2025).
    assert rows == [
        ("acquisition_channel", "organic"),
        ("age_band", "35-44"),
        ("all", "all"),
        ("country", "MD"),
        ("is_loyalty_member", "true"),
        ("programme_arm", "variant_a"),
    ]
    per_customer = _build_rows(
        behaviour_shop,
        "select count(*), count(distinct customer_id) from intermediate.customer_segments",
    )
    assert per_customer == [(8 * 6, 8)]  # A..H, C included (marts join buyers only)


def test_segments_are_not_published(behaviour_shop: Settings) -> None:
    schemas = query(behaviour_shop, "select distinct schema_name from duckdb_tables()")
    assert sorted(schemas) == [("marts",), ("ops",)]


def test_churn_windows_reach_sql_as_a_table(behaviour_shop: Settings) -> None:
    assert _build_rows(
        behaviour_shop, "select * from settings.churn_windows order by churn_window_days"
    ) == [("30d", 30), ("90d", 90)]
