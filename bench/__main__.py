"""`python -m bench run --workloads S,M` and `python -m bench render`; see bench/__init__.py."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from pathlib import Path

from bench import report
from bench.harness import REPO, Bench
from bench.workloads import WORKLOADS

RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "performance.md"


def render() -> None:
    found = report.latest(RESULTS)
    if not found:
        raise SystemExit(f"no results in {RESULTS}: run `python -m bench run` first")
    results = {name: result for name, (_, result) in found.items()}
    sources = {name: f"bench/results/{file}" for name, (file, _) in found.items()}
    report.update_doc(DOC, report.render(results, sources))
    print(report.summary_table(results))
    print()
    print(report.aims_table(results))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="measure workloads, write bench/results/, render")
    run.add_argument("--workloads", default="S,M", help="comma-separated: S, M, L")
    run.add_argument("--data-root", type=Path, default=Path("../loyalty-bench-data").resolve())
    run.add_argument("--no-lifetimes", action="store_true", help="skip the lifetimes run")
    run.add_argument("--clv-timeout", type=float, default=1800.0, help="seconds per contender")
    run.add_argument(
        "--deadline",
        type=lambda text: dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC),
        help="UTC time (YYYY-MM-DDTHH:MM) at which a running task is stopped and reported",
    )
    commands.add_parser("render", help="rebuild docs/performance.md's tables from the JSON")
    options = parser.parse_args()
    if options.command == "render":
        render()
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in options.workloads.split(","):
        workload = WORKLOADS[name.strip()]
        free_gb = shutil.disk_usage(options.data_root if options.data_root.exists() else "/").free
        print(
            f"{workload.name}: {workload.customers:,} customers, {workload.months} months"
            f" ({free_gb / 2**30:.0f} GB free)",
            flush=True,
        )
        bench = Bench(
            workload,
            options.data_root,
            not options.no_lifetimes,
            options.clv_timeout,
            options.deadline,
        )
        result = bench.run()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"{workload.name}-{stamp}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}", flush=True)
        render()


if __name__ == "__main__":
    main()
