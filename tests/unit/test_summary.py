"""What `loyalty demo` and `loyalty run` print, on the published tiny shop."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.summary import render, summarise
from tests import tiny_shop as shop
from tests.conftest import TEST_PII_KEY


def test_the_summary_counts_held_orders_and_reports_the_clv(
    tiny_shop: Settings, tmp_path: Path
) -> None:
    shutil.copytree(tiny_shop.data_dir, tmp_path / "data", symlinks=True)
    paths = Settings(data_dir=tmp_path / "data", pii_key=TEST_PII_KEY).paths
    # Two orders wait for their customer; O9 arrived in two versions.
    pl.DataFrame({"order_id": ["O9", "O9", "O10"]}).write_parquet(paths.held_orders)
    summary = summarise(paths, shop.AS_OF, tmp_path / "loyalty.log")
    lines = render(summary).splitlines()
    # O1-O8; purchases O1, O2, O3, O4, O7, O8 (O5 cancelled, O6 refunded).
    assert (
        "  orders                     8  (6 count as purchases; 2 more held: customer unknown)"
        in lines
    )
    # Five customers are too few to fit the CLV models; nobody bought before the backtest's
    # calibration end.
    assert (summary.clv_12m_per_customer, summary.backtest_ratio) == (None, None)
    assert "  predicted CLV: no model parameters yet (see ops.clv_fit_status)" in lines
    fitted = dataclasses.replace(summary, clv_12m_per_customer=611.234, backtest_ratio=1.012)
    assert "  predicted 12-month CLV: 611.23 per buyer (backtest predicted/actual 1.01)" in (
        render(fitted).splitlines()
    )
