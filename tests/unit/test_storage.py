"""Sorted writes in key ranges: the same file as one sort, whatever the number of ranges."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import storage


def versions(directory: Path) -> pl.LazyFrame:
    """3,000 versions of 1,000 keys (one null key) behind a group-by and a semi-join on
    the key, as staging builds its tables."""
    raw = pl.DataFrame(
        {
            "key": [None if i == 7 else f"K{i % 1000:05d}" for i in range(3000)],
            "version": [i // 1000 for i in range(3000)],
            "amount": [i * 0.5 for i in range(3000)],
        }
    )
    raw.write_parquet(directory / "raw.parquet")
    scan = pl.scan_parquet(directory / "raw.parquet")
    newest = scan.group_by("key").agg(pl.col("version").max())
    return scan.join(newest, on=["key", "version"], how="semi", nulls_equal=True)


@pytest.mark.parametrize("batch_rows", [10_000, 300, 1])
def test_a_sorted_write_in_ranges_is_one_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    # Every key sampled, so 300 rows per batch is 1,000 / 300 -> 4 ranges, and 1 row per
    # batch one range per key.
    monkeypatch.setattr(storage, "KEY_SAMPLE_EVERY", 1)
    frame = versions(tmp_path)
    path = tmp_path / "sorted.parquet"

    storage.write_parquet_sorted(frame, ["key"], path, batch_rows)

    expected = frame.sort("key").collect()
    assert expected.height == 1001  # 1,000 keys at their newest version, and the null key
    assert_frame_equal(pl.read_parquet(path), expected)
    assert not list(tmp_path.glob(".*"))  # no temporary part left behind


@pytest.mark.parametrize("order", ["sorted", "shuffled", "null in the middle"])
def test_a_frame_declared_in_key_order_is_streamed_and_sorted_if_it_was_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, order: str
) -> None:
    keys = {
        "sorted": [None, 1, 2, 2, 5, 9],
        "shuffled": [2, 1, None, 9, 5, 2],
        "null in the middle": [1, 2, None, 2, 5, 9],
    }[order]
    frame = pl.LazyFrame({"key": keys, "value": range(len(keys))})
    path = tmp_path / "streamed.parquet"

    storage.write_parquet_sorted(frame, ["key"], path, batch_rows=1_000, in_key_order=True)

    assert pl.read_parquet(path)["key"].to_list() == [None, 1, 2, 2, 5, 9]
    assert ("not in key order" in caplog.text) == (order != "sorted")
    assert not list(tmp_path.glob(".*"))


def test_ranges_are_placed_by_the_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "KEY_SAMPLE_EVERY", 1)
    frame = pl.LazyFrame({"key": [f"K{i:03d}" for i in range(100)]})

    ranges = storage._key_ranges(frame, "key", 25)

    sizes = [frame.filter(in_range).collect().height for in_range in ranges]
    assert sizes == [25, 25, 25, 25]


@pytest.mark.parametrize("batch_rows", [10_000, 300])
def test_a_sorted_write_by_part_is_one_sort_split_by_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    monkeypatch.setattr(storage, "KEY_SAMPLE_EVERY", 1)  # 300 rows a batch: 4 key ranges
    frame = versions(tmp_path).filter(pl.col("key").is_not_null())
    parts = tmp_path / "parts"
    parts.mkdir()
    part = pl.col("amount").cast(pl.Int64) % 3  # each part's keys span every range

    written = storage.write_parquet_sorted_parts(
        frame, ["key"], part, lambda value: parts / f"{value}.parquet", batch_rows
    )

    assert written == [parts / f"{value}.parquet" for value in (0, 1, 2)]
    expected = frame.sort("key").with_columns(_part=part).collect()
    for value, path in enumerate(written):
        in_part = expected.filter(pl.col("_part") == value).drop("_part")
        assert_frame_equal(pl.read_parquet(path), in_part)
    assert sorted(parts.iterdir()) == written  # no piece left behind


def test_a_row_without_a_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="1 rows have no part"):
        storage.write_parquet_sorted_parts(
            versions(tmp_path).filter(pl.col("key").is_not_null()),
            ["key"],
            pl.when(pl.col("key") != "K00003").then(pl.lit(1)),
            lambda value: tmp_path / f"{value}.parquet",
            10_000,
        )
