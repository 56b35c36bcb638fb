"""Run SQL models on facts built from a few hand-made rows, without files or a landing folder.

Rows describe the staged entities (what `pipelines.transform.staging` hands to the facts);
the real fact functions turn them into facts, so derived columns (response_month, nps_class,
cohort_month, the customer x month spine, links) are exactly the pipeline's. Only the models
a test asks for, and the models they read, are run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import duckdb
import polars as pl

from pipelines import models, run
from pipelines.clv.rfm import rfm_summary
from pipelines.clv.score import score
from pipelines.config import SURVEY_DRIVERS, Settings
from pipelines.transform import comments, facts

UTC_TIME = pl.Datetime("us", "UTC")
STAGED_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "customers": {
        "customer_id": pl.String(),
        "signup_at": UTC_TIME,
        "email_hash": pl.String(),
        "country": pl.String(),
        "acquisition_channel": pl.String(),
        "birth_year": pl.Int64(),
        "is_loyalty_member": pl.Boolean(),
        "enrolled_at": UTC_TIME,
        "programme_arm": pl.String(),
    },
    "orders": {
        "order_id": pl.String(),
        "customer_id": pl.String(),
        "ordered_at": UTC_TIME,
        "status": pl.String(),
        "is_purchase": pl.Boolean(),
        "net_amount": pl.Float64(),
        "channel": pl.String(),
    },
    "survey_responses": {
        "response_id": pl.String(),
        "customer_id": pl.String(),
        "respondent_email_hash": pl.String(),
        "submitted_at": UTC_TIME,
        "wave": pl.String(),
        "language": pl.String(),
        "nps_score": pl.Int64(),
        "satisfaction": pl.Int64(),
        **{f"driver_{driver}": pl.Int64() for driver in SURVEY_DRIVERS},
        "comment": pl.String(),
    },
}

Row = Mapping[str, object]


def at(text: str) -> dt.datetime:
    """A UTC instant from 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SS'."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def customer(
    customer_id: str, signup_at: str = "2025-01-01", **fields: object
) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "signup_at": at(signup_at),
        "country": "RO",
        "acquisition_channel": "organic",
        "birth_year": 1990,
        "is_loyalty_member": False,
        **fields,
    }


def member(customer_id: str, enrolled_at: str, arm: str) -> dict[str, object]:
    """A loyalty-programme member enrolled at `enrolled_at` in `arm`."""
    return customer(
        customer_id, is_loyalty_member=True, enrolled_at=at(enrolled_at), programme_arm=arm
    )


def purchase(customer_id: str, ordered_at: str, net_amount: float = 10.0) -> dict[str, object]:
    return {
        "order_id": f"O-{customer_id}-{ordered_at}",
        "customer_id": customer_id,
        "ordered_at": at(ordered_at),
        "status": "completed",
        "is_purchase": True,
        "net_amount": net_amount,
        "channel": "web",
    }


def response(
    response_id: str, customer_id: str | None, submitted_at: str, nps_score: int, **fields: object
) -> dict[str, object]:
    return {
        "response_id": response_id,
        "customer_id": customer_id,
        "submitted_at": at(submitted_at),
        "wave": "W1",
        "language": "en",
        "nps_score": nps_score,
        **fields,
    }


def scores(month: str, *counts_by_score: tuple[int, int]) -> list[dict[str, object]]:
    """Anonymous responses in `month` ('YYYY-MM'): `count` answers of each `score`."""
    return [
        response(f"{month}-{score}-{i}", None, f"{month}-15", score)
        for score, count in counts_by_score
        for i in range(count)
    ]


def staged(table: str, rows: Iterable[Row]) -> pl.LazyFrame:
    schema = STAGED_SCHEMAS[table]
    records = [{name: row.get(name) for name in schema} for row in rows]
    return pl.DataFrame(records, schema=schema).lazy()


def fact_tables(staging: Mapping[str, Iterable[Row]], as_of: dt.date) -> dict[str, pl.DataFrame]:
    """The facts the pipeline would build from these staged rows as of `as_of`, and the CLV
    stage's summary of every buyer without predictions (no model parameters yet): a test
    that needs predictions puts its own in `clv_customers`."""
    orders = facts.order_facts(staged("orders", staging.get("orders", [])), as_of).collect()
    customers = facts.customer_facts(
        staged("customers", staging.get("customers", [])), orders.lazy(), as_of
    ).collect()
    responses = facts.response_facts(
        staged("survey_responses", staging.get("survey_responses", [])), customers.lazy(), as_of
    ).collect()
    tables = {"orders": orders, "customers": customers, "survey_responses": responses}
    tables["customer_month"] = facts.customer_month_facts(
        customers.lazy(), orders.lazy(), responses.lazy(), as_of
    ).collect()
    tables["comment_terms"] = comments.comment_terms(responses.lazy()).collect()
    purchases = orders.lazy().filter("is_purchase")
    tables["clv_customers"] = score(
        rfm_summary(purchases, as_of).collect(), None, None, 0.0, None
    ).with_columns(params_as_of=pl.lit(None, dtype=pl.Date))
    return tables


def build(
    staging: Mapping[str, Iterable[Row]],
    as_of: dt.date,
    targets: Iterable[str],
    settings: Settings | None = None,
    replaced_facts: Mapping[str, pl.DataFrame] | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the facts and the `targets` (e.g. 'marts.key_drivers');
    `replaced_facts` replaces tables of `fact_tables` (e.g. `clv_customers` with predictions)."""
    connection = duckdb.connect()
    connection.execute("create schema facts")
    for name, frame in (fact_tables(staging, as_of) | dict(replaced_facts or {})).items():
        connection.register(f"_{name}", frame)
        connection.execute(f"create table facts.{name} as from _{name}")
        connection.unregister(f"_{name}")
    models.run_models(
        connection,
        models_needed_by(set(targets)),
        run.model_parameters(settings or Settings(), as_of),
    )
    return connection


def models_needed_by(targets: set[str]) -> list[models.Model]:
    """The target models and every model they read, directly or not."""
    return models.needed_by(targets, models.discover())


def warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The published warehouse of a pipeline run, read-only as a BI tool opens it."""
    return duckdb.connect(str(settings.paths.warehouse_db), read_only=True)


def published(settings: Settings, sql: str) -> pl.DataFrame:
    """The result of `sql` on the published warehouse of a pipeline run."""
    with warehouse(settings) as connection:
        return connection.sql(sql).pl()


def build_from_facts(
    settings: Settings, as_of: dt.date, targets: Iterable[str]
) -> duckdb.DuckDBPyConnection:
    """The `targets` rebuilt in memory over the facts of a pipeline run, with these settings."""
    connection = duckdb.connect()
    run.register_inputs(connection, settings, as_of)
    run.register_settings(connection, settings)
    models.run_models(
        connection, models_needed_by(set(targets)), run.model_parameters(settings, as_of)
    )
    return connection
