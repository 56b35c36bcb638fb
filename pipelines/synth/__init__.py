"""Deterministic synthetic CRM and survey exports (`loyalty generate`).

The same seed and sizes give byte-identical files. The generator's ground truth (model
parameters, programme uplift and its effect on the measured metrics) is written to
`<data_dir>/synth/truth.json` so that tests and fits can compare against what really happened.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from pipelines.config import Layout
from pipelines.periods import date_range
from pipelines.synth.behaviour import TrueParameters, draw_customers, draw_purchases, draw_responses
from pipelines.synth.exports import (
    customer_versions,
    order_versions,
    response_versions,
    to_timestamp,
)
from pipelines.synth.text import personal_data
from pipelines.synth.truth import programme_effects

log = logging.getLogger(__name__)

DEFAULT_START = dt.date(2024, 11, 1)
KEYS = {"customers": "customer_id", "orders": "order_id", "survey_responses": "response_id"}


@dataclass(frozen=True)
class SynthConfig:
    customers: int = 50_000
    months: int = 24
    seed: int = 42
    start: dt.date = DEFAULT_START
    format: Literal["csv", "parquet"] = "csv"
    dirty_rate: float = 0.0005  # share of order and response rows broken on purpose

    @property
    def end(self) -> dt.date:
        """Last export date: the day before `start` plus `months` months."""
        month_index = self.start.month - 1 + self.months
        first_after = dt.date(self.start.year + month_index // 12, month_index % 12 + 1, 1)
        return first_after - dt.timedelta(days=1)

    @property
    def horizon_days(self) -> float:
        return float((self.end - self.start).days + 1)


@dataclass(frozen=True)
class GeneratedExports:
    start: dt.date
    end: dt.date
    rows: dict[str, int]


def generate(
    layout: Layout, config: SynthConfig, truth: TrueParameters | None = None
) -> GeneratedExports:
    """Write one folder per export date under `layout.landing`, replacing what was there."""
    truth = truth or TrueParameters()
    rng = np.random.default_rng(config.seed)
    customers = draw_customers(rng, config.customers, config.horizon_days, truth)
    purchases = draw_purchases(rng, customers, config.horizon_days, truth)
    responses = draw_responses(rng, customers, purchases, config.horizon_days, truth)
    people = personal_data(rng, customers, config.seed)
    exports = {
        "customers": customer_versions(rng, customers, people, config.start, config.horizon_days),
        "orders": order_versions(
            rng, purchases, customers, config.start, config.horizon_days, config.dirty_rate
        ),
        "survey_responses": response_versions(
            rng, responses, people, config.customers, config.start, config.dirty_rate
        ),
    }
    if layout.landing.exists():
        shutil.rmtree(layout.landing)
    for source, frame in exports.items():
        _write_by_export_date(_daily_state(frame, KEYS[source]), source, layout.landing, config)
    result = GeneratedExports(
        config.start, config.end, {name: f.height for name, f in exports.items()}
    )
    effects = programme_effects(customers, purchases, responses, config.horizon_days)
    _write_truth(layout.root / "synth" / "truth.json", config, truth, result, effects)
    return result


def purchase_log(
    customers: int, horizon_days: float, seed: int, truth: TrueParameters, start: dt.date
) -> pl.DataFrame:
    """The completed purchases of the behaviour model alone, as a transaction log
    (customer_id as an integer, ordered_at in UTC, net_amount in EUR): no exports, no
    cancellations or refunds, for checking the CLV models against their known truth."""
    rng = np.random.default_rng(seed)
    purchases = draw_purchases(
        rng, draw_customers(rng, customers, horizon_days, truth), horizon_days, truth
    )
    return purchases.select(
        customer_id="customer_index",
        ordered_at=to_timestamp(start, pl.col("ordered_day")),
        net_amount="amount_eur",
    )


def _daily_state(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """A daily export holds the state of each changed row at the end of the day: of two
    changes on one day, only the later is delivered."""
    return frame.sort("updated_at", maintain_order=True).unique(
        subset=[key, pl.col("updated_at").dt.date()], keep="last", maintain_order=True
    )


def _write_by_export_date(
    frame: pl.DataFrame, source: str, landing: Path, config: SynthConfig
) -> None:
    """Each export date gets a file, an empty one (header only) on a day without changes."""
    dated = frame.with_columns(_export_date=pl.col("updated_at").dt.date())
    parts = dated.partition_by("_export_date", as_dict=True, include_key=False)
    empty = frame.head(0)
    for day in date_range(config.start, config.end):
        part = parts.get((day,), empty)
        directory = landing / day.isoformat()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{source}.{config.format}"
        if config.format == "csv":
            part.with_columns(pl.selectors.datetime().dt.to_string("%Y-%m-%dT%H:%M:%SZ")).write_csv(
                path
            )
        else:
            part.write_parquet(path)
    log.info("wrote %s: %d rows over %d export dates", source, frame.height, len(parts))


def _write_truth(
    path: Path,
    config: SynthConfig,
    truth: TrueParameters,
    result: GeneratedExports,
    effects: dict[str, dict[str, dict[str, float | None]]],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "config": {
            **asdict(config),
            "start": config.start.isoformat(),
            "end": config.end.isoformat(),
        },
        "true_parameters": asdict(truth),
        # What each arm truly changed on the metrics marts.programme_evaluation measures.
        "programme_effect": effects,
        "rows": result.rows,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
