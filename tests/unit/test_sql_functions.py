"""The statistical SQL functions: scipy's distributions, vectorised, NULL in NULL out."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats

from pipelines import sql_functions


@pytest.fixture(scope="module")
def connection() -> duckdb.DuckDBPyConnection:
    with duckdb.connect() as con:
        sql_functions.register(con)
        rng = np.random.default_rng(7)
        values = pl.DataFrame(
            {
                "mean": rng.normal(0, 5, 5_000),
                "sd": rng.uniform(0.1, 4, 5_000),
                "value": rng.normal(0, 8, 5_000),
                "p": rng.uniform(0.001, 0.999, 5_000),
                "df": rng.uniform(1, 200, 5_000),  # fractional, like Welch's
            }
        )
        con.register("values_frame", values)
        con.execute("create table draws as from values_frame")
        yield con


def test_normal_and_t_agree_with_scipy_stats(connection: duckdb.DuckDBPyConnection) -> None:
    frame = connection.sql(
        "select *, normal_cdf(mean, sd, value) as normal, inverse_normal_cdf(mean, sd, p) as q,"
        " t_cdf(df, value) as t, inverse_t_cdf(df, p) as tq from draws"
    ).pl()
    mean, sd, value, p, df = (frame[name].to_numpy() for name in ("mean", "sd", "value", "p", "df"))
    np.testing.assert_allclose(frame["normal"], stats.norm.cdf(value, mean, sd), rtol=1e-12)
    np.testing.assert_allclose(frame["q"], stats.norm.ppf(p, mean, sd), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(frame["t"], stats.t.cdf(value, df), rtol=1e-10)
    np.testing.assert_allclose(frame["tq"], stats.t.ppf(p, df), rtol=1e-8, atol=1e-10)


def test_null_in_null_out_and_the_textbook_values(connection: duckdb.DuckDBPyConnection) -> None:
    row = connection.sql(
        "select normal_cdf(0, 1, null), normal_cdf(0, 1, 1.96), inverse_normal_cdf(0, 1, 0.975),"
        " t_cdf(null, 1), inverse_t_cdf(30, 0.975)"
    ).fetchall()[0]
    assert row[0] is None and row[3] is None
    assert row[1] == pytest.approx(0.97500210)
    assert row[2] == pytest.approx(1.95996398)
    assert row[4] == pytest.approx(2.04227246)  # t table: 2.042 for 30 df
