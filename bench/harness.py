"""Runs each measured task in a fresh process and reads its cost from the kernel.

Wall time is the parent's clock around the child; CPU time (user + system) and peak
resident memory come from `os.wait4`, the child's own rusage (DuckDB's and Polars' threads
included; a forked child's peak does not count its parent's memory, as this process
imports nothing heavy). A stage in its own process is what an Airflow task costs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.workloads import Workload

REPO = Path(__file__).resolve().parent.parent
CLV_SCRIPT = REPO / "bench" / "clv_vs_lifetimes.py"
# Every stage of a run, as the DAG's tasks call them (after extract and its gate).
STAGES = ("stage", "build_facts", "gate_facts", "build_clv", "build_marts", "gate_marts", "publish")
LAYERS_KEPT = ("landing", "synth", "generation.json")


@dataclass
class Measured:
    task: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    figures: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "task": self.task,
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            **self.figures,
        }


def measure(
    task: str, command: list[str], env: dict[str, str], timeout: float | None = None
) -> Measured:
    """Run `command`, wait for it with wait4, and return what it cost. A child still running
    after `timeout` seconds is killed and reported as timed out."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=REPO, text=True)
    timer = threading.Timer(timeout, process.kill) if timeout else None
    if timer:
        timer.start()
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if timer:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    if timeout and wall >= timeout and process.returncode != 0:
        return Measured(
            task, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, {"timed_out": True}
        )
    if process.returncode != 0:
        # Reported, not raised: a stage that runs out of memory is a finding of the benchmark.
        return Measured(
            task,
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024,
            {"failed": process.returncode},
        )
    lines = output.strip().splitlines()
    figures = json.loads(lines[-1]) if lines else {}
    return Measured(
        task,
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        figures=figures,
    )


