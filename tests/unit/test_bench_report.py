"""The benchmark's arithmetic and its rendering into docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report


def _task(name: str, wall: float, cpu: float, peak_mb: float) -> dict[str, object]:
    return {"task": name, "wall_seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak_mb}


def _result(orders: int, scale: float = 1.0) -> dict:
    return {
        "workload": {
            "name": "M",
            "customers": 1_000,
            "months": 2,
            "history": {"first": "2024-11-01", "last": "2024-12-30"},
            "nightly_date": "2024-12-31",
        },
        "landing_rows": {"customers": 1_000, "orders": orders, "survey_responses": 500},
        "baseline": [_task("baseline", 3.0, 5.0, 100), _task("baseline", 2.0, 4.0, 100)],
        "full": [
            _task("extract_all", 10.0 * scale, 12.0, 800),
            _task("stage build_marts", 6.0 * scale, 9.0, 3_000),
        ],
        "nightly": [_task("stage extract", 0.5, 0.4, 200), _task("stage publish", 1.1, 1.0, 300)],
        "generation": {"wall_seconds": 4.0, "peak_rss_mb": 1_024},
        "clv_vs_lifetimes": {
            "customers": 900,
            "transactions": 4_000,
            "ours": _task("clv ours", 2.0, 2.0, 400),
            "lifetimes": _task("clv lifetimes", 50.0, 50.0, 900),
        },
        "machine": {"cpus": 2, "memory_gb": 23.4},
    }


def test_headline_ratios() -> None:
    figures = report.summary(_result(orders=2_000_000))
    assert figures["baseline_seconds"] == 2.0  # the faster of the two scans
    assert figures["full_seconds"] == 16.0  # 10 + 6
    assert figures["full_over_baseline"] == 8.0  # 16 / 2
    assert figures["nightly_over_full"] == pytest.approx(0.1)  # (0.5 + 1.1) / 16
    assert figures["peak_rss_gb"] == pytest.approx(3_000 / 1024)
    assert figures["seconds_per_million_orders"] == 8.0  # 16 s / 2 million orders
    assert figures["cpu_seconds_per_million_orders"] == 10.5  # (12 + 9) CPU s / 2 million
    assert figures["nightly_cpu_over_full"] == pytest.approx(1.4 / 21)  # (0.4 + 1.0) / 21
    assert figures["lifetimes_over_ours"] == 25.0  # 50 / 2
    assert figures["generation_peak_rss_gb"] == 1.0


def test_cost_growth_and_aims() -> None:
    m = report.summary(_result(orders=2_000_000))
    # L: 10 million orders in 5 x 1.3 the time -> 1.3 times M's cost per million orders.
    l_result = _result(orders=10_000_000, scale=6.5)
    l_result["nightly"] = [_task("stage extract", 20.0, 1, 100)]
    big = report.summary(l_result)
    assert report.cost_growth(m, big) == pytest.approx(1.3)
    by_name = {(a["workload"], a["figure"]): a for a in report.aims({"M": m, "L": big})}
    assert by_name[("M", "full_over_baseline")]["met"] is True  # 8.0 <= 8
    assert by_name[("M", "nightly_over_full")]["met"] is True  # 0.1 <= 0.1
    assert by_name[("L", "cost_growth_m_to_l")]["met"] is False  # 1.3 > 1.2
    assert by_name[("L", "nightly_over_full")]["met"] is False  # 20 / 104 > 0.05
    only_m = report.aims({"M": m})
    assert [a["met"] for a in only_m if a["workload"] == "L"] == [None, None, None]


def test_render_replaces_only_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nprose before\n")
    results = {"M": _result(orders=2_000_000)}
    section = report.render(results, {"M": "bench/results/M-x.json"})
    report.update_doc(doc, section)
    report.update_doc(doc, section.replace("| 16.0 |", "| 17.0 |"))  # a newer run
    text = doc.read_text()
    assert text.startswith("# Performance\n\nprose before\n")
    assert text.count(report.BEGIN) == 1 and text.count(report.END) == 1
    assert "| **full / baseline** | **8.0** |" in text
    assert "| M: lifetimes | 900 | 4,000 | 50.0 | 900 |" in text


def test_latest_result_per_workload(tmp_path: Path) -> None:
    names = ("M-20260101T000000Z.json", "M-20260102T000000Z.json", "XS-20260101T000000Z.json")
    for name in (*names, "S-20260101T000000Z.json", "XL-20260101T000000Z.json"):
        (tmp_path / name).write_text(json.dumps({"file": name}))
    found = report.latest(tmp_path)
    assert list(found) == ["XS", "S", "M", "XL"]  # a workload the report does not know: last
    assert found["M"][0] == "M-20260102T000000Z.json"


def test_the_floor_is_the_smallest_nightly_against_each_full_rebuild() -> None:
    floor = _result(orders=10_000)
    floor["nightly"] = [
        _task("stage extract", 0.4, 0.4, 100),
        _task("stage gate_marts", 7.6, 7, 400),
    ]
    big = _result(orders=2_000_000, scale=5.0)  # full rebuild: 5 x (10 + 6) = 80 s
    section = report.render({"XS": floor, "M": big}, {"XS": "xs.json", "M": "m.json"})
    # floor: 0.4 + 7.6 = 8 s; 8 / 80 = 0.100, against M's aim of 0.1
    assert "| M | 80.0 | 8.0 | 0.100 | 0.10 |" in section
    without_floor = report.render({"M": big}, {"M": "m.json"})
    assert "The floor" not in without_floor


def test_a_refusing_gate_completes_a_crash_does_not() -> None:
    result = _result(orders=2_000_000)
    result["full"].insert(1, {**_task("gate_raw_all", 4.0, 3.0, 500), "gate_refused": "volume"})
    assert report.complete(result["full"])
    assert report.summary(result)["full_seconds"] == 20.0  # the refusing gate's 4 s count
    result["full"][-1]["failed"] = 99  # stopped at the memory cap
    figures = report.summary(result)
    assert "nightly_over_full" not in figures and figures["incomplete"] == 1.0
    assert "stopped at the memory cap" in report.stage_table(result)
    stopped = _result(orders=2_000_000)
    stopped["nightly"][0]["timed_out"] = True
    assert "nightly_over_full" not in report.summary(stopped)


def test_a_stopped_large_run_shows_where_it_stopped_and_its_growth() -> None:
    m = _result(orders=2_000_000)
    big = _result(orders=10_000_000, scale=6.0)
    big["workload"] = {**big["workload"], "name": "L"}
    big["full"][-1]["failed"] = 99  # build_marts passed the memory cap
    big["nightly"] = []
    section = report.render({"M": m, "L": big}, {"M": "m.json", "L": "l.json"})
    assert "| full rebuild s | 16.0 | incomplete (stopped in build_marts) |" in section
    # extract_all: M 10 s / 2 M orders = 5.0; L 60 s / 10 M orders = 6.0; 6.0 / 5.0 = 1.2.
    assert "| extract_all | 5.00 | 6.00 | 1.20 |" in section
    assert "| L peak_rss_gb | < 24.0 | did not complete | **missed** |" in section
