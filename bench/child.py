"""One measured task, run in a fresh interpreter by the harness (`python -m bench.child`).

The harness reads the process's wall time, CPU time and peak memory from the operating
system; this prints the task's own figures (rows, the time inside the call) as one JSON
line on stdout. Settings come from the `LOYALTY_*` environment the harness sets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

# Export dates a full extract loads in one call, as pipelines.run.backfill does.
BATCH_DAYS = 31


def _days(first: str, last: str) -> list[dt.date]:
    from pipelines.periods import date_range

    return date_range(dt.date.fromisoformat(first), dt.date.fromisoformat(last))


def generate(data_dir: Path, customers: int, months: int, seed: int) -> dict[str, object]:
    from pipelines.config import Layout
    from pipelines.synth import SynthConfig, generate

    result = generate(Layout(data_dir), SynthConfig(customers=customers, months=months, seed=seed))
    return {"rows": result.rows}


def baseline(data_dir: Path, first: str, last: str, memory_limit: str | None) -> dict[str, object]:
    """The raw-scan limit: one DuckDB pass over every landing file of the range, a count and
    a sum of one column per source. The dialect and the columns (as text, from the header)
    are given, not sniffed: sniffing each of 730 files would cost more than reading them."""
    import duckdb

    summed = {"customers": "birth_year", "orders": "amount", "survey_responses": "satisfaction"}
    config = {"memory_limit": memory_limit} if memory_limit else {}
    connection = duckdb.connect(config=config)
    rows: dict[str, int] = {}
    for source, column in summed.items():
        files = [
            str(data_dir / "landing" / day.isoformat() / f"{source}.csv")
            for day in _days(first, last)
        ]
        with Path(files[0]).open(encoding="utf-8") as file:
            header = file.readline().strip().split(",")
        columns = ", ".join("'{}': 'VARCHAR'".format(name.replace("'", "''")) for name in header)
        count, _total = connection.execute(
            f"select count(*), sum(try_cast({column} as double)) from read_csv($files,"
            " auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"',"
            f" columns = {{{columns}}})",
            {"files": files},
        ).fetchall()[0]
        rows[source] = int(count)
    return {"rows": rows}


def extract_all(first: str, last: str) -> dict[str, object]:
    from pipelines import extract
    from pipelines.config import Settings

    settings, days, read = Settings(), _days(first, last), 0
    for start in range(0, len(days), BATCH_DAYS):
        read += sum(
            r.rows_read for r in extract.extract(settings, days[start : start + BATCH_DAYS])
        )
    return {"rows_read": read}


def gate_raw_all(first: str, last: str) -> dict[str, object]:
    """The raw gate over every delivery, then their acceptance, as pipelines.run.backfill."""
    from pipelines import deliveries, quality
    from pipelines.config import Settings
    from pipelines.errors import GateError

    settings, days = Settings(), _days(first, last)
    try:
        report = quality.gate_raw(settings, days)
    except GateError:
        # Accepted even when refused (reported as gate_refused): the benchmark measures
        # the stages after the gate all the same; a pipeline run would stop here.
        deliveries.accept(settings.paths, days)
        raise
    deliveries.accept(settings.paths, days)
    return {"outcomes": len(report.outcomes), "critical": len(report.critical_failures)}


def run_stage(name: str, as_of: str) -> dict[str, object]:
    """One stage function of pipelines.run, as an Airflow task calls it."""
    from pipelines import run
    from pipelines.config import Settings

    result = getattr(run, name)(Settings(), dt.date.fromisoformat(as_of))
    if isinstance(result, dict):
        return {"rows_written": sum(result.values())}
    if isinstance(result, list):  # extract's load results
        return {"rows_read": sum(r.rows_read for r in result)}
    if hasattr(result, "customers"):
        return {"customers": result.customers}
    if hasattr(result, "tables"):
        return {"tables": len(result.tables)}
    return {}


def purchase_log(data_dir: Path, out: Path) -> dict[str, object]:
    """The purchases CLV is fitted on (facts.orders), as the log both contenders read."""
    import polars as pl

    orders = pl.scan_parquet(data_dir / "facts" / "orders" / "*.parquet")
    log = orders.filter(pl.col("is_purchase")).select("customer_id", "ordered_at", "net_amount")
    log.sink_parquet(out)
    counts = pl.scan_parquet(out).select(pl.len(), pl.col("customer_id").n_unique()).collect()
    return {"transactions": counts.item(0, 0), "customers": counts.item(0, 1)}


# A task whose resident memory passes this many MB is stopped (exit code MEMORY_CAP_EXIT):
# on a shared machine the benchmark must not hand the kernel's OOM killer someone else's job.
MEMORY_CAP_ENV = "BENCH_MEMORY_CAP_MB"
MEMORY_CAP_EXIT = 99


def memory_cap_mb() -> float:
    """The cap from the environment, else 85 % of the machine's memory."""
    if os.environ.get(MEMORY_CAP_ENV):
        return float(os.environ[MEMORY_CAP_ENV])
    return 0.85 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def _resident_mb() -> float:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _watch_memory(cap_mb: float) -> None:
    while True:
        resident = _resident_mb()
        if resident > cap_mb:
            sys.stderr.write(f"bench: stopped at {resident:.0f} MB, over the {cap_mb:.0f} MB cap\n")
            sys.stderr.flush()
            os._exit(MEMORY_CAP_EXIT)
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task")
    parser.add_argument("arguments", nargs="*")
    parser.add_argument("--log-file", type=Path)
    options = parser.parse_args(argv)
    if options.log_file:
        logging.basicConfig(
            filename=options.log_file,
            level=logging.INFO,
            format="%(asctime)s %(process)d %(name)s %(message)s",
        )
    threading.Thread(target=_watch_memory, args=(memory_cap_mb(),), daemon=True).start()
    a = options.arguments
    tasks = {
        "generate": lambda: generate(Path(a[0]), int(a[1]), int(a[2]), int(a[3])),
        "baseline": lambda: baseline(Path(a[0]), a[1], a[2], a[3] if len(a) > 3 else None),
        "extract_all": lambda: extract_all(a[0], a[1]),
        "gate_raw_all": lambda: gate_raw_all(a[0], a[1]),
        "stage": lambda: run_stage(a[0], a[1]),
        "purchase_log": lambda: purchase_log(Path(a[0]), Path(a[1])),
    }
    from pipelines.errors import GateError

    started = time.perf_counter()
    try:
        figures = tasks[options.task]()
    except GateError as error:
        # The gate validated everything before refusing: its cost is complete. The benchmark
        # measures the stages after it all the same.
        figures = {"gate_refused": str(error).split(";")[0]}
    figures["inner_seconds"] = time.perf_counter() - started
    sys.stdout.write(json.dumps(figures, default=str) + "\n")


if __name__ == "__main__":
    main()
