"""The CLV stage against `lifetimes` on the same purchases: wall time and peak memory.

    python bench/clv_vs_lifetimes.py [--customers 1000000] [--scaling 250000,500000]

`make bench` also runs one contender on a workload's own purchases (facts.orders):
    python bench/clv_vs_lifetimes.py --contender ours --log purchases.parquet --as-of DATE

Draws a purchase log from the generator's behaviour model (pure BG/NBD and Gamma-Gamma,
about 5 purchases per customer over two years), writes it to Parquet, then times each
contender in a fresh process from reading that file to a 12-month CLV for every customer:
  ours       RFM summary (Polars), BG/NBD and Gamma-Gamma fits, scoring (pipelines.clv)
  lifetimes  summary_data_from_transaction_data, BetaGeoFitter, GammaGammaFitter,
             customer_lifetime_value (lifetimes 0.11.3)
Peak memory is the process's maximum resident set size (interpreter and imports
included). `--scaling` also runs ours on smaller logs, to show how memory grows.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = dt.date(2024, 1, 1)
HORIZON_DAYS = 730
AS_OF = START + dt.timedelta(days=HORIZON_DAYS - 1)
DISCOUNT_RATE_MONTHLY = 0.01
CLV_MONTHS = 12
# A slower buyer than the demo's: about 5 purchases per customer over the two years.
ALPHA_DAYS = 52.0


def write_log(customers: int, path: Path) -> int:
    import polars as pl

    from pipelines.synth import purchase_log
    from pipelines.synth.behaviour import ARMS, TrueParameters

    truth = dataclasses.replace(
        TrueParameters(bgnbd_alpha=ALPHA_DAYS),
        programme_uplift=dict.fromkeys(ARMS, 0.0),
        buyer_share=1.0,
    )
    log = purchase_log(customers, float(HORIZON_DAYS), 1, truth, START)
    log.write_parquet(path)
    return pl.scan_parquet(path).select(pl.len()).collect().item()


def run_ours(path: Path) -> int:
    import polars as pl

    from pipelines.clv import bgnbd, gamma_gamma
    from pipelines.clv.rfm import rfm_summary
    from pipelines.clv.score import score

    rfm = rfm_summary(pl.scan_parquet(path), AS_OF).collect()
    x, t_x, tenure, m = (
        rfm[name].to_numpy().astype(float)
        for name in ("frequency", "recency_days", "tenure_days", "monetary_value")
    )
    purchases, spend = bgnbd.fit(x, t_x, tenure), gamma_gamma.fit(x, m)
    scored = score(rfm, purchases.params, spend.params, DISCOUNT_RATE_MONTHLY, None)
    assert scored["clv_12m"].null_count() == 0
    return scored.height


def run_lifetimes(path: Path) -> int:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    transactions = pd.read_parquet(path)
    transactions["ordered_at"] = transactions["ordered_at"].dt.tz_localize(None)
    summary = summary_data_from_transaction_data(
        transactions,
        "customer_id",
        "ordered_at",
        monetary_value_col="net_amount",
        observation_period_end=AS_OF.isoformat(),
    )
    purchases = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    spend = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    clv = spend.customer_lifetime_value(
        purchases,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        time=CLV_MONTHS,
        discount_rate=DISCOUNT_RATE_MONTHLY,
        freq="D",
    )
    return len(clv)


CONTENDERS = {"ours": run_ours, "lifetimes": run_lifetimes}


def in_child(*arguments: str) -> dict[str, float]:
    """Run this script in a fresh interpreter; its numbers come back as JSON. This process
    imports nothing heavy, so a child's peak memory is its own (Linux counts a forked
    child's peak from its parent's size)."""
    result = subprocess.run(
        [sys.executable, __file__, *arguments], check=True, capture_output=True, text=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(contender: str, path: Path) -> None:
    if contender == "write":
        print(json.dumps({"transactions": write_log(int(path.stem.split("_")[-1]), path)}))
        return
    started = time.perf_counter()
    customers = CONTENDERS[contender](path)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"customers": customers, "seconds": seconds, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--scaling", default="", help="comma-separated smaller sizes (ours)")
    parser.add_argument("--contender", choices=[*CONTENDERS, "write"], help=argparse.SUPPRESS)
    parser.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.as_of:
        global AS_OF  # the contenders read the observation end from here
        AS_OF = arguments.as_of
    if arguments.contender:
        child(arguments.contender, arguments.log)
        return
    sizes = [int(size) for size in arguments.scaling.split(",") if size]
    with tempfile.TemporaryDirectory() as directory:
        rows: list[tuple[str, int, int, dict[str, float]]] = []
        for size in [*sizes, arguments.customers]:
            path = Path(directory) / f"purchases_{size}.parquet"
            transactions = int(in_child("--contender", "write", "--log", str(path))["transactions"])
            contenders = CONTENDERS if size == arguments.customers else ["ours"]
            rows += [
                (name, size, transactions, in_child("--contender", name, "--log", str(path)))
                for name in contenders
            ]
    print(f"{'contender':<10} {'customers':>10} {'purchases':>10} {'seconds':>8} {'peak MB':>8}")
    for name, _size, transactions, numbers in rows:
        print(
            f"{name:<10} {numbers['customers']:>10,} {transactions:>10,} "
            f"{numbers['seconds']:>8.1f} {numbers['peak_mb']:>8.0f}"
        )
    timing = {name: numbers for name, size, _, numbers in rows if size == arguments.customers}
    speedup = timing["lifetimes"]["seconds"] / timing["ours"]["seconds"]
    print(f"ours is {speedup:.1f}x faster than lifetimes at {arguments.customers:,} customers")


if __name__ == "__main__":
    main()
