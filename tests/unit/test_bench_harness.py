"""The harness reads a child's cost from the kernel and never raises on a failed task."""

from __future__ import annotations

import os
import sys

from bench.harness import measure

ENV = dict(os.environ)


def test_figures_come_from_the_last_line_and_the_cost_from_wait4() -> None:
    # Fills about 200 MB, burns some CPU, then reports one JSON line.
    code = (
        "b = bytearray(200 * 2**20); sum(range(3_000_000)); print('noise'); print('{\"rows\": 7}')"
    )
    measured = measure("child", [sys.executable, "-c", code], ENV)
    assert measured.figures == {"rows": 7}
    assert measured.peak_rss_mb > 200
    assert 0 < measured.cpu_seconds <= measured.wall_seconds * os.cpu_count()  # type: ignore[operator]


def test_a_failing_task_is_reported_not_raised() -> None:
    measured = measure("child", [sys.executable, "-c", "raise SystemExit(3)"], ENV)
    assert measured.figures == {"failed": 3}


def test_a_task_past_its_time_is_stopped() -> None:
    measured = measure("child", [sys.executable, "-c", "import time; time.sleep(30)"], ENV, 1.0)
    assert measured.figures == {"timed_out": True}
    assert measured.wall_seconds < 10
