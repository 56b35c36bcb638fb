"""Settings: one object, defaults here, overridden by `LOYALTY_*` environment variables.

Nested values use a double underscore, e.g. `LOYALTY_FX_RATES__EUR=1.0`.
Nothing in here reads the wall clock: every run is keyed by its as-of date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SOURCES: tuple[str, ...] = ("customers", "orders", "survey_responses")


class Settings(BaseSettings):
    """Everything a run may vary. Documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_", env_nested_delimiter="__")

    data_dir: Path = Field(
        Path("data"), description="Root of every layer, from landing to warehouse."
    )
    landing_format: Literal["csv", "parquet"] = "csv"
    source_timezone: str = Field(
        "UTC", description="Time zone of export timestamps that carry no offset."
    )
    pii_key: SecretStr | None = Field(
        None, description="HMAC key (hex) for pseudonymising PII; else the key file is used."
    )
    reporting_currency: str = "EUR"
    fx_rates: dict[str, float] = Field(
        default_factory=lambda: {"EUR": 1.0, "RON": 0.201, "MDL": 0.052, "UAH": 0.022, "GBP": 1.17},
        description="Units of the reporting currency per unit of each accepted currency.",
    )
    nps_min_sample: int = Field(30, description="Groups with fewer valid responses are flagged.")
    churn_windows: dict[str, PositiveInt] = Field(
        default_factory=lambda: {"90d": 90, "180d": 180, "365d": 365},
        description="Named inactivity windows: churned = last purchase more than N days ago.",
    )
    gross_margin_rate: float | None = Field(
        None, gt=0, le=1, description="Share of net revenue kept as gross margin (CLV)."
    )
    duckdb_threads: int | None = None
    duckdb_memory_limit: str | None = Field(None, description="e.g. '8GB'; DuckDB spills past it.")

    @field_validator("churn_windows")
    @classmethod
    def _at_least_one_window(cls, windows: dict[str, int]) -> dict[str, int]:
        if not windows:
            raise ValueError('give at least one churn window, e.g. {"90d": 90}')
        return windows

    @cached_property
    def paths(self) -> Layout:
        return Layout(self.data_dir.resolve())


@dataclass(frozen=True)
class Layout:
    """Where each layer lives on disk. One place, so no module invents a path."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_dir(self, export_date: dt.date) -> Path:
        return self.landing / export_date.isoformat()

    def raw_dir(self, source: str) -> Path:
        return self.root / "raw" / source

    def quarantine_dir(self, source: str) -> Path:
        return self.root / "quarantine" / source

    @property
    def load_audit_dir(self) -> Path:
        return self.root / "ops" / "load_audit"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def facts(self) -> Path:
        return self.root / "facts"

    @property
    def build_db(self) -> Path:
        return self.root / "build" / "build.duckdb"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / "loyalty.duckdb"

    @property
    def warehouse_parquet(self) -> Path:
        """A symlink to the export of the published warehouse, swapped with it."""
        return self.warehouse_dir / "parquet"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pii_key_file(self) -> Path:
        return self.root / "secrets" / "pii.key"
