"""How much memory "the newest version of each order" needs, three ways, on a workload's
raw orders: evidence for docs/performance.md (the `stage` stage's peak memory).

    python -m bench.latest_version ../loyalty-bench-data/M

Each contender runs in its own process (cost read by bench.harness.measure) and writes
one row per order_id to Parquet:
  group_by   pipelines.transform.staging.latest_version as it is (group_by + sort_by().last())
  unique     sort by the version order, then unique(keep="last"), Polars streaming
  duckdb     qualify row_number() over (partition by order_id ...) = 1, with a memory limit
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ORDER = ("updated_at", "_export_date", "_source_row")


def run(contender: str, data_dir: Path, out: Path) -> dict[str, object]:
    import polars as pl

    files = sorted(str(path) for path in (data_dir / "raw" / "orders").glob("*/data.parquet"))
    if contender == "group_by":
        from pipelines.transform.staging import latest_version

        latest_version(pl.scan_parquet(files), "order_id").sink_parquet(out)
    elif contender == "unique":
        (
            pl.scan_parquet(files)
            .sort(["order_id", *ORDER])
            .unique("order_id", keep="last", maintain_order=False)
            .sink_parquet(out)
        )
    else:
        import duckdb

        connection = duckdb.connect(config={"memory_limit": "2GB", "threads": 2})
        connection.execute(
            "copy (select * from read_parquet($files) qualify row_number() over ("
            " partition by order_id order by updated_at desc, _export_date desc,"
            " _source_row desc) = 1) to '" + str(out) + "' (format parquet)",
            {"files": files},
        )
    return {"rows": pl.scan_parquet(out).select(pl.len()).collect().item()}


def main() -> None:
    if len(sys.argv) == 4:  # a contender, in its own process
        print(json.dumps(run(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))))
        return
    from bench.harness import measure

    data_dir = Path(sys.argv[1])
    for contender in ("group_by", "unique", "duckdb"):
        out = data_dir / "bench" / f"latest_{contender}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bench.latest_version", contender, str(data_dir), str(out)]
        measured = measure(contender, command, dict(os.environ))
        print(json.dumps(measured.as_dict()), flush=True)
        out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
