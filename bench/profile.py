"""Profile one benchmark task with py-spy and print where its time goes.

    python -m bench.profile --data-dir ../loyalty-bench-data/M -- extract_all 2026-09-30 2026-10-30

Runs `python -m bench.child <task ...>` under `py-spy record` (collapsed stacks, native
frames off, idle samples kept) with the same kind of environment as the harness, then prints
the functions with the largest share of samples, inclusive (anywhere on the stack) and by
self time (top of the stack). The raw collapsed file is kept beside the data.
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import subprocess
import sys
from pathlib import Path


def summarise(collapsed: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [frame.split(" (")[0] + _where(frame) for frame in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"-- {title}")
        lines += [
            f"{100 * count / total:5.1f}%  {frame}" for frame, count in counter.most_common(top)
        ]
    return "\n".join(lines)


def _where(frame: str) -> str:
    """` (file)` without the line number, so one function's lines add up."""
    if " (" not in frame:
        return ""
    place = frame.split(" (", 1)[1].rstrip(")")
    return f" ({place.rsplit(':', 1)[0].split('site-packages/')[-1].split('wt-9/')[-1]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rate", type=int, default=50, help="samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("task", nargs="+", help="a bench.child task and its arguments")
    options = parser.parse_args()
    out = options.data_dir / "bench" / f"profile-{options.task[0]}-{options.task[1]}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "LOYALTY_DATA_DIR": str(options.data_dir),
        "LOYALTY_PII_KEY": secrets.token_hex(32),
        "LOYALTY_DUCKDB_MEMORY_LIMIT": options.memory_limit,
    }
    py_spy = Path(sys.executable).with_name("py-spy")
    # --idle: a thread waiting on Polars' or DuckDB's native threads is sampled too, so the
    # shares are of wall time, not only of time spent running Python.
    command = [str(py_spy), "record", "--idle", "--format", "raw", "--rate", str(options.rate)]
    command += ["--output", str(out), "--", sys.executable, "-m", "bench.child", *options.task]
    subprocess.run(command, env=env, check=True)
    print(summarise(out, options.top))


if __name__ == "__main__":
    main()
