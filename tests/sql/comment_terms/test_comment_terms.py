"""marts.comment_terms and marts.comment_rate on hand-made comments, and cross-checked on
generated data."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.config import Settings
from tests.sql import harness
from tests.sql.harness import response

AS_OF = dt.date(2025, 1, 31)
STAGING = {
    "survey_responses": [
        # Romanian detractors: "întârziat" written with and without diacritics.
        response("R1", None, "2025-01-10", 3, language="ro", comment="Livrarea a întârziat!"),
        response("R2", None, "2025-01-11", 2, language="ro", comment="livrarea a intarziat"),
        # Romanian promoters: one comment (with a cedilla ţ), one without a comment.
        response("R3", None, "2025-01-12", 10, language="ro", comment="Mulţumesc, produse bune"),
        response("R4", None, "2025-01-13", 9, language="ro", comment="   "),
        # An English passive.
        response("R5", None, "2025-01-14", 7, language="en", comment="Nothing special"),
    ]
}


def _mart(name: str, settings: Settings | None = None) -> pl.DataFrame:
    with harness.build(STAGING, AS_OF, [f"marts.{name}"], settings) as connection:
        return connection.sql(f"from marts.{name} where period_grain = 'month'").pl()


def test_most_frequent_terms_per_language_and_class() -> None:
    terms = _mart("comment_terms", Settings(comment_top_terms=2))
    ranked = {
        (row["language"], row["nps_class"], row["term_rank"]): (
            row["term"],
            row["comments_with_term"],
            row["comments_n"],
            row["mention_share"],
        )
        for row in terms.iter_rows(named=True)
    }
    assert ranked == {
        # Two detractor comments, both mention both terms ("a" is a stop word); "intarziat"
        # and "întârziat" are one term shown with its diacritics; ties go alphabetically.
        ("ro", "detractor", 1): ("întârziat", 2, 2, 1.0),
        ("ro", "detractor", 2): ("livrarea", 2, 2, 1.0),
        # One promoter comment (the blank one is no comment): 1 of 1, top two alphabetically
        # by key of bune, multumesc, produse.
        ("ro", "promoter", 1): ("bune", 1, 1, 1.0),
        ("ro", "promoter", 2): ("mulțumesc", 1, 1, 1.0),
        ("en", "passive", 1): ("special", 1, 1, 1.0),
    }


def test_comment_rate_by_class_and_language() -> None:
    rates = {
        (row["language"], row["nps_class"]): (row["responses_n"], row["comments_n"])
        for row in _mart("comment_rate").iter_rows(named=True)
    }
    assert rates[("ro", "detractor")] == (2, 2)
    assert rates[("ro", "promoter")] == (2, 1)  # R4's comment is blank
    assert rates[("ro", "all")] == (4, 3)
    assert rates[("all", "promoter")] == (2, 1)
    assert rates[("all", "all")] == (5, 4)
    overall = _mart("comment_rate").filter(
        pl.col("language") == "all", pl.col("nps_class") == "all"
    )
    assert overall["comment_rate"].item() == pytest.approx(4 / 5)


@pytest.mark.integration
def test_rates_and_counts_match_polars_on_generated_data(generated_run: Settings) -> None:
    responses = pl.read_parquet(generated_run.paths.facts / "survey_responses.parquet")
    expected = (
        responses.group_by("response_month", "language", "nps_class")
        .agg(
            responses_n=pl.len(),
            comments_n=(pl.col("comment").str.strip_chars().str.len_chars() > 0).sum(),
        )
        .sort("response_month", "language", "nps_class")
    )
    with harness.warehouse(generated_run) as connection:
        actual = connection.sql(
            "select period_start as response_month, language, nps_class, responses_n, comments_n"
            " from marts.comment_rate where period_grain = 'month' and language <> 'all'"
            " and nps_class <> 'all' order by all"
        ).pl()
        top = connection.sql(
            "select language, nps_class, term_rank, comments_with_term, comments_n"
            " from marts.comment_terms where period_grain = 'quarter'"
        ).pl()
    assert actual.rows() == expected.with_columns(pl.col("comments_n").cast(pl.Int64)).rows()
    assert set(top["language"]) == {"ro", "ru", "uk", "en"}
    assert (top["comments_with_term"] <= top["comments_n"]).all()
    assert top["term_rank"].max() == Settings().comment_top_terms
