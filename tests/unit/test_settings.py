"""Settings of the behaviour marts: named churn windows and the gross margin rate."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from pipelines import run
from pipelines.config import Settings


def test_default_churn_windows() -> None:
    assert Settings().churn_windows == {"90d": 90, "180d": 180, "365d": 365}
    assert Settings().gross_margin_rate is None


def test_churn_windows_from_the_environment_replace_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_CHURN_WINDOWS", '{"quarter": 91, "year": 365}')
    assert Settings().churn_windows == {"quarter": 91, "year": 365}
    monkeypatch.delenv("LOYALTY_CHURN_WINDOWS")
    monkeypatch.setenv("LOYALTY_CHURN_WINDOWS__60D", "60")
    assert Settings().churn_windows == {"60d": 60}


@pytest.mark.parametrize("windows", [{}, {"never": 0}, {"backwards": -30}])
def test_churn_windows_must_be_positive_and_at_least_one(windows: dict[str, int]) -> None:
    with pytest.raises(pydantic.ValidationError, match="churn_windows"):
        Settings(churn_windows=windows)


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5])
def test_gross_margin_rate_is_a_share(rate: float) -> None:
    with pytest.raises(pydantic.ValidationError, match="gross_margin_rate"):
        Settings(gross_margin_rate=rate)


def test_models_get_the_trailing_year_and_the_margin() -> None:
    parameters = run.model_parameters(Settings(gross_margin_rate=0.4), dt.date(2025, 6, 15))
    assert parameters["trailing_year_start"] == dt.date(2024, 6, 16)
    assert parameters["gross_margin_rate"] == 0.4
