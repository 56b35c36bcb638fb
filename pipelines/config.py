"""Settings: one object, defaults here, overridden by `LOYALTY_*` environment variables.

Nested values use a double underscore, e.g. `LOYALTY_FX_RATES__EUR=1.0`.
Nothing in here reads the wall clock: every run is keyed by its as-of date.
"""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines import month_partitions

SOURCES: tuple[str, ...] = ("customers", "orders", "survey_responses")
# The driver ratings the survey carries (columns driver_<name>) and the CLI's components.
SURVEY_DRIVERS: tuple[str, ...] = ("quality", "price", "service", "assortment", "delivery")
CLI_COMPONENTS: tuple[str, ...] = ("recommendation", "satisfaction", "repurchase")
# Facts tables kept as one file per month, each recomputed only when its inputs change
# (`pipelines.month_partitions`): table -> the column that names a row's month.
MONTHLY_FACTS: dict[str, str] = {"orders": "order_month", "customer_month": "period_month"}
# Staging tables kept as one file per month of a timestamp (`pipelines.snapshots`): a
# nightly merge rewrites the months its deliveries touch and links the others as they are.
MONTHLY_STAGING: dict[str, str] = {"orders": "ordered_at"}
# The partition column of the CLV fit history and backtests, one partition per run.
CLV_PARTITION_KEY = "as_of"


