"""Shared fixtures. Each test gets its own settings, isolated from the caller's LOYALTY_* env."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from pipelines.config import Settings

if TYPE_CHECKING:
    from pipelines.synth import SynthConfig

# A fixed key for tests only: pseudonyms must be reproducible inside a test.
TEST_PII_KEY = "5e" * 32

# The PostgreSQL server the integration tests that need one use (a libpq DSN of a database
# they may connect to; they create and drop databases of their own on that server).
POSTGRES_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The DSN of a reachable PostgreSQL server (TEST_POSTGRES_DSN). Without one the test
    is skipped, except under CI=true, where a missing server is a failure, not a skip."""
    import psycopg2

    try:
        psycopg2.connect(POSTGRES_DSN, connect_timeout=3).close()
    except psycopg2.OperationalError as error:
        first_line = (str(error).strip().splitlines() or ["unknown error"])[0]
        reason = f"PostgreSQL not reachable ({POSTGRES_DSN}): {first_line}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return POSTGRES_DSN


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    yield Settings(data_dir=tmp_path / "data", pii_key=TEST_PII_KEY)


def _published_shop(data_dir: Path, shop: ModuleType, **settings: object) -> Settings:
    """A hand-made shop module (ROWS, START, AS_OF) run through every stage and published."""
    from pipelines import run
    from tests.scenario import write_landing

    shop_settings = Settings(data_dir=data_dir, pii_key=TEST_PII_KEY, **settings)
    write_landing(shop_settings, shop.ROWS, shop.START, shop.AS_OF)
    run.backfill(shop_settings, shop.START, shop.AS_OF)
    return shop_settings


@pytest.fixture(scope="session")
def tiny_shop(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The hand-made shop of tests/tiny_shop.py, run through every stage and published."""
    from tests import tiny_shop as shop

    return _published_shop(tmp_path_factory.mktemp("tiny_shop"), shop)


@pytest.fixture(scope="session")
def behaviour_shop(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The hand-made shop of tests/behaviour_shop.py (with its churn windows and gross
    margin rate), run through every stage and published."""
    from tests import behaviour_shop as shop

    return _published_shop(
        tmp_path_factory.mktemp("behaviour_shop"),
        shop,
        churn_windows=shop.CHURN_WINDOWS,
        gross_margin_rate=shop.GROSS_MARGIN_RATE,
    )


def _generated_and_published(
    data_dir: Path, config: SynthConfig, days_before_end: int = 0, **settings: object
) -> Settings:
    """Generated exports run through the whole pipeline, published as of the last export
    date less `days_before_end` days."""
    from pipelines import run
    from pipelines.synth import generate

    run_settings = Settings(data_dir=data_dir, pii_key=TEST_PII_KEY, **settings)
    exports = generate(run_settings.paths, config)
    run.backfill(run_settings, exports.start, exports.end - dt.timedelta(days=days_before_end))
    return run_settings


@pytest.fixture(scope="session")
def generated_run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small generated sample (random data) run through the whole pipeline."""
    from pipelines.synth import SynthConfig

    return _generated_and_published(
        tmp_path_factory.mktemp("generated"), SynthConfig(customers=3_000, months=6, seed=11)
    )


@pytest.fixture(scope="session")
def generated_behaviour_run(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Generated data over 14 months (longer than the trailing year and the 365-day churn
    window), published as of the 19th of the last month so that month is incomplete, with
    the default churn windows and a gross margin rate."""
    from pipelines.synth import SynthConfig

    return _generated_and_published(
        tmp_path_factory.mktemp("generated_behaviour"),
        SynthConfig(customers=1_500, months=14, seed=23),
        days_before_end=12,
        gross_margin_rate=0.35,
    )
