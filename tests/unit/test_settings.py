"""Settings of the behaviour marts: named churn windows (one of them the survey marts'), and
the gross margin rate."""

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
    monkeypatch.setenv("LOYALTY_NPS_CHURN_WINDOW", "quarter")
    assert Settings().churn_windows == {"quarter": 91, "year": 365}
    monkeypatch.delenv("LOYALTY_CHURN_WINDOWS")
    monkeypatch.setenv("LOYALTY_CHURN_WINDOWS__60D", "60")
    monkeypatch.setenv("LOYALTY_NPS_CHURN_WINDOW", "60d")
    assert Settings().churn_windows == {"60d": 60}


def test_the_survey_marts_churn_window_is_one_of_the_churn_windows() -> None:
    assert Settings().nps_churn_window_days == 90  # '90d'
    settings = Settings(churn_windows={"30d": 30, "quarter": 91}, nps_churn_window="quarter")
    assert run.model_parameters(settings, dt.date(2025, 6, 15))["nps_churn_window_days"] == 91
    # Replacing the windows without naming one of them for the survey marts is refused.
    with pytest.raises(pydantic.ValidationError, match="'90d' is not one of the churn windows"):
        Settings(churn_windows={"30d": 30})


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
