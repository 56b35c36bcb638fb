"""The model formulas on hand-computable inputs; the gradients against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from pipelines.clv import bgnbd, gamma_gamma
from pipelines.clv.score import discount_and_sum

# With r = a + b - 1 the hypergeometric series in E[Y(t)] is 2F1(0, .; .; z) = 1, so the
# expectation for a customer known to be alive is (a + b + x - 1) / (a - 1) * z.
SIMPLE = {"r": 2.0, "alpha": 10.0, "a": 2.0, "b": 1.0}


def _array(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


def test_a_one_time_buyer_is_alive() -> None:
    # Dropout happens only after a repeat purchase, whatever T is.
    alive = bgnbd.p_alive(SIMPLE, _array(0, 0), _array(0, 0), _array(1, 1000))
    assert alive.tolist() == [1.0, 1.0]


def test_p_alive_of_a_repeat_buyer() -> None:
    # x = 2, t_x = 5, T = 10: odds of being dead = a / (b + x - 1) * ((alpha + T) /
    # (alpha + t_x))^(r + x) = 2 / 2 * (20 / 15)^4 = 256 / 81; P(alive) = 81 / 337.
    alive = bgnbd.p_alive(SIMPLE, _array(2), _array(5), _array(10))
    assert alive[0] == pytest.approx(81 / 337, rel=1e-12)


def test_expected_purchases() -> None:
    # T = 10, t = 20: z = 20 / (10 + 10 + 20) = 0.5.
    # x = 0: alive for sure, (2 + 1 + 0 - 1) / 1 * 0.5 = 1.0.
    # x = 2, t_x = 5: (2 + 1 + 2 - 1) / 1 * 0.5 = 2.0, times P(alive) 81 / 337 = 162 / 337.
    expected = bgnbd.expected_purchases(SIMPLE, _array(0, 2), _array(0, 5), _array(10, 10), [20])
    assert expected[:, 0] == pytest.approx([1.0, 162 / 337], rel=1e-12)


def test_bgnbd_log_likelihood() -> None:
    params = np.log([1.0, 1.0, 1.0, 1.0])
    # x = 1, t_x = 4, T = 10, all parameters 1:
    # L = B(1, 2) / B(1, 1) * G(2) / (G(1) 11^2) + B(2, 1) / B(1, 1) * G(2) / (G(1) 5^2)
    #   = 1/2 * 1/121 + 1/2 * 1/25 = 1/242 + 1/50 = 292 / 12100.
    one = bgnbd.Triples(_array(1), _array(4), _array(10), _array(1))
    assert bgnbd.mean_log_likelihood(one, params)[0] == pytest.approx(math.log(292 / 12100))
    # x = 0, T = 10 with SIMPLE: L = (alpha / (alpha + T))^r = (10 / 20)^2 = 1/4; two such
    # customers (weight 2) have the same mean.
    zero = bgnbd.Triples(_array(0), _array(0), _array(10), _array(2))
    value = bgnbd.mean_log_likelihood(zero, np.log(list(SIMPLE.values())))[0]
    assert value == pytest.approx(math.log(1 / 4))


def test_gamma_gamma_log_likelihood() -> None:
    # One purchase of 10 with p = 1, q = 2, gamma = 10: the value is Exponential(nu), nu ~
    # Gamma(2, rate 10), so f(10) = 100 * 2 / (10 + 10)^3 = 200 / 8000 = 1/40.
    spend = gamma_gamma.Spend.of(_array(1), _array(10))
    value = gamma_gamma.mean_log_likelihood(spend, np.log([1.0, 2.0, 10.0]))[0]
    assert value == pytest.approx(math.log(1 / 40))


def test_expected_order_value() -> None:
    params = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    # One-time buyer: the population mean p gamma / (q - 1) = 90 / 3 = 30.
    # x = 2, m = 50: p (gamma + x m) / (p x + q - 1) = 6 * 115 / 15 = 46.
    value = gamma_gamma.expected_order_value(params, _array(0, 2), _array(0, 50))
    assert value == pytest.approx([30.0, 46.0], rel=1e-12)


def test_discounted_sum_of_monthly_increments() -> None:
    # Cumulative 1, 2, 3 -> one purchase a month: 1/1.1 + 1/1.1^2 + 1/1.1^3 = 2.486852...
    assert discount_and_sum(np.array([[1.0, 2.0, 3.0]]), 0.1)[0] == pytest.approx(
        1 / 1.1 + 1 / 1.21 + 1 / 1.331
    )


def test_a_rows_discounted_sum_does_not_depend_on_where_the_row_lies() -> None:
    # The rows are distinct (x, T) pairs in no fixed order: the same row must give the same
    # bits wherever it lies, or a re-run publishes another CLV (a matrix product did not).
    rng = np.random.default_rng(0)
    cumulative = np.cumsum(rng.random((100_003, 12)) * 3, axis=1)
    shuffled = rng.permutation(len(cumulative))
    in_order = discount_and_sum(cumulative, 0.01)
    assert np.array_equal(in_order[shuffled], discount_and_sum(cumulative[shuffled], 0.01))


def test_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 200).astype(float)
    tenure = rng.uniform(1, 50, 200)
    triples = bgnbd.Triples.collapse(x, np.where(x > 0, rng.uniform(0, 1, 200) * tenure, 0), tenure)
    spend = gamma_gamma.Spend.of(x[x > 0], rng.gamma(2.0, 10.0, int((x > 0).sum())))
    for likelihood, point in (
        (lambda v: bgnbd.mean_log_likelihood(triples, v), np.log([0.5, 3.0, 0.7, 2.0])),
        (lambda v: gamma_gamma.mean_log_likelihood(spend, v), np.log([3.0, 2.5, 12.0])),
    ):
        numeric = approx_fprime(point, lambda v, f=likelihood: f(v)[0], 1e-7)
        assert likelihood(point)[1] == pytest.approx(numeric, rel=1e-4, abs=1e-6)
