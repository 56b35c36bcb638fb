"""marts.customer_loyalty, marts.loyalty_by_segment and marts.clv_by_nps_class: the loyalty
matrix, the CLI and CLV by class, hand-computed on eight customers, cross-checked on
generated data."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.config import Settings
from tests.sql import harness
from tests.sql.harness import customer, purchase, response

AS_OF = dt.date(2025, 12, 31)  # trailing 12 months: purchase days 2025-01-01 to 2025-12-31
MARTS = ["marts.customer_loyalty", "marts.loyalty_by_segment", "marts.clv_by_nps_class"]

STAGING = {
    "customers": [
        *(customer(f"L{i}", country="RO") for i in range(1, 5)),
        *(customer(f"L{i}", country="GB") for i in range(5, 9)),
    ],
    "orders": [
        purchase("L1", "2025-03-01"),
        purchase("L1", "2025-06-01"),
        purchase("L2", "2024-12-31T23:59:59"),  # one second before the trailing 12 months
        purchase("L2", "2025-05-01"),
        *(purchase("L3", f"2025-0{month}-10") for month in (1, 2, 3)),
        purchase("L5", "2025-04-01"),
        purchase("L5", "2025-08-01"),
        purchase("L7", "2025-09-01"),
        purchase("L8", "2025-10-01"),
        purchase("L8", "2025-11-01"),
    ],
    "survey_responses": [
        response("R1", "L1", "2025-06-05", 9, satisfaction=5),
        response("R2", "L2", "2025-02-01", 10, satisfaction=5),
        response("R3", "L2", "2025-07-01", 8, satisfaction=3),  # L2's latest answer
        response("R4", "L3", "2025-04-01", 3, satisfaction=1),
        response("R5", "L4", "2025-04-01", 10),  # never bought, no satisfaction answer
        response("R7", "L7", "2025-09-05", 5),
        response("R8", "L8", "2025-11-05", 7, satisfaction=4),
    ],
}

# customer: (purchases_12m, is_repeat, latest class, loyalty class, CLI)
EXPECTED = {
    # CLI = mean of recommendation 10 * score, satisfaction 25 * (s - 1), repurchase 100/50/0.
    "L1": (2, True, "promoter", "loyal", (90 + 100 + 100) / 3),  # 96.67
    "L2": (1, False, "passive", "indifferent", (80 + 50 + 50) / 3),  # 60
    "L3": (3, True, "detractor", "captive", (30 + 0 + 100) / 3),  # 43.33
    "L4": (0, False, "promoter", "latent", (100 + 0) / 2),  # no satisfaction: 2 components
    "L5": (2, True, None, "repeat_unsurveyed", None),
    "L6": (0, False, None, "unsurveyed", None),
    "L7": (1, False, "detractor", "detached", (50 + 50) / 2),
    "L8": (2, True, "passive", "habitual", (70 + 75 + 100) / 3),  # 81.67
}


def _marts(settings: Settings | None = None) -> dict[str, pl.DataFrame]:
    with harness.build(STAGING, AS_OF, MARTS, settings) as connection:
        return {name: connection.sql(f"from {name}").pl() for name in MARTS}


def test_loyalty_class_and_cli_per_customer() -> None:
    customers = _marts()["marts.customer_loyalty"]
    actual = {
        row["customer_id"]: (
            row["purchases_12m"],
            row["is_repeat_buyer_12m"],
            row["latest_nps_class"],
            row["loyalty_class"],
            row["cli"],
        )
        for row in customers.iter_rows(named=True)
    }
    assert actual.keys() == EXPECTED.keys()
    for customer_id, expected in EXPECTED.items():
        assert actual[customer_id][:4] == expected[:4], customer_id
        assert actual[customer_id][4] == pytest.approx(expected[4]), customer_id


def test_cli_weights_come_from_the_settings() -> None:
    weighted = _marts(Settings(cli_weights={"repurchase": 2.0}))["marts.customer_loyalty"]
    cli = dict(weighted.select("customer_id", "cli").iter_rows())
    # L1: (90 + 100 + 2 * 100) / 4 = 97.5; L4: (100 + 2 * 0) / 3 = 33.33.
    assert cli["L1"] == pytest.approx(97.5)
    assert cli["L4"] == pytest.approx(100 / 3)


def test_per_segment_counts_shares_and_cli() -> None:
    by_segment = _marts()["marts.loyalty_by_segment"]
    rows = {
        (row["segment"], row["segment_value"], row["loyalty_class"]): row
        for row in by_segment.iter_rows(named=True)
    }
    total = rows[("all", "all", "all")]
    # Eight customers, six answered: CLI mean = (96.67 + 60 + 43.33 + 50 + 50 + 81.67) / 6.
    assert (total["customers"], total["respondents"], total["share_of_segment"]) == (8, 6, 1.0)
    assert total["cli_mean"] == pytest.approx((290 / 3 + 60 + 130 / 3 + 50 + 50 + 245 / 3) / 6)
    assert total["repeat_buyers_12m"] == 4  # L1, L3, L5, L8
    assert rows[("all", "all", "loyal")]["share_of_segment"] == 1 / 8
    # RO = L1-L4: CLI (96.67 + 60 + 43.33 + 50) / 4 = 62.5.
    assert rows[("country", "RO", "all")]["cli_mean"] == pytest.approx(62.5)
    assert ("country", "GB", "captive") not in rows  # no captive customer in GB
    assert rows[("cohort_month", "no purchase", "all")]["customers"] == 2  # L4, L6
    # The classes of each segment value add up to its total (which the sum counts once more).
    for segment, value in {(segment, value) for segment, value, _ in rows}:
        classes = [row["customers"] for key, row in rows.items() if key[:2] == (segment, value)]
        assert sum(classes) == 2 * rows[(segment, value, "all")]["customers"]


def test_historical_clv_by_nps_class() -> None:
    clv = {
        row["nps_class"]: row for row in _marts()["marts.clv_by_nps_class"].iter_rows(named=True)
    }
    # Buyers only (L4, L6 never bought). Every purchase is 10.
    # promoter L1: 20 lifetime, 20 in 12 months, tenure March-December = 10 months.
    assert (clv["promoter"]["customers"], clv["promoter"]["historical_clv_mean"]) == (1, 20.0)
    assert clv["promoter"]["revenue_per_tenure_month"] == pytest.approx(2.0)
    # passive L2 (20; 10 in 12 months; December 2024 to December 2025 = 13 months) and L8
    # (20; 20; October-December = 3): means 20, 15, 8; 40 / 16 = 2.5 per tenure month.
    passive = clv["passive"]
    assert (passive["customers"], passive["historical_clv_mean"]) == (2, 20.0)
    assert passive["net_revenue_12m_mean"] == 15.0 and passive["tenure_months_mean"] == 8.0
    assert passive["revenue_per_tenure_month"] == pytest.approx(2.5)
    # detractor L3 (30, tenure 12) and L7 (10, tenure 4): mean 20, 40 / 16 = 2.5.
    assert clv["detractor"]["historical_clv_mean"] == 20.0
    assert clv["unsurveyed"]["customers"] == 1  # L5
    # all six buyers: 120 / 6 = 20; tenure 10 + 13 + 12 + 9 + 4 + 3 = 51.
    assert clv["all"]["customers"] == 6
    assert clv["all"]["revenue_per_tenure_month"] == pytest.approx(120 / 51)


# What the CLV stage predicted for each buyer (its job; this mart only groups by class):
# customer: (clv_12m, p_alive).
PREDICTED = {
    "L1": (30.0, 0.9),
    "L2": (10.0, 0.5),
    "L8": (50.0, 0.7),
    "L3": (5.0, 0.2),
    "L7": (15.0, 0.4),
    "L5": (20.0, 0.6),
}


def test_predicted_clv_by_nps_class() -> None:
    buyers = harness.fact_tables(STAGING, AS_OF)["clv_customers"]
    predicted = buyers.with_columns(
        clv_12m=pl.col("customer_id").replace_strict({c: v[0] for c, v in PREDICTED.items()}),
        p_alive=pl.col("customer_id").replace_strict({c: v[1] for c, v in PREDICTED.items()}),
        params_as_of=pl.lit(AS_OF),
    )
    with harness.build(
        STAGING, AS_OF, ["marts.clv_by_nps_class"], replaced_facts={"clv_customers": predicted}
    ) as connection:
        rows = connection.sql(
            "select nps_class, customers, clv_12m_mean, p_alive_mean, is_stale"
            " from marts.clv_by_nps_class"
        ).fetchall()
    by_class = {row[0]: row[1:] for row in rows}
    # promoter L1: 30, 0.9. passive L2, L8: (10 + 50) / 2 = 30, (0.5 + 0.7) / 2 = 0.6.
    # detractor L3, L7: (5 + 15) / 2 = 10, (0.2 + 0.4) / 2 = 0.3. unsurveyed L5: 20, 0.6.
    # all six: (30 + 10 + 50 + 5 + 15 + 20) / 6 = 130 / 6 = 21.667; 3.3 / 6 = 0.55.
    expected = {
        "promoter": (1, 30.0, 0.9),
        "passive": (2, 30.0, 0.6),
        "detractor": (2, 10.0, 0.3),
        "unsurveyed": (1, 20.0, 0.6),
        "all": (6, 130 / 6, 0.55),
    }
    assert by_class.keys() == expected.keys()
    for nps_class, (customers, clv_12m, p_alive) in expected.items():
        assert by_class[nps_class][0] == customers, nps_class
        assert by_class[nps_class][1] == pytest.approx(clv_12m), nps_class
        assert by_class[nps_class][2] == pytest.approx(p_alive), nps_class
        assert by_class[nps_class][3] is False, nps_class  # this run's parameters


def test_without_model_parameters_predicted_clv_is_null_never_zero() -> None:
    clv = _marts()["marts.clv_by_nps_class"]
    assert clv["clv_12m_mean"].null_count() == clv.height == 5
    assert clv["is_stale"].all()


@pytest.mark.integration
def test_matches_polars_on_generated_data(generated_run: Settings) -> None:
    orders = pl.read_parquet(generated_run.paths.fact_files("orders"))
    responses = pl.read_parquet(generated_run.paths.facts / "survey_responses.parquet")
    with harness.warehouse(generated_run) as connection:
        actual = connection.sql("from marts.customer_loyalty").pl()
        as_of = connection.sql("select max(as_of) from ops.releases").fetchall()[0][0]
    start = as_of.replace(year=as_of.year - 1)
    recent = (
        orders.filter(pl.col("is_purchase") & (pl.col("ordered_at").dt.date() > start))
        .group_by("customer_id")
        .len("purchases")
    )
    latest = (
        responses.filter(pl.col("customer_id").is_not_null())
        .sort("submitted_at", "response_id")
        .group_by("customer_id")
        .last()
        .select("customer_id", "nps_score", "satisfaction")
    )
    expected = (
        actual.select("customer_id")
        .join(recent, on="customer_id", how="left")
        .join(latest, on="customer_id", how="left")
        .with_columns(pl.col("purchases").fill_null(0))
        .with_columns(
            repurchase=pl.when(pl.col("purchases") >= 2)
            .then(100.0)
            .when(pl.col("purchases") == 1)
            .then(50.0)
            .otherwise(0.0)
        )
        .with_columns(
            # Equal weights; a missing satisfaction drops out of the mean, as in the model.
            cli=pl.when(pl.col("nps_score").is_not_null()).then(
                pl.mean_horizontal(
                    10.0 * pl.col("nps_score"), 25.0 * (pl.col("satisfaction") - 1), "repurchase"
                )
            )
        )
        .sort("customer_id")
    )
    actual = actual.sort("customer_id")
    assert actual["purchases_12m"].to_list() == expected["purchases"].to_list()
    difference = (actual["cli"] - expected["cli"]).abs().max()
    assert actual["cli"].null_count() == expected["cli"].null_count()
    assert difference is not None and difference < 1e-9


@pytest.mark.integration
def test_predicted_clv_by_class_matches_polars_on_generated_data(generated_run: Settings) -> None:
    responses = pl.read_parquet(generated_run.paths.facts / "survey_responses.parquet")
    with harness.warehouse(generated_run) as connection:
        predictions = connection.sql("select customer_id, clv_12m from marts.customer_clv").pl()
        actual = dict(
            connection.sql("select nps_class, clv_12m_mean from marts.clv_by_nps_class").fetchall()
        )
    score = pl.col("nps_score")
    latest_class = (
        responses.filter(pl.col("customer_id").is_not_null())
        .sort("submitted_at", "response_id")
        .group_by("customer_id")
        .last()
        .select(
            "customer_id",
            nps_class=pl.when(score >= 9)
            .then(pl.lit("promoter"))
            .when(score >= 7)
            .then(pl.lit("passive"))
            .otherwise(pl.lit("detractor")),
        )
    )
    classed = predictions.join(latest_class, on="customer_id", how="left").with_columns(
        pl.col("nps_class").fill_null("unsurveyed")
    )
    expected = dict(classed.group_by("nps_class").agg(pl.col("clv_12m").mean()).iter_rows())
    expected["all"] = classed["clv_12m"].mean()
    assert actual.keys() == expected.keys()
    for nps_class, value in expected.items():
        assert actual[nps_class] == pytest.approx(value, rel=1e-9), nps_class
