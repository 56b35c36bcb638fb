"""Purchase logs drawn from the generator's behaviour model, whose truth is known."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest

from pipelines.clv.rfm import rfm_summary
from pipelines.synth import purchase_log
from pipelines.synth.behaviour import ARMS, TrueParameters

START = dt.date(2024, 1, 1)
HORIZON_DAYS = 730
AS_OF = START + dt.timedelta(days=HORIZON_DAYS - 1)
# Pure BG/NBD and Gamma-Gamma: no programme speeds anybody up, everybody buys.
PURE_TRUTH = dataclasses.replace(
    TrueParameters(), programme_uplift=dict.fromkeys(ARMS, 0.0), buyer_share=1.0
)


def pure_purchases(customers: int, seed: int) -> pl.DataFrame:
    return purchase_log(customers, float(HORIZON_DAYS), seed, PURE_TRUTH, START)


@pytest.fixture(scope="session")
def purchases() -> pl.DataFrame:
    return pure_purchases(3_000, seed=3)


@pytest.fixture(scope="session")
def rfm(purchases: pl.DataFrame) -> pl.DataFrame:
    return rfm_summary(purchases.lazy(), AS_OF).collect()
