"""The terms of survey comments: tokenised, normalised, stop words removed, vectorised.

Normalisation keeps what a reader expects to see and merges what is the same word:
Unicode NFC (a letter with a combining mark becomes one character), lower case (Polars
folds Cyrillic like Latin), and Romanian s/t with a cedilla (ş, ţ: the legacy code points)
written as the correct s/t with a comma below (ș, ț). For matching stop words and for
counting, a term is also *folded*: Romanian ă â î ș ț to a a i s t (many people type
Romanian without diacritics, and the stop-word list is written without them) and Russian
ё to е (usually printed as е).
"""

from __future__ import annotations

from functools import cache

import polars as pl
from stop_words import get_stop_words

# Languages whose stop words are removed; others keep every term.
STOP_WORD_LANGUAGES = {"ro": "romanian", "ru": "russian", "uk": "ukrainian", "en": "english"}
CEDILLA_TO_COMMA = {"ş": "ș", "ţ": "ț"}
FOLDED = {"ă": "a", "â": "a", "î": "i", "ș": "s", "ț": "t", "ё": "е"}
# Letters, with inner apostrophes kept (Ukrainian м'ясо, English don't).
WORD = r"\p{L}+(?:['’]\p{L}+)*"
MIN_TERM_LETTERS = 2


def normalise(text: pl.Expr) -> pl.Expr:
    """NFC, lower case, Romanian comma-below s/t, one kind of apostrophe."""
    return (
        text.str.normalize("NFC")
        .str.to_lowercase()
        .str.replace_many(list(CEDILLA_TO_COMMA), list(CEDILLA_TO_COMMA.values()))
        .str.replace_all("’", "'", literal=True)
    )


def fold(term: pl.Expr) -> pl.Expr:
    """The key a term is matched and counted by: diacritics that writers omit removed."""
    return term.str.replace_many(list(FOLDED), list(FOLDED.values()))


@cache
def stop_words() -> pl.DataFrame:
    """(language, term_key) of every stop word, folded like the comments' terms."""
    frame = pl.DataFrame(
        [
            {"language": code, "word": word}
            for code, name in STOP_WORD_LANGUAGES.items()
            for word in get_stop_words(name)
        ],
        schema={"language": pl.String, "word": pl.String},
    )
    return frame.select("language", term_key=fold(normalise(pl.col("word")))).unique()


def comment_terms(responses: pl.LazyFrame) -> pl.LazyFrame:
    """One row per response and distinct term of its comment (a term counts once per comment).

    Grain: response_id x term_key. `term` is the normalised spelling as written.
    """
    return (
        responses.filter(pl.col("comment").is_not_null())
        .select(
            "response_id",
            "language",
            term=normalise(pl.col("comment")).str.extract_all(WORD),
        )
        .explode("term")
        .filter(pl.col("term").str.len_chars() >= MIN_TERM_LETTERS)
        .with_columns(term_key=fold(pl.col("term")))
        .join(stop_words().lazy(), on=["language", "term_key"], how="anti")
        .unique(subset=["response_id", "term_key"], keep="first")
        .sort("response_id", "term_key")
    )
