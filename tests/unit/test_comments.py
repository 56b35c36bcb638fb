"""Comment terms: tokenised in Polars, Romanian diacritics and Cyrillic case handled,
stop words of each language removed, a term counted once per comment."""

from __future__ import annotations

import polars as pl

from pipelines.transform.comments import comment_terms


def _terms(language: str, comment: str | None) -> list[tuple[str, str]]:
    responses = pl.LazyFrame(
        {"response_id": ["R1"], "language": [language], "comment": [comment]},
        schema={"response_id": pl.String, "language": pl.String, "comment": pl.String},
    )
    return comment_terms(responses).select("term", "term_key").collect().rows()


def test_romanian_cedilla_and_comma_forms_are_one_letter() -> None:
    # ş and ţ (cedilla, legacy) become ș and ț (comma below); so does s + a combining comma.
    cedilla = _terms("ro", "Mulţumesc pentru ŞTIRI")
    comma = _terms("ro", "Mulțumesc pentru știri")
    combining = _terms("ro", "Mult\u0326umesc pentru s\u0326tiri")
    assert cedilla == comma == combining
    assert ("mulțumesc", "multumesc") in comma


def test_terms_without_diacritics_share_the_key_and_stop_words_go() -> None:
    # "și", "şi" and "si" (and), "a", "în" are Romanian stop words whatever their spelling.
    assert _terms("ro", "Livrarea a întârziat şi în ziua asta si produsul") == [
        ("întârziat", "intarziat"),
        ("livrarea", "livrarea"),
        ("produsul", "produsul"),
        ("ziua", "ziua"),
    ]
    assert _terms("ro", "livrarea a intarziat") == [
        ("intarziat", "intarziat"),
        ("livrarea", "livrarea"),
    ]


def test_cyrillic_is_case_folded_and_yo_matches_ye() -> None:
    # "ВСЁ" folds to "всё", matched as the stop word "все"; "ПРИШЁЛ" keeps its ё for display.
    assert _terms("ru", "Заказ ПРИШЁЛ вовремя, ВСЁ отлично и быстро") == [
        ("быстро", "быстро"),
        ("вовремя", "вовремя"),
        ("заказ", "заказ"),
        ("отлично", "отлично"),
        ("пришёл", "пришел"),
    ]
    # Ukrainian: "і" and "дуже" are stop words; the apostrophe stays inside a word.
    assert _terms("uk", "Дуже смачне М’ЯСО і доставка") == [
        ("доставка", "доставка"),
        ("м'ясо", "м'ясо"),
        ("смачне", "смачне"),
    ]


def test_a_term_counts_once_per_comment_and_empty_comments_have_none() -> None:
    assert _terms("en", "Late, late and LATE again!") == [("late", "late")]
    assert _terms("en", None) == []
    assert _terms("en", "It was the") == []  # only stop words
