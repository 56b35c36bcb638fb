"""The SQL runner: order inferred from the SQL, parameters bound, clear errors."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines import models
from pipelines.errors import LoyaltyError


def _model(tmp_path: Path, name: str, sql: str) -> models.Model:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql)
    return models.load_model(path)


def test_order_follows_references_not_file_names(tmp_path: Path) -> None:
    last = _model(tmp_path, "marts/a_last.sql", "select * from marts.m_middle")
    middle = _model(
        tmp_path, "marts/m_middle.sql", "with x as (select * from marts.z_first) select * from x"
    )
    first = _model(tmp_path, "marts/z_first.sql", "select 1 as n")
    order = [model.table for model in models.execution_order([last, middle, first])]
    assert order == ["marts.z_first", "marts.m_middle", "marts.a_last"]


def test_cte_names_and_external_tables_are_not_dependencies(tmp_path: Path) -> None:
    model = _model(
        tmp_path, "marts/m.sql", "with base as (select * from facts.orders) select * from base"
    )
    assert model.references == {"facts.orders"}


def test_a_cycle_is_reported(tmp_path: Path) -> None:
    a = _model(tmp_path, "marts/a.sql", "select * from marts.b")
    b = _model(tmp_path, "marts/b.sql", "select * from marts.a")
    with pytest.raises(LoyaltyError, match="cycle"):
        models.execution_order([a, b])


def test_parameters_are_bound_and_a_missing_one_is_named(tmp_path: Path) -> None:
    model = _model(tmp_path, "marts/p.sql", "select $window_days * 2 as doubled")
    assert model.parameters == {"window_days"}
    with duckdb.connect() as connection:
        models.run_models(connection, [model], {"window_days": 45, "unused": 1})
        assert connection.sql("select doubled from marts.p").fetchall() == [(90,)]
        with pytest.raises(LoyaltyError, match=r"p\.sql: no value for parameter\(s\) window_days"):
            models.run_models(connection, [model], {})


def test_working_tables_feed_later_models_but_stay_out_of_the_database_file(
    tmp_path: Path,
) -> None:
    working = _model(tmp_path, "intermediate/w.sql", "select 2 as n")
    mart = _model(tmp_path, "marts/m.sql", "select n * 3 as n from intermediate.w")
    database = tmp_path / "build.duckdb"
    with duckdb.connect(str(database)) as connection:
        counts = models.run_models(connection, [mart, working], {})
        assert counts == {"intermediate.w": 1, "marts.m": 1}
        assert connection.sql("select n from marts.m").fetchall() == [(6,)]
        models.run_models(connection, [mart, working], {})  # again, on the same connection
    with duckdb.connect(str(database), read_only=True) as reopened:
        tables = reopened.sql("select schema_name, table_name from duckdb_tables()").fetchall()
    assert tables == [("marts", "m")]


def test_needed_by_follows_references_transitively(tmp_path: Path) -> None:
    first = _model(tmp_path, "intermediate/a.sql", "select 1 as n")
    middle = _model(tmp_path, "marts/b.sql", "select * from intermediate.a")
    last = _model(tmp_path, "marts/c.sql", "select * from marts.b, facts.orders")
    other = _model(tmp_path, "marts/d.sql", "select 1 as n")
    every = [first, middle, last, other]
    assert [model.table for model in models.needed_by({"marts.c"}, every)] == [
        "intermediate.a",
        "marts.b",
        "marts.c",
    ]


def test_a_failing_model_names_its_file(tmp_path: Path) -> None:
    model = _model(tmp_path, "marts/broken.sql", "select * from facts.nowhere")
    with (
        duckdb.connect() as connection,
        pytest.raises(LoyaltyError, match=r"broken\.sql: .*nowhere"),
    ):
        models.run_models(connection, [model], {})


def test_a_model_must_be_a_single_select(tmp_path: Path) -> None:
    with pytest.raises(LoyaltyError, match="one SELECT"):
        _model(tmp_path, "marts/ddl.sql", "create table marts.x as select 1")


def test_every_shipped_model_loads_and_is_ordered() -> None:
    shipped = models.discover()
    assert {model.table for model in shipped} >= {"marts.nps_monthly", "marts.cohort_retention"}
    assert len(models.execution_order(shipped)) == len(shipped)
    for model in shipped:
        # Models read facts, other models (intermediate ones included) and the small
        # tables the runner makes of list settings.
        readable = {"facts", "intermediate", "marts", "ops", "settings"}
        assert all(ref.split(".")[0] in readable for ref in model.references)
        assert model.sql.lstrip().startswith("--"), f"{model.path} lacks its header comment"


def test_models_can_call_the_statistical_functions(tmp_path: Path) -> None:
    model = _model(
        tmp_path,
        "marts/z.sql",
        "select normal_cdf(0, 1, 1.96) as p, inverse_t_cdf(10, 0.975) as t_quantile",
    )
    with duckdb.connect() as connection:
        models.run_models(connection, [model], {})
        models.run_models(connection, [model], {})  # registering twice is harmless
        p, t_quantile = connection.sql("from marts.z").fetchall()[0]
    assert p == pytest.approx(0.9750021)
    assert t_quantile == pytest.approx(2.2281389)  # the t table's 2.228 for 10 df
