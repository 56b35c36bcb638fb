"""Fictional personal data and survey comments in Romanian, Russian, Ukrainian and English.

Names come from Faker's locale providers, drawn once into a small pool and then indexed
by array, so a million customers cost no more than a thousand names. E-mail addresses use
the reserved example domains (RFC 2606): none can belong to a real person.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl
from faker import Faker

NAME_LOCALE = {"RO": "ro_RO", "MD": "ro_RO", "UA": "uk_UA", "GB": "en_GB"}
PHONE_PREFIX = {"RO": "+40 7", "MD": "+373 6", "UA": "+380 6", "GB": "+44 7"}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
NAMES_PER_LOCALE = 500

# Comment fragments by language and sentiment. Diacritics and Cyrillic are deliberate:
# the comment-theme metrics must handle them.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "ro": {
        "positive": (
            "Livrare rapidă și produse de calitate",
            "Personal foarte amabil, mulțumesc!",
            "Prețuri bune și o ofertă variată",
            "Comanda a ajuns la timp, totul în regulă",
            "Calitatea produselor este excelentă",
        ),
        "negative": (
            "Livrarea a întârziat o săptămână",
            "Prețurile sunt prea mari față de concurență",
            "Produsul a sosit deteriorat, dezamăgit",
            "Serviciul clienți nu răspunde la telefon",
            "Calitatea a scăzut în ultima vreme",
        ),
        "neutral": (
            "Totul a fost în regulă",
            "Nimic deosebit",
            "Aș vrea mai multe opțiuni de plată",
        ),
    },
    "ru": {
        "positive": (
            "Отличное качество и быстрая доставка",
            "Очень вежливый персонал, спасибо!",
            "Хорошие цены и большой выбор",
            "Заказ пришёл вовремя, всё отлично",
        ),
        "negative": (
            "Доставка задержалась на неделю",
            "Цены слишком высокие",
            "Товар пришёл повреждённым, разочарован",
            "Служба поддержки не отвечает",
            "Качество стало хуже",
        ),
        "neutral": ("В целом нормально", "Ничего особенного", "Хотелось бы больше способов оплаты"),
    },
    "uk": {
        "positive": (
            "Чудова якість і швидка доставка",
            "Дуже ввічливий персонал, дякую!",
            "Гарні ціни та великий вибір",
            "Замовлення прийшло вчасно, все чудово",
        ),
        "negative": (
            "Доставка затрималася на тиждень",
            "Ціни занадто високі",
            "Товар прийшов пошкодженим, розчарований",
            "Служба підтримки не відповідає",
            "Якість стала гіршою",
        ),
        "neutral": ("Загалом нормально", "Нічого особливого", "Хотілося б більше способів оплати"),
    },
    "en": {
        "positive": (
            "Fast delivery and great quality",
            "Very friendly staff, thank you!",
            "Good prices and a wide choice",
            "Order arrived on time, all good",
        ),
        "negative": (
            "Delivery was a week late",
            "Prices are too high",
            "The product arrived damaged, disappointed",
            "Customer service never answers the phone",
            "Quality has gone down lately",
        ),
        "neutral": ("It was fine overall", "Nothing special", "I would like more payment options"),
    },
}
COMMENT_SHARE = 0.35


@cache  # Faker is slow to set up: a generator drawing in chunks asks for the pool each time
def name_pool(seed: int) -> dict[str, list[str]]:
    """A few hundred fictional full names per locale, the same for the same seed."""
    pool: dict[str, list[str]] = {}
    for locale in sorted(set(NAME_LOCALE.values())):
        faker = Faker(locale)
        faker.seed_instance(seed)
        pool[locale] = [
            f"{faker.first_name()} {faker.last_name()}" for _ in range(NAMES_PER_LOCALE)
        ]
    return pool


def personal_data(rng: np.random.Generator, customers: pl.DataFrame, seed: int) -> pl.DataFrame:
    """full_name, email and phone for each customer, as a CRM would hold them."""
    n = customers.height
    pool = name_pool(seed)
    position = rng.integers(0, NAMES_PER_LOCALE, n)
    names_by_locale = {
        locale: pl.Series(names, dtype=pl.String).gather(position) for locale, names in pool.items()
    }
    full_name = pl.coalesce(
        pl.when(pl.col("country") == code).then(pl.lit(names_by_locale[locale]))
        for code, locale in NAME_LOCALE.items()
    )
    domain = pl.Series(EMAIL_DOMAINS, dtype=pl.String).gather(
        rng.integers(0, len(EMAIL_DOMAINS), n)
    )
    digits = rng.integers(10_000_000, 99_999_999, n)
    return (
        customers.select("customer_index", "country")
        .with_columns(
            full_name=full_name,
            email=pl.format(
                "customer{}.{}@{}",
                pl.col("customer_index"),
                pl.lit(pl.Series(rng.integers(100, 999, n))),
                pl.lit(domain),
            ),
            phone=pl.concat_str(
                pl.col("country").replace_strict(PHONE_PREFIX), pl.Series(digits).cast(pl.String)
            ),
        )
        .drop("country")
    )


def comments(rng: np.random.Generator, language: pl.Series, nps_score: pl.Series) -> pl.Series:
    """A comment for about a third of the responses, in the response's language, whose
    tone follows the score."""
    n = language.len()
    frame = pl.DataFrame({"language": language, "nps_score": nps_score}).with_columns(
        tone=pl.when(pl.col("nps_score") >= 9)
        .then(pl.lit("positive"))
        .when(pl.col("nps_score") <= 6)
        .then(pl.lit("negative"))
        .otherwise(pl.lit("neutral")),
        has_comment=pl.lit(rng.random(n) < COMMENT_SHARE),
    )
    # One candidate phrase per (language, tone) for every row; each row keeps its own.
    candidates = [
        pl.when((pl.col("language") == code) & (pl.col("tone") == tone)).then(
            pl.lit(pl.Series(phrases, dtype=pl.String).gather(rng.integers(0, len(phrases), n)))
        )
        for code, by_tone in COMMENTS.items()
        for tone, phrases in by_tone.items()
    ]
    return frame.select(
        comment=pl.when(pl.col("has_comment")).then(pl.coalesce(candidates))
    ).to_series()
