"""Cross-check against the `lifetimes` library (0.11.3, the reference implementation of
BG/NBD and Gamma-Gamma in Python), run on the same purchases.

lifetimes installs and runs beside this project's pinned pandas 3 / numpy 2.4 / scipy
1.17 (it is a pinned dev dependency); its results there are the ones it gives on the
pandas 1.5 / numpy 1.26 / scipy 1.11 stack it was written for (checked when it was
added). Agreement is required to three significant figures: the two optimisers stop at
slightly different points of the same optimum.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

from pipelines.clv import bgnbd, gamma_gamma
from pipelines.clv.score import CLV_MONTHS, score
from tests.unit.clv.conftest import AS_OF

DISCOUNT_RATE_MONTHLY = 0.01


def same_to_significant_figures(ours: float, theirs: float, figures: int = 3) -> bool:
    """|ours - theirs| within half a unit of the last of `figures` significant figures."""
    if theirs == 0:
        return ours == 0
    return abs(ours - theirs) <= 0.5 * 10 ** (math.floor(math.log10(abs(theirs))) - figures + 1)


@pytest.fixture(scope="module")
def theirs_summary(purchases: pl.DataFrame) -> pd.DataFrame:
    transactions = purchases.with_columns(
        pl.col("ordered_at").dt.replace_time_zone(None)  # lifetimes wants naive UTC times
    ).to_pandas()
    return summary_data_from_transaction_data(
        transactions,
        "customer_id",
        "ordered_at",
        monetary_value_col="net_amount",
        observation_period_end=AS_OF.isoformat(),
        freq="D",
    )


@pytest.fixture(scope="module")
def fitted(theirs_summary: pd.DataFrame) -> tuple[BetaGeoFitter, GammaGammaFitter]:
    summary = theirs_summary
    purchases = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    spend = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    return purchases, spend


def test_rfm_summary_equals_lifetimes(
    rfm: pl.DataFrame, theirs_summary: pd.DataFrame, purchases: pl.DataFrame
) -> None:
    theirs = pl.from_pandas(theirs_summary, include_index=True)
    joined = rfm.join(theirs, on="customer_id", how="full", suffix="_lifetimes")
    assert joined.height == rfm.height == theirs.height
    assert (joined["frequency"] == joined["frequency_lifetimes"]).all()
    assert (joined["recency_days"] == joined["recency"]).all()
    assert (joined["tenure_days"] == joined["T"]).all()
    # Ours sums revenue in whole millionths (pipelines.transform.money): each amount moves
    # by at most half a millionth, a day's revenue by that times its purchases, and a
    # mean of days by no more than its largest day does.
    per_day = purchases.group_by("customer_id", pl.col("ordered_at").dt.date()).len()
    bound = 0.5e-6 * per_day["len"].max()
    assert np.allclose(
        joined["monetary_value"], joined["monetary_value_lifetimes"], rtol=0, atol=bound
    )


def test_parameters_equal_lifetimes(
    rfm: pl.DataFrame, fitted: tuple[BetaGeoFitter, GammaGammaFitter]
) -> None:
    x, t_x, tenure, m = _columns(rfm)
    ours = {**bgnbd.fit(x, t_x, tenure).params, **gamma_gamma.fit(x, m).params}
    theirs = {**fitted[0].params_, **fitted[1].params_.rename({"v": "gamma"})}
    for name, value in theirs.items():
        assert same_to_significant_figures(ours[name], value), (name, ours[name], value)


def test_predictions_equal_lifetimes(
    rfm: pl.DataFrame, fitted: tuple[BetaGeoFitter, GammaGammaFitter]
) -> None:
    """Our whole chain (our fit, our scoring) against theirs (their fit, their scoring)."""
    x, t_x, tenure, m = _columns(rfm)
    purchases, spend = fitted
    expected = purchases.conditional_expected_number_of_purchases_up_to_time
    ours = score(
        rfm,
        bgnbd.fit(x, t_x, tenure).params,
        gamma_gamma.fit(x, m).params,
        DISCOUNT_RATE_MONTHLY,
        None,
    )
    theirs = {
        "p_alive": purchases.conditional_probability_alive(x, t_x, tenure),
        **{f"expected_purchases_{days}d": expected(days, x, t_x, tenure) for days in (30, 90, 365)},
        "expected_avg_order_value": spend.conditional_expected_average_profit(
            pd.Series(x), pd.Series(m)
        ).to_numpy(),
        "clv_12m": spend.customer_lifetime_value(
            purchases,
            pd.Series(x),
            pd.Series(t_x),
            pd.Series(tenure),
            pd.Series(m),
            time=CLV_MONTHS,
            discount_rate=DISCOUNT_RATE_MONTHLY,
            freq="D",  # a month is 30 days
        ).to_numpy(),
    }
    for column, references in theirs.items():
        mismatched = [
            (index, value, reference)
            for index, (value, reference) in enumerate(zip(ours[column], references, strict=True))
            if not same_to_significant_figures(value, reference)
        ]
        assert not mismatched, (column, mismatched[:5])


def test_formulas_equal_lifetimes_at_the_same_parameters(
    rfm: pl.DataFrame, fitted: tuple[BetaGeoFitter, GammaGammaFitter]
) -> None:
    """With lifetimes' own parameters the formulas agree to rounding error: the only
    difference above is where the optimisers stopped."""
    x, t_x, tenure, m = _columns(rfm)
    purchases, spend = fitted
    purchase_params = dict(purchases.params_)
    spend_params = dict(spend.params_.rename({"v": "gamma"}))
    ours = score(rfm, purchase_params, spend_params, DISCOUNT_RATE_MONTHLY, None)
    assert np.allclose(
        ours["expected_purchases_365d"],
        purchases.conditional_expected_number_of_purchases_up_to_time(365, x, t_x, tenure),
        rtol=1e-9,
    )
    clv = spend.customer_lifetime_value(
        purchases,
        *(pd.Series(column) for column in (x, t_x, tenure, m)),
        time=CLV_MONTHS,
        discount_rate=DISCOUNT_RATE_MONTHLY,
        freq="D",
    )
    assert np.allclose(ours["clv_12m"], clv.to_numpy(), rtol=1e-9)


def _columns(rfm: pl.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(
        rfm[name].to_numpy().astype(float)
        for name in ("frequency", "recency_days", "tenure_days", "monetary_value")
    )