class Bench:
    """Measures one workload under `data_root/<name>`, printing progress as it goes."""

    def __init__(
        self,
        workload: Workload,
        data_root: Path,
        clv_lifetimes: bool = True,
        clv_timeout: float | None = None,
        deadline: dt.datetime | None = None,
    ) -> None:
        self.workload = workload
        self.deadline = deadline
        self.clv_timeout = clv_timeout
        self.data_dir = data_root / workload.name
        self.clv_lifetimes = clv_lifetimes
        self.log_file = self.data_dir / "bench.log"
        self.env = {
            **os.environ,
            "LOYALTY_DATA_DIR": str(self.data_dir),
            # A key made for this run: the benchmark's pseudonyms need no secrecy or stability.
            "LOYALTY_PII_KEY": secrets.token_hex(32),
            "LOYALTY_DUCKDB_MEMORY_LIMIT": workload.duckdb_memory_limit,
            "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", ""),
        }
        if not self.env["POLARS_MAX_THREADS"]:
            del self.env["POLARS_MAX_THREADS"]

    def child(self, task: str, *arguments: str) -> Measured:
        command = [sys.executable, "-m", "bench.child", task, *arguments]
        command += ["--log-file", str(self.log_file)]
        label = f"{task} {' '.join(arguments[:1]) if task == 'stage' else ''}".strip()
        print(f"  {self.workload.name} {label} ...", end="", flush=True)
        measured = measure(label, command, self.env, self.time_left())
        print(
            f" {measured.wall_seconds:.1f}s wall, {measured.cpu_seconds:.1f}s CPU,"
            f" {measured.peak_rss_mb:.0f} MB",
            flush=True,
        )
        return measured

    def time_left(self) -> float | None:
        """Seconds to the deadline, after which the running task is stopped and reported."""
        if self.deadline is None:
            return None
        return max(1.0, (self.deadline - dt.datetime.now(dt.UTC)).total_seconds())

    def sequence(self, tasks: list[tuple[str, ...]]) -> list[Measured]:
        """Run tasks in order; stop after the first that fails or is stopped at the deadline
        (its cost so far is still reported)."""
        done: list[Measured] = []
        for task, *arguments in tasks:
            done.append(self.child(task, *arguments))
            if stopped(done[-1]):
                print(
                    f"  {self.workload.name}: {done[-1].task} did not finish; see {self.log_file}"
                )
                break
        return done

    def generate(self) -> dict[str, object]:
        """Generate the workload, or reuse a copy made by the same generator settings."""
        marker = self.data_dir / "generation.json"
        wanted = {
            "customers": self.workload.customers,
            "months": self.workload.months,
            "seed": self.workload.seed,
        }
        if marker.is_file():
            recorded = json.loads(marker.read_text())
            if recorded.get("config") == wanted:
                return {**recorded, "reused": True}
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        measured = self.child(
            "generate", str(self.data_dir), *(str(value) for value in wanted.values())
        )
        if {"failed", "timed_out"} & measured.figures.keys():
            raise RuntimeError(f"generating {self.workload.name} did not finish: {measured}")
        recorded = {"config": wanted, **measured.as_dict()}
        marker.write_text(json.dumps(recorded, indent=2) + "\n")
        return {**recorded, "reused": False}

    def clear_pipeline_layers(self) -> None:
        for path in self.data_dir.iterdir():
            if path.name not in LAYERS_KEPT and path.name != self.log_file.name:
                shutil.rmtree(path) if path.is_dir() else path.unlink()

    def run(self) -> dict[str, object]:
        workload, days = self.workload, self.workload.days
        code = code_version()  # before the run: the tree may change while it runs
        first, before_last, last = days[0], days[-2], days[-1]
        generation = self.generate()
        self.clear_pipeline_layers()
        # The full rebuild covers every day but the last; the nightly run then adds the last
        # day to that history, as the scheduler would the next morning.
        history = (first.isoformat(), before_last.isoformat())
        baselines = [
            self.child("baseline", str(self.data_dir), *history, workload.duckdb_memory_limit)
            for _ in range(2)
        ]
        full = self.sequence(
            [("extract_all", *history), ("gate_raw_all", *history)]
            + [("stage", name, before_last.isoformat()) for name in STAGES]
        )
        baselines.append(
            self.child("baseline", str(self.data_dir), *history, workload.duckdb_memory_limit)
        )
        complete = not any(stopped(task) for task in full)
        nightly_tasks = [
            ("stage", name, last.isoformat()) for name in ("extract", "gate_raw", *STAGES)
        ]
        nightly = self.sequence(nightly_tasks) if complete else []
        clv = self.clv_against_lifetimes(last) if complete else {}
        return {
            "workload": {
                "name": workload.name,
                "customers": workload.customers,
                "months": workload.months,
                "seed": workload.seed,
                "duckdb_memory_limit": workload.duckdb_memory_limit,
                "history": {"first": first.isoformat(), "last": before_last.isoformat()},
                "nightly_date": last.isoformat(),
            },
            "landing_rows": baselines[0].figures["rows"],
            "generation": generation,
            "baseline": [measured.as_dict() for measured in baselines],
            "full": [measured.as_dict() for measured in full],
            "nightly": [measured.as_dict() for measured in nightly],
            "clv_vs_lifetimes": clv,
            "machine": machine(),
            "code": code,
        }

    def clv_against_lifetimes(self, as_of: dt.date) -> dict[str, object]:
        """The CLV fit and scoring of bench/clv_vs_lifetimes.py, on this workload's purchases."""
        log = self.data_dir / "bench" / "purchases.parquet"
        log.parent.mkdir(parents=True, exist_ok=True)
        written = self.child("purchase_log", str(self.data_dir), str(log))
        result: dict[str, object] = {
            "transactions": written.figures["transactions"],
            "customers": written.figures["customers"],
        }
        contenders = ["ours", "lifetimes"] if self.clv_lifetimes else ["ours"]
        for contender in contenders:
            command = [sys.executable, str(CLV_SCRIPT), "--contender", contender]
            command += ["--log", str(log), "--as-of", as_of.isoformat()]
            print(f"  {self.workload.name} clv {contender} ...", end="", flush=True)
            timeout = min(t for t in (self.clv_timeout, self.time_left(), 1e9) if t is not None)
            measured = measure(f"clv {contender}", command, self.env, timeout)
            print(f" {measured.wall_seconds:.1f}s, {measured.peak_rss_mb:.0f} MB", flush=True)
            result[contender] = measured.as_dict()
        return result


def stopped(task: Measured) -> bool:
    """The task did not run to its end (it crashed or met the deadline). A gate that refused
    a load did: it reports `gate_refused`, and the benchmark goes on to measure the rest."""
    return bool({"failed", "timed_out"} & task.figures.keys())


def code_version() -> dict[str, object]:
    """The commit measured, and whether the working tree differed from it (the results
    an earlier workload of the same run wrote to bench/results/ are not a difference)."""

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    changes = git("status", "--porcelain", "--", ".", ":(exclude)bench/results")
    return {"commit": git("rev-parse", "HEAD"), "modified": bool(changes)}


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": sys.version.split()[0],
    }
