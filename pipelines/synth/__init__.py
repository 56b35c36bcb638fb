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
from pipelines.synth.truth import MemberOutcomes, member_outcomes, programme_effects_of

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
    # Customers drawn at a time: bounds memory (about 3 GB at 24 months) whatever the size.
    chunk_customers: int = 250_000

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
    """Write one folder per export date under `layout.landing`, replacing what was there.

    Customers are drawn and written `config.chunk_customers` at a time, so memory stays
    bounded whatever the sample's size: each chunk's rows are appended to the files of
    their export dates. A sample of one chunk is exactly what the generator always wrote.
    """
    truth = truth or TrueParameters()
    if layout.landing.exists():
        shutil.rmtree(layout.landing)
    writer = _LandingWriter(layout, config)
    rows = dict.fromkeys(KEYS, 0)
    outcomes: list[MemberOutcomes] = []
    next_order = next_response = 0
    for chunk, first in enumerate(range(0, config.customers, config.chunk_customers)):
        size = min(config.chunk_customers, config.customers - first)
        rng = chunk_rng(config.seed, chunk)
        horizon = config.horizon_days
        customers = draw_customers(rng, size, horizon, truth, first_index=first)
        purchases = draw_purchases(rng, customers, horizon, truth)
        responses = draw_responses(rng, customers, purchases, horizon, truth)
        people = personal_data(rng, customers, config.seed)
        customer_rows = customer_versions(rng, customers, people, config.start, horizon)
        order_rows, orders = order_versions(
            rng, purchases, customers, config.start, horizon, config.dirty_rate, next_order
        )
        response_rows = response_versions(
            rng, responses, people, config.customers, config.start, config.dirty_rate, next_response
        )
        next_order += orders
        next_response += responses.height
        exports = {
            "customers": customer_rows,
            "orders": order_rows,
            "survey_responses": response_rows,
        }
        for source, frame in exports.items():
            writer.append(chunk, source, _daily_state(frame, KEYS[source]))
            rows[source] += frame.height
        outcomes.append(member_outcomes(customers, purchases, responses, horizon))
        log.info("generated customers %d to %d", first, first + size - 1)
    writer.finish()
    result = GeneratedExports(config.start, config.end, rows)
    effects = programme_effects_of(outcomes, config.horizon_days)
    _write_truth(layout.root / "synth" / "truth.json", config, truth, result, effects)
    return result


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The random stream of one chunk of customers: the first draws from the seed alone (so
    a one-chunk sample is unchanged), every other from (seed, chunk), independent of it."""
    return np.random.default_rng(seed if chunk == 0 else [seed, chunk])


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


class _LandingWriter:
    """One file per source and export date, an empty one (header only) on a day without
    changes. The first chunk writes every file; later chunks append their rows to them (CSV)
    or leave a part that `finish` joins to the date's file (Parquet cannot be appended to)."""

    def __init__(self, layout: Layout, config: SynthConfig) -> None:
        self.landing = layout.landing
        self.parts = layout.root / "synth" / "parts"
        self.config = config
        self.days = date_range(config.start, config.end)
        if self.parts.exists():
            shutil.rmtree(self.parts)

    def append(self, chunk: int, source: str, frame: pl.DataFrame) -> None:
        dated = frame.with_columns(_export_date=pl.col("updated_at").dt.date())
        parts = dated.partition_by("_export_date", as_dict=True, include_key=False)
        empty = frame.head(0)
        fmt = self.config.format
        for day in self.days if chunk == 0 else sorted(key for (key,) in parts):
            part = parts.get((day,), empty)
            if chunk == 0:
                directory = self.landing / day.isoformat()
                directory.mkdir(parents=True, exist_ok=True)
                path = directory / f"{source}.{fmt}"
                if fmt == "csv":
                    _as_text(part).write_csv(path)
                else:
                    part.write_parquet(path)
            elif fmt == "csv":
                with (self.landing / day.isoformat() / f"{source}.csv").open("ab") as file:
                    _as_text(part).write_csv(file, include_header=False)
            else:
                directory = self.parts / day.isoformat()
                directory.mkdir(parents=True, exist_ok=True)
                part.write_parquet(directory / f"{source}.{chunk:05d}.parquet")
        log.info("wrote %s: %d rows over %d export dates", source, frame.height, len(parts))

    def finish(self) -> None:
        if not self.parts.exists():
            return
        for directory in sorted(self.parts.iterdir()):
            for path in sorted((self.landing / directory.name).glob("*.parquet")):
                source = path.name.removesuffix(".parquet")
                extra = sorted(directory.glob(f"{source}.*.parquet"))
                if extra:
                    frames = [pl.read_parquet(part) for part in [path, *extra]]
                    pl.concat(frames).write_parquet(path)
        shutil.rmtree(self.parts)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.selectors.datetime().dt.to_string("%Y-%m-%dT%H:%M:%SZ"))


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
