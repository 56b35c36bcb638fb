"""The segment tables (working tables, built in memory over a run's facts or a fixture):
intermediate.customer_segments, and the keys that place a survey response in segments
(intermediate.response_keys, intermediate.response_key_segments); and the settings
tables the runner registers beside them."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipelines.config import Settings
from tests.sql import harness
from tests.sql.behaviour_reference import published_as_of, query
from tests.sql.harness import customer, response

AS_OF = dt.date(2025, 1, 31)


def _build_rows(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.paths.build_db), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def test_every_customer_has_one_row_per_segment(behaviour_shop: Settings) -> None:
    as_of = published_as_of(behaviour_shop)
    with harness.build_from_facts(
        behaviour_shop, as_of, ["intermediate.customer_segments"]
    ) as connection:
        rows = connection.sql(
            "select segment, segment_value from intermediate.customer_segments"
            " where customer_id = 'G' order by segment"
        ).fetchall()
        per_customer = connection.sql(
            "select count(*), count(distinct customer_id) from intermediate.customer_segments"
        ).fetchall()
    # G: Moldovan loyalty member in arm variant_a, organic, born 1990 (35 in 2025).
    assert rows == [
        ("acquisition_channel", "organic"),
        ("age_band", "35-44"),
        ("all", "all"),
        ("country", "MD"),
        ("is_loyalty_member", "true"),
        ("programme_arm", "variant_a"),
    ]
    assert per_customer == [(8 * 6, 8)]  # A..H, C included (marts join buyers only)


def test_segments_are_not_published(behaviour_shop: Settings) -> None:
    schemas = query(behaviour_shop, "select distinct schema_name from duckdb_tables()")
    assert sorted(schemas) == [("marts",), ("ops",)]


def test_churn_windows_reach_sql_as_a_table(behaviour_shop: Settings) -> None:
    assert _build_rows(
        behaviour_shop, "select * from settings.churn_windows order by churn_window_days"
    ) == [("30d", 30), ("90d", 90)]


def test_a_response_has_its_customers_segments_its_language_or_unmatched() -> None:
    staging = {
        "customers": [customer("C1")],  # RO, organic, born 1990, not a member, never bought
        "survey_responses": [
            response("R1", "C1", "2025-01-10", 9, language="ro"),
            response("R2", None, "2025-01-11", 3, language="ru"),
        ],
    }
    # The survey marts reach a response's segments through its keys, one per family.
    with harness.build(staging, AS_OF, ["intermediate.response_key_segments"]) as connection:
        rows = connection.sql(
            "select response_id, segment, segment_value from intermediate.response_keys"
            " inner join intermediate.response_key_segments using (key_family, response_key)"
            " order by response_id, segment"
        ).fetchall()
        keys = connection.sql(
            "select count(*), count(distinct response_id) from intermediate.response_keys"
        ).fetchall()
    assert keys == [(2 * 3, 2)]  # a profile, a cohort and a language key per response
    customer_segments = [
        "acquisition_channel",
        "age_band",
        "cohort_month",
        "country",
        "is_loyalty_member",
        "programme_arm",
    ]
    linked = {
        "acquisition_channel": "organic",
        "age_band": "35-44",
        "cohort_month": "no purchase",
        "country": "RO",
        "is_loyalty_member": "false",
        "programme_arm": "none",
    }
    expected = [
        *(("R1", segment, value) for segment, value in linked.items()),
        ("R1", "all", "all"),
        ("R1", "language", "ro"),
        *(("R2", segment, "unmatched") for segment in customer_segments),
        ("R2", "all", "all"),
        ("R2", "language", "ru"),
    ]
    assert rows == sorted(expected)
