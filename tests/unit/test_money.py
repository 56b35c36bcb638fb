"""Money sums that do not depend on the order Polars adds the rows in."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.transform.money import exact_sum


def test_the_sum_is_the_same_in_any_row_order() -> None:
    rng = np.random.default_rng(7)
    amounts = pl.DataFrame(
        {"customer": rng.integers(0, 50, 20_000), "amount": rng.uniform(0, 500, 20_000)}
    )
    sums = [
        amounts.sample(fraction=1.0, shuffle=True, seed=seed)
        .group_by("customer")
        .agg(total=exact_sum(pl.col("amount")))
        .sort("customer")["total"]
        for seed in range(5)
    ]
    assert all(total.equals(sums[0]) for total in sums[1:])  # bit for bit
    # Each amount moves by at most half a millionth.
    expected = amounts.group_by("customer").agg(pl.col("amount").sum()).sort("customer")
    assert np.allclose(sums[0], expected["amount"], rtol=0, atol=20_000 * 0.5e-6)


def test_a_sum_is_the_double_nearest_its_value() -> None:
    # 100 RON at 0.201: 20,100,000 millionths, published as 20.1, not 20.099999999999998.
    frame = pl.DataFrame({"key": [1, 1, 2], "amount": [100 * 0.201, 0.0, 0.1]})
    totals = frame.group_by("key").agg(exact_sum(pl.col("amount"))).sort("key")["amount"]
    assert totals.to_list() == [20.1, 0.1]
