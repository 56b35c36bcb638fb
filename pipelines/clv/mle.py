"""Maximum likelihood for the CLV models: one optimiser, one definition of "converged".

Parameters are all positive, so the search runs on their logarithms (no constraint to
violate, and steps are relative); the bounds keep it inside a range where the model's
special functions stay finite. A fit converges when the likelihood is finite, no parameter
sits on a bound and the gradient is flat; anything else is a failure whose parameters are
never used. (scipy's own success flag is not the test: L-BFGS-B often ends a search that
already sits on the optimum with an "abnormal line search" message.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize

# exp(-15) .. exp(15): parameters from 3e-7 to 3.3e6 (alpha and gamma scale with the data's
# time and money units). Reaching either end means the data cannot pin the parameter down.
LOG_BOUND = 15.0
BOUND_MARGIN = 1.0  # within a factor e of a bound counts as on it
MAX_ITERATIONS = 2000
# Largest |d mean log-likelihood / d log-parameter| accepted at the optimum.
GRADIENT_TOLERANCE = 1e-5

Status = Literal["converged", "failed", "skipped"]
# The mean log-likelihood per weight and its gradient with respect to log-parameters.
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Fit:
    """The outcome of one model fit. `params` is set only when it converged."""

    model: str
    status: Status
    message: str
    params: dict[str, float] | None = None
    log_likelihood: float | None = None  # summed over customers
    customers_n: int = 0
    fitted_rows_n: int = 0  # distinct rows the likelihood was evaluated on
    iterations: int = 0

    @property
    def converged(self) -> bool:
        return self.status == "converged"


def maximise(
    model: str,
    names: Sequence[str],
    start: Sequence[float],
    mean_log_likelihood: Objective,
    customers_n: int,
    fitted_rows_n: int,
) -> Fit:
    """Maximise a mean log-likelihood over positive parameters, starting from `start`."""

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = mean_log_likelihood(log_params)
        if not np.isfinite(value):
            # Let the line search back off instead of aborting on one bad trial point.
            return np.inf, np.zeros_like(log_params)
        return -value, -gradient

    result = minimize(
        negative,
        np.log(np.asarray(start, dtype=float)),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(names),
        options={"maxiter": MAX_ITERATIONS, "ftol": 1e-14, "gtol": 1e-9},
    )
    params = dict(zip(names, np.exp(result.x).tolist(), strict=True))
    described = ", ".join(f"{name}={value:.6g}" for name, value in params.items())
    common = {"customers_n": customers_n, "fitted_rows_n": fitted_rows_n, "iterations": result.nit}
    at_bound = [
        name
        for name, value in zip(names, result.x, strict=True)
        if abs(value) > LOG_BOUND - BOUND_MARGIN
    ]
    problem = None
    if not np.isfinite(result.fun):
        problem = "the log-likelihood is not finite"
    elif at_bound:
        problem = f"{', '.join(at_bound)} ran to the edge of the search range"
    elif np.max(np.abs(result.jac)) > GRADIENT_TOLERANCE:
        problem = f"the optimiser stopped on a slope ({result.message})"
    if problem:
        return Fit(model, "failed", f"{problem}; last point {described}", **common)
    return Fit(
        model,
        "converged",
        f"converged after {result.nit} iterations",
        params=params,
        log_likelihood=-result.fun * customers_n,
        **common,
    )
