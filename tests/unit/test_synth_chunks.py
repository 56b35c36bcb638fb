"""The generator draws customers in chunks: bounded memory, the same files for one chunk."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.config import Layout
from pipelines.synth import SynthConfig, generate
from tests.scenario import landing_digest

# 3 chunks of 700, 700 and 200 customers over two months.
CHUNKED = SynthConfig(customers=1_600, months=2, seed=11, chunk_customers=700)


def _all(layout: Layout, source: str) -> pl.DataFrame:
    return pl.read_csv(layout.landing / "*" / f"{source}.csv", infer_schema=False)


@pytest.fixture(scope="module")
def chunked(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("chunked"))
    generate(layout, CHUNKED)
    return layout


def test_one_chunk_is_what_the_generator_always_wrote(tmp_path: Path) -> None:
    # The landing digest of SynthConfig(customers=2_000, months=3, seed=5) written by the
    # generator before it drew in chunks (commit 874d052): the demo's figures rest on it.
    layout = Layout(tmp_path)
    generate(layout, SynthConfig(customers=2_000, months=3, seed=5))
    assert landing_digest(layout.landing) == ONE_CHUNK_DIGEST


def test_chunks_are_deterministic(chunked: Layout, tmp_path: Path) -> None:
    again = Layout(tmp_path)
    generate(again, CHUNKED)
    assert landing_digest(again.landing) == landing_digest(chunked.landing)


def test_chunk_size_changes_the_draws_not_the_shape(chunked: Layout, tmp_path: Path) -> None:
    whole = Layout(tmp_path)
    generate(whole, dataclasses.replace(CHUNKED, chunk_customers=1_600))
    assert landing_digest(whole.landing) != landing_digest(chunked.landing)
    assert sorted(p.name for p in whole.landing.iterdir()) == sorted(
        p.name for p in chunked.landing.iterdir()
    )


def test_every_customer_once_and_keys_unique_across_chunks(chunked: Layout) -> None:
    customers = _all(chunked, "customers")
    signups = customers.unique("customer_id")
    assert signups.height == CHUNKED.customers
    assert signups["customer_id"].sort().to_list() == [f"C{i:08d}" for i in range(1_600)]
    orders = _all(chunked, "orders")
    # An order is delivered at most twice (placed, then refunded), never under two chunks' ids.
    assert orders.group_by("order_id").len()["len"].max() == 2
    # Each chunk numbers its orders after the previous chunk's: the ranges never overlap.
    ranges = (
        orders.select(
            chunk=pl.col("customer_id").str.slice(1).cast(pl.Int64) // 700,
            number=pl.col("order_id").str.slice(1).cast(pl.Int64),
        )
        .group_by("chunk")
        .agg(low=pl.col("number").min(), high=pl.col("number").max())
        .sort("chunk")
    )
    assert ranges["chunk"].to_list() == [0, 1, 2]
    assert (ranges["low"].shift(-1) > ranges["high"]).head(2).all()
    responses = _all(chunked, "survey_responses")
    assert responses["response_id"].n_unique() == responses.height
    numbers = responses["response_id"].str.slice(1).cast(pl.Int64).sort()
    assert numbers.to_list() == list(range(responses.height))


def test_rows_written_match_the_truth_and_every_chunk_appends(chunked: Layout) -> None:
    truth = json.loads((chunked.root / "synth" / "truth.json").read_text())
    assert truth["config"]["chunk_customers"] == 700
    for source, rows in truth["rows"].items():
        # Daily state drops a row changed twice on one day: never more rows than versions.
        assert 0 < _all(chunked, source).height <= rows
    customers = _all(chunked, "customers")["customer_id"].str.slice(1).cast(pl.Int64)
    assert customers.max() >= 1_400  # the last chunk's customers are in the files
    # A file is one CSV: one header even where several chunks appended rows.
    for path in chunked.landing.rglob("orders.csv"):
        assert path.read_text().count("order_id,") == 1
    assert not (chunked.root / "synth" / "parts").exists()


def test_parquet_chunks_are_joined_per_date(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    config = dataclasses.replace(CHUNKED, months=1, format="parquet")
    generate(layout, config)
    orders = pl.read_parquet(layout.landing / "*" / "orders.parquet")
    assert orders["customer_id"].str.slice(1).cast(pl.Int64).max() >= 1_400
    assert not (layout.root / "synth" / "parts").exists()


ONE_CHUNK_DIGEST = "27f35c25244142caac983537702477ebd54e250b01bbffb2c10f17db30ba1efa"