class Settings(BaseSettings):
    """Everything a run may vary. Documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_", env_nested_delimiter="__")

    data_dir: Path = Field(
        Path("data"), description="Root of every layer, from landing to warehouse."
    )
    landing_format: Literal["csv", "parquet"] = "csv"
    source_encodings: dict[str, str] = Field(
        default_factory=dict,
        description="Text encoding of a source's CSV deliveries when it is not UTF-8, "
        "e.g. {'survey_responses': 'cp1251'}.",
    )
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
    # Survey metrics and survey x behaviour (docs/metrics.md, "Survey metrics").
    csi_driver_weights: dict[str, float] = Field(
        default_factory=dict, description="CSI weight per driver; a driver not listed weighs 1."
    )
    cli_weights: dict[str, float] = Field(
        default_factory=dict, description="CLI weight per component; one not listed weighs 1."
    )
    comment_top_terms: int = Field(10, ge=1, description="Terms kept per language and class.")
    nps_churn_window: str = Field(
        "90d",
        description="The churn window (a name of churn_windows) by which churn by NPS class "
        "and the programme's retention count a customer as churned.",
    )
    nps_churn_horizon_months: int = Field(
        6, ge=1, description="Churn of respondents of month m is read at the end of m + this."
    )
    programme_window_start: dt.date | None = Field(
        None, description="First day of the programme test window; none: each enrolment."
    )
    programme_window_end: dt.date | None = Field(
        None, description="Last day of the programme test window; none: the as-of date."
    )
    clv_discount_rate_monthly: float = Field(
        0.01, ge=0.0, description="Monthly rate future CLV cash flows are discounted at."
    )
    gross_margin_rate: float | None = Field(
        None, gt=0.0, le=1.0, description="Share of net revenue kept as margin; unset: revenue."
    )
    clv_holdout_days: int = Field(
        90, ge=1, description="Days at the end of the history the CLV backtest predicts."
    )
    # Data-quality gates (docs/quality.md). Shares and ratios over fewer rows than
    # `quality_min_rows` are not judged: a 3-row delivery with one bad row is not news.
    quality_min_rows: int = Field(20, description="Fewest rows a share or ratio is judged on.")
    volume_trailing_deliveries: int = Field(
        28, description="Deliveries before this one whose median volume is the reference."
    )
    volume_min_ratio: float = Field(0.25, description="Rows read / trailing median: drop below.")
    volume_max_ratio: float = Field(4.0, description="Rows read / trailing median: spike above.")
    max_quarantine_share: float = Field(
        0.1, description="Share of a delivery's rows quarantined above which the load stops."
    )
    freshness_max_lag_hours: float = Field(
        48.0, description="Newest updated_at of a delivery at most this long before its end."
    )
    max_held_order_share: float = Field(
        0.01, description="Share of orders whose customer is unknown above which the run stops."
    )
    min_linked_response_share: float = Field(
        0.8, description="Share of survey responses linked to a customer below which it stops."
    )
    quality_history_days: int = Field(
        35, description="Days of validation results and Data Docs pages kept before a run."
    )
    gate_chunk_rows: int = Field(
        1_000_000, description="Rows handed to Great Expectations at a time (memory bound)."
    )
    sorted_write_rows: int = Field(
        8_000_000,
        description="Rows of a staging or facts table sorted in memory at a time; a larger "
        "table is written in key ranges of about this size (memory bound).",
    )
    # Every core by default. The models give the same numbers on any number of threads:
    # they sum money and scores exactly (decimals, integers) and add doubles in a fixed
    # order, where a parallel sum of doubles would change in its last bits from run to run.
    duckdb_threads: int | None = Field(
        None, description="Threads for the SQL models (default: every core)."
    )
    duckdb_memory_limit: str | None = Field(None, description="e.g. '8GB'; DuckDB spills past it.")

    @field_validator("csi_driver_weights")
    @classmethod
    def _known_drivers(cls, weights: dict[str, float]) -> dict[str, float]:
        return _known_weights(weights, SURVEY_DRIVERS, "driver")

    @field_validator("cli_weights")
    @classmethod
    def _known_components(cls, weights: dict[str, float]) -> dict[str, float]:
        return _known_weights(weights, CLI_COMPONENTS, "CLI component")

    def csi_weight(self, driver: str) -> float:
        return self.csi_driver_weights.get(driver, 1.0)

    def cli_weight(self, component: str) -> float:
        return self.cli_weights.get(component, 1.0)

    @field_validator("churn_windows")
    @classmethod
    def _at_least_one_window(cls, windows: dict[str, int]) -> dict[str, int]:
        if not windows:
            raise ValueError('give at least one churn window, e.g. {"90d": 90}')
        return windows

    @model_validator(mode="after")
    def _nps_churn_window_is_a_churn_window(self) -> Settings:
        if self.nps_churn_window not in self.churn_windows:
            raise ValueError(
                f"nps_churn_window {self.nps_churn_window!r} is not one of the churn windows "
                f"({', '.join(self.churn_windows)}): name one of them"
            )
        return self

    @property
    def nps_churn_window_days(self) -> int:
        """W of the survey marts: the days of the named churn window, so that churn has one
        definition in the warehouse."""
        return self.churn_windows[self.nps_churn_window]

    @field_validator("source_encodings")
    @classmethod
    def _known_sources_and_codecs(cls, encodings: dict[str, str]) -> dict[str, str]:
        for source, encoding in encodings.items():
            if source not in SOURCES:
                raise ValueError(f"{source!r} is not a source ({', '.join(SOURCES)})")
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ValueError(f"{encoding!r} is not a known text encoding") from None
        return encodings

    def encoding_of(self, source: str) -> str:
        return self.source_encodings.get(source, "utf-8")

    @cached_property
    def paths(self) -> Layout:
        return Layout(self.data_dir.resolve())


def _known_weights(
    weights: dict[str, float], known: tuple[str, ...], what: str
) -> dict[str, float]:
    """Weights keyed by lower-case name; an unknown name or a negative weight is refused."""
    weights = {name.lower(): weight for name, weight in weights.items()}
    unknown = sorted(weights.keys() - set(known))
    if unknown:
        raise ValueError(f"unknown {what} {', '.join(unknown)} (known: {', '.join(known)})")
    if any(weight < 0 for weight in weights.values()) or not any(
        weights.get(name, 1.0) > 0 for name in known
    ):
        raise ValueError(f"{what} weights must be >= 0 and not all 0")
    return weights


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
    def accepted_deliveries_dir(self) -> Path:
        """One marker per export date the raw gate accepted (`pipelines.deliveries`)."""
        return self.root / "ops" / "accepted_deliveries"

    @property
    def backfill_progress(self) -> Path:
        """The range and the last date done of a backfill not yet finished."""
        return self.root / "ops" / "backfill.json"

    @property
    def gate_results_dir(self) -> Path:
        return self.root / "ops" / "gate_results"

    @property
    def quality(self) -> Path:
        """Great Expectations' validation results and Data Docs."""
        return self.root / "quality"

    @property
    def scratch(self) -> Path:
        """Temporary files of a step (a gate's chunks), removed by the step that made them."""
        return self.root / "tmp"

    @property
    def staging(self) -> Path:
        """A symlink to the current staging snapshot, swapped atomically by each run."""
        return self.root / "staging"

    @property
    def staging_snapshots(self) -> Path:
        return self.root / "staging_snapshots"

    def staging_table(self, table: str) -> Path:
        """A table of the current staging snapshot: its file, or its month directory for
        the tables kept by month (`MONTHLY_STAGING`)."""
        return _table_path(self.staging, table, MONTHLY_STAGING)

    def staging_files(self, table: str) -> list[Path]:
        """The Parquet files of a table of the current staging snapshot: one, or one per
        month for the tables kept by month (`MONTHLY_STAGING`)."""
        return _table_files(self.staging, table, MONTHLY_STAGING)

    @property
    def held_orders(self) -> Path:
        """Orders whose customer is not known as of the run's date, every raw version."""
        return self.staging / "held_orders.parquet"

    @property
    def facts(self) -> Path:
        return self.root / "facts"

    def fact_table(self, table: str) -> Path:
        """A facts table: its file, or its month directory for the tables kept by month
        (`MONTHLY_FACTS`)."""
        return _table_path(self.facts, table, MONTHLY_FACTS)

    def fact_files(self, table: str) -> list[Path]:
        """The Parquet files of a facts table: one, or one per period month for the tables
        kept by month (`pipelines.month_partitions`)."""
        return _table_files(self.facts, table, MONTHLY_FACTS)

    @property
    def clv_customers(self) -> Path:
        """Per-customer RFM summary and CLV predictions of the latest run."""
        return self.root / "clv" / "customers.parquet"

    @property
    def clv_model_runs_dir(self) -> Path:
        """Fitted CLV parameters and fit status, one partition per as-of date (kept)."""
        return self.root / "ops" / "clv_model_runs"

    @property
    def clv_backtests_dir(self) -> Path:
        """CLV backtest results, one partition per as-of date (kept)."""
        return self.root / "ops" / "clv_backtests"

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


def _table_path(directory: Path, table: str, by_month: Collection[str]) -> Path:
    """A table's file in a layer's `directory`, or its month directory (`by_month`)."""
    return directory / table if table in by_month else directory / f"{table}.parquet"


def _table_files(directory: Path, table: str, by_month: Collection[str]) -> list[Path]:
    """A table's Parquet files in a layer's `directory`: its one file, or its months'."""
    path = _table_path(directory, table, by_month)
    return month_partitions.files(path) if table in by_month else [path]
