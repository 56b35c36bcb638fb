"""Statistical functions the SQL models call and DuckDB lacks, backed by scipy.

Names and argument orders follow Trino's built-ins (`normal_cdf(mean, sd, value)`,
`inverse_normal_cdf(mean, sd, p)`, `t_cdf(df, value)`), so a model that calls them runs
unchanged where those exist. `inverse_t_cdf(df, p)` has no built-in in Trino or Spark:
any other engine must provide it (and the others where it lacks them) as a UDF.

Each function is vectorised: DuckDB hands it Arrow arrays of a whole chunk (2,048 rows),
scipy evaluates them at once. A NULL argument gives NULL without calling the function.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
from scipy import special

ArrowArray = pa.Array | pa.ChunkedArray


def _doubles(values: ArrowArray) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def normal_cdf(mean: ArrowArray, sd: ArrowArray, value: ArrowArray) -> pa.Array:
    """P(X <= value) for X ~ Normal(mean, sd)."""
    return pa.array(special.ndtr((_doubles(value) - _doubles(mean)) / _doubles(sd)))


def inverse_normal_cdf(mean: ArrowArray, sd: ArrowArray, p: ArrowArray) -> pa.Array:
    """The value below which a Normal(mean, sd) falls with probability p."""
    return pa.array(_doubles(mean) + _doubles(sd) * special.ndtri(_doubles(p)))


def t_cdf(df: ArrowArray, value: ArrowArray) -> pa.Array:
    """P(T <= value) for Student's t with df degrees of freedom (df may be fractional)."""
    return pa.array(special.stdtr(_doubles(df), _doubles(value)))


def inverse_t_cdf(df: ArrowArray, p: ArrowArray) -> pa.Array:
    """The value below which Student's t with df degrees of freedom falls with probability p."""
    return pa.array(special.stdtrit(_doubles(df), _doubles(p)))


FUNCTIONS: dict[str, tuple[Callable[..., pa.Array], int]] = {
    "normal_cdf": (normal_cdf, 3),
    "inverse_normal_cdf": (inverse_normal_cdf, 3),
    "t_cdf": (t_cdf, 2),
    "inverse_t_cdf": (inverse_t_cdf, 2),
}


def register(connection: duckdb.DuckDBPyConnection) -> None:
    """Make every function callable from SQL on this connection (once per connection)."""
    existing = {
        name
        for (name,) in connection.execute(
            "select function_name from duckdb_functions() "
            "where list_contains($names, function_name)",
            {"names": list(FUNCTIONS)},
        ).fetchall()
    }
    for name, (function, arity) in FUNCTIONS.items():
        if name not in existing:
            connection.create_function(
                name, function, ["DOUBLE"] * arity, "DOUBLE", type="arrow", side_effects=False
            )
