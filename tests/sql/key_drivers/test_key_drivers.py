"""marts.key_drivers: hand-computed correlations, importances and quadrants; cross-checked
against numpy on generated data; the generator's true driver order is recovered."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipelines.config import SURVEY_DRIVERS, Settings
from pipelines.synth.behaviour import DRIVER_WEIGHTS
from tests.sql import harness
from tests.sql.harness import response

MART = "marts.key_drivers"
AS_OF = dt.date(2025, 1, 31)

# Four answers in January. NPS scores 10, 8, 6, 4: mean 7, deviations 3, 1, -1, -3 (sum of
# squares 20). Each driver's ratings and their deviations from the driver's mean:
#   quality    5 4 2 1  (mean 3,   dev 2 1 -1 -2,     ss 10): sum dev*dev = 6+1+1+6 = 14
#              r = 14 / sqrt(20 * 10) = 0.98995, r^2 = 0.98
#   service    2 2 1 1  (mean 1.5, dev .5 .5 -.5 -.5, ss 1):  1.5+.5+.5+1.5 = 4
#              r = 4 / sqrt(20 * 1) = 0.89443, r^2 = 0.8
#   price      1 2 2 1  (mean 1.5): -1.5+.5-.5+1.5 = 0, r = 0
#   delivery   1 2 4 5  (mean 3):   -6-1-1-6 = -14, r = -0.98995 (negative: importance 0)
#   assortment 3 3 3 3  constant: no correlation (NULL), no importance
# Importance = positive r^2 / sum: quality 0.98 / 1.78 = 0.55056, service 0.8 / 1.78 =
# 0.44944, price 0, delivery 0. Performance 25 * (mean - 1): quality 50, service 12.5,
# price 12.5, delivery 50, assortment 50; their mean 35. Mean importance over the four
# drivers that have one: 0.25.
RATINGS = {
    "quality": (5, 4, 2, 1),
    "service": (2, 2, 1, 1),
    "price": (1, 2, 2, 1),
    "delivery": (1, 2, 4, 5),
    "assortment": (3, 3, 3, 3),
}
STAGING = {
    "survey_responses": [
        response(
            f"R{i}",
            None,
            "2025-01-15",
            score,
            **{f"driver_{driver}": ratings[i] for driver, ratings in RATINGS.items()},
        )
        for i, score in enumerate((10, 8, 6, 4))
    ]
}


def _drivers() -> dict[str, dict]:
    with harness.build(STAGING, AS_OF, [MART]) as connection:
        frame = connection.sql(f"from {MART} where period_grain = 'month' and segment = 'all'").pl()
    return {row["driver"]: row for row in frame.iter_rows(named=True)}


def test_hand_computed_correlations_importances_and_quadrants() -> None:
    drivers = _drivers()
    expected = {
        # driver: (correlation, importance, performance, quadrant)
        "quality": (0.98995, 0.55056, 50.0, "keep up"),
        "service": (0.89443, 0.44944, 12.5, "concentrate here"),
        "price": (0.0, 0.0, 12.5, "low priority"),
        "delivery": (-0.98995, 0.0, 50.0, "possible overkill"),
    }
    for driver, (correlation, importance, performance, quadrant) in expected.items():
        row = drivers[driver]
        assert row["ratings_n"] == 4
        assert row["nps_correlation"] == pytest.approx(correlation, abs=1e-5), driver
        assert row["importance"] == pytest.approx(importance, abs=1e-5), driver
        assert row["performance"] == pytest.approx(performance), driver
        assert row["quadrant"] == quadrant, driver
    constant = drivers["assortment"]
    assert (constant["nps_correlation"], constant["importance"], constant["quadrant"]) == (
        None,
        None,
        None,
    )
    assert constant["rating_mean"] == 3.0


# Three answers scoring 10, 6, 8 (mean 8, deviations 2, -2, 0; sum of squares 8):
#   quality  5 3 3 (mean 11/3, dev 4/3 -2/3 -2/3, ss 8/3): 8/3 + 4/3 + 0 = 4,
#            r = 4 / sqrt(8 * 8/3) = 0.86603, the only positive r: importance 1
#   service  1 1 2 (mean 4/3):  -2/3 + 2/3 + 0 = 0, r = 0, importance 0
#   price    5 5 4 (mean 14/3): 2/3 - 2/3 + 0 = 0, r = 0, importance 0
#   delivery 5 5 5 constant: no importance, no quadrant
# Performances 25 * (mean - 1): quality 66.667, service 8.333, price 91.667, delivery 100;
# their mean (11 + 4 + 14 + 15) / 12 = 11/3 -> 66.667 ties quality's exactly, but summed
# in doubles it comes out one bit above. Mean importance 1/3.
TIED_RATINGS = {"quality": (5, 3, 3), "service": (1, 1, 2), "price": (5, 5, 4)}


def test_a_driver_that_ties_the_group_mean_counts_as_at_the_mean() -> None:
    staging = {
        "survey_responses": [
            response(
                f"R{i}",
                None,
                "2025-01-15",
                score,
                driver_delivery=5,
                **{f"driver_{driver}": ratings[i] for driver, ratings in TIED_RATINGS.items()},
            )
            for i, score in enumerate((10, 6, 8))
        ]
    }
    with harness.build(staging, AS_OF, [MART]) as connection:
        quadrants = dict(
            connection.sql(
                f"select driver, quadrant from {MART}"
                " where period_grain = 'month' and segment = 'all'"
            ).fetchall()
        )
    assert quadrants == {
        "quality": "keep up",
        "service": "low priority",
        "price": "possible overkill",
        "delivery": None,
    }


def test_csi_weight_is_carried_for_the_csi() -> None:
    assert {row["csi_weight"] for row in _drivers().values()} == {1.0}


@pytest.mark.integration
def test_matches_numpy_and_recovers_the_true_driver_order(generated_run: Settings) -> None:
    responses = pl.read_parquet(generated_run.paths.facts / "survey_responses.parquet")
    with harness.warehouse(generated_run) as connection:
        actual = connection.sql(
            f"select period, driver, ratings_n, rating_mean, nps_correlation, importance"
            f" from {MART} where period_grain = 'quarter' and segment = 'all'"
        ).pl()
    quarters = responses.with_columns(
        period=pl.format(
            "{}-Q{}", pl.col("response_month").dt.year(), pl.col("response_month").dt.quarter()
        )
    )
    for (period,), group in quarters.partition_by("period", as_dict=True).items():
        rows = actual.filter(pl.col("period") == period)
        squared = {}
        for driver in SURVEY_DRIVERS:
            pairs = group.select("nps_score", f"driver_{driver}").drop_nulls()
            row = rows.filter(pl.col("driver") == driver).row(0, named=True)
            r = np.corrcoef(pairs[:, 0].to_numpy(), pairs[:, 1].to_numpy())[0, 1]
            assert row["ratings_n"] == pairs.height
            assert row["rating_mean"] == pytest.approx(pairs[:, 1].mean())
            assert row["nps_correlation"] == pytest.approx(r, abs=1e-9)
            squared[driver] = max(r, 0.0) ** 2
        total = sum(squared.values())
        for driver, value in squared.items():
            importance = rows.filter(pl.col("driver") == driver)["importance"].item()
            assert importance == pytest.approx(value / total, abs=1e-9)
        assert rows["importance"].sum() == pytest.approx(1.0)
    # Over the whole sample the most and least important drivers are the generator's.
    overall = (
        actual.group_by("driver")
        .agg((pl.col("importance") * pl.col("ratings_n")).sum() / pl.col("ratings_n").sum())
        .sort("importance", descending=True)["driver"]
        .to_list()
    )
    truth = sorted(DRIVER_WEIGHTS, key=DRIVER_WEIGHTS.__getitem__, reverse=True)
    assert (overall[0], overall[-1]) == (truth[0], truth[-1])
