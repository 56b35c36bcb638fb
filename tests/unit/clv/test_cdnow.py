"""The CDNOW sample of Fader, Hardie & Lee (2005): from the raw transaction log to the
paper's RFM summary and its published parameter estimates.

The data ship with the `lifetimes` package (a pinned dev dependency): CDNOW_sample.txt is
the 1/10th sample's transaction log (6,919 transactions of 2,357 customers who first
bought in Q1 1997) and cdnow_customers_summary_with_transactions.csv the authors' summary
over the 39-week calibration period to 1997-09-30 (x, t_x and T in weeks, zbar the mean
value of repeat transactions), both rounded to two decimals.

Published estimates: BG/NBD r = 0.243, alpha = 4.414 (weeks), a = 0.793, b = 2.426
("Counting your customers the easy way", Marketing Science 24(2), 2005, section 4);
Gamma-Gamma p = 6.25, q = 3.74, gamma = 15.44 ("RFM and CLV: using iso-value curves for
customer base analysis", Journal of Marketing Research 42(4), 2005, and Fader & Hardie's
note "The Gamma-Gamma model of monetary value", 2013).
"""

from __future__ import annotations

import datetime as dt
import importlib.resources

import polars as pl
import pytest

from pipelines.clv import bgnbd, gamma_gamma
from pipelines.clv.rfm import rfm_summary

DATASETS = importlib.resources.files("lifetimes") / "datasets"
CALIBRATION_END = dt.date(1997, 9, 30)
DAYS_PER_WEEK = 7.0
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def summary() -> pl.DataFrame:
    """Our RFM summary of the raw log as of the calibration end (days)."""
    lines = pl.Series((DATASETS / "CDNOW_sample.txt").read_text().splitlines())
    fields = lines.str.extract_groups(
        r"^\s*(?<master_id>\d+)\s+(?<customer_id>\d+)\s+(?<day>\d{8})\s+(?<cds>\d+)"
        r"\s+(?<dollars>[\d.]+)\s*$"
    ).struct.unnest()
    assert fields.null_count().sum_horizontal().item() == 0 and fields.height == 6_919
    transactions = fields.select(
        customer_id=pl.col("customer_id").cast(pl.Int64),
        ordered_at=pl.col("day").str.to_datetime("%Y%m%d", time_zone="UTC"),
        net_amount=pl.col("dollars").cast(pl.Float64),
    )
    return rfm_summary(transactions.lazy(), CALIBRATION_END).collect()


def test_the_summary_of_the_raw_log_is_the_papers(summary: pl.DataFrame) -> None:
    published = pl.read_csv(str(DATASETS / "cdnow_customers_summary_with_transactions.csv"))
    joined = summary.join(published, left_on="customer_id", right_on="ID", how="full")
    assert joined.height == summary.height == published.height == 2_357
    assert (joined["frequency"] == joined["x"]).all()
    # The published values are rounded to two decimals: agree within half a cent/hundredth.
    for ours, theirs in (
        (joined["recency_days"] / DAYS_PER_WEEK, joined["t_x"]),
        (joined["tenure_days"] / DAYS_PER_WEEK, joined["T"]),
        (joined["monetary_value"], joined["zbar"]),
    ):
        assert (ours - theirs).abs().max() <= 0.005 + 1e-9


def test_the_fits_reproduce_the_published_estimates(summary: pl.DataFrame) -> None:
    x, t_x, tenure, m = (
        summary[name].to_numpy().astype(float)
        for name in ("frequency", "recency_days", "tenure_days", "monetary_value")
    )
    weekly = bgnbd.fit(x, t_x / DAYS_PER_WEEK, tenure / DAYS_PER_WEEK)
    spend = gamma_gamma.fit(x, m)
    assert weekly.converged and spend.converged
    assert weekly.customers_n == 2_357 and spend.customers_n == 946  # repeat customers
    for fitted, published in ((weekly.params, PAPER_BGNBD), (spend.params, PAPER_GAMMA_GAMMA)):
        for name, value in published.items():
            assert round(fitted[name], 2) == round(value, 2), name
    # The paper's log-likelihood at its estimates, -9582.4.
    assert weekly.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    # Time units only rescale alpha: the pipeline fits in days, alpha comes out 7 times larger.
    daily = bgnbd.fit(x, t_x, tenure)
    assert daily.params["alpha"] == pytest.approx(DAYS_PER_WEEK * weekly.params["alpha"], rel=1e-5)
    for name in ("r", "a", "b"):
        assert daily.params[name] == pytest.approx(weekly.params[name], rel=1e-5)
