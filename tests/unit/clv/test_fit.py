"""The fits: collapsing identical rows changes nothing, and every way a fit can go wrong
ends as a `failed` or `skipped` result with a reason, never as parameters."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.clv import bgnbd, gamma_gamma, mle
from pipelines.clv.rfm import RFM_COLUMNS

FREQUENCY = np.array([0, 0, 0, 1, 1, 2, 3, 0, 5, 1] * 4, dtype=float)
RECENCY = np.array([0, 0, 0, 10, 30, 25, 35, 0, 38, 2] * 4, dtype=float)
TENURE = np.array([38, 20, 39, 38, 39, 30, 39, 10, 39, 12] * 4, dtype=float)


def test_identical_rows_are_collapsed_with_weights() -> None:
    collapsed = bgnbd.Triples.collapse(FREQUENCY, RECENCY, TENURE)
    assert len(collapsed.x) == 10 and collapsed.weight.tolist() == [4.0] * 10
    assert collapsed.customers_n == 40


def test_collapsed_rows_give_the_fit_of_all_customers(rfm: pl.DataFrame) -> None:
    x, t_x, tenure = (rfm[name].to_numpy().astype(float) for name in RFM_COLUMNS[1:4])
    together = bgnbd.fit(x, t_x, tenure)
    # Every customer a row of its own: a jitter far below a day keeps the rows distinct.
    apart = bgnbd.fit(x, t_x, tenure + np.arange(len(x)) * 1e-9)
    assert together.converged and apart.converged
    assert together.fitted_rows_n < apart.fitted_rows_n == together.customers_n == len(x)
    for name in bgnbd.NAMES:
        assert together.params[name] == pytest.approx(apart.params[name], rel=1e-5)
    assert together.log_likelihood == pytest.approx(apart.log_likelihood, rel=1e-8)


def test_nobody_repeating_cannot_be_fitted() -> None:
    # Without a repeat purchase the purchase rate has no upper bound in the data: the
    # search runs off to the edge of its range, and that is reported, not published.
    fit = bgnbd.fit(np.zeros(50), np.zeros(50), np.linspace(5, 50, 50))
    assert fit.status == "failed" and fit.params is None
    assert "edge of the search range" in fit.message


def test_no_data_is_skipped() -> None:
    empty = np.array([], dtype=float)
    assert bgnbd.fit(empty, empty, empty).status == "skipped"
    spend = gamma_gamma.fit(np.zeros(3), np.zeros(3))
    assert spend.status == "skipped" and "no customer with a repeat purchase" in spend.message


def test_running_out_of_iterations_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mle, "MAX_ITERATIONS", 2)
    fit = bgnbd.fit(FREQUENCY, RECENCY, TENURE)
    assert fit.status == "failed" and fit.params is None
    assert "stopped on a slope" in fit.message and "last point r=" in fit.message
