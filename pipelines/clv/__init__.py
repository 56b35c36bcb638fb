"""Predictive CLV: the BG/NBD purchase model and the Gamma-Gamma spend model.

`rfm` summarises purchases per customer, `bgnbd` and `gamma_gamma` fit and predict (on
`mle`'s optimiser), `score` turns parameters into per-customer predictions and CLV,
`backtest` checks the purchase model against a holdout, and `build` is the stage.
"""

from pipelines.clv.build import ClvRun, build

__all__ = ["ClvRun", "build"]
