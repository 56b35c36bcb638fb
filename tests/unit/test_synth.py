"""The sample generator: deterministic, shaped like real deliveries, with known truths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.config import Layout, Settings
from pipelines.synth import SynthConfig, generate
from pipelines.synth.behaviour import TrueParameters, draw_customers, draw_purchases
from pipelines.synth.truth import RETENTION_WINDOW_DAYS
from tests.scenario import landing_digest

CONFIG = SynthConfig(customers=2_000, months=3, seed=5)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("synth"))
    generate(layout, CONFIG)
    return layout


def _all(layout: Layout, source: str) -> pl.DataFrame:
    return pl.read_csv(
        layout.landing / "*" / f"{source}.csv", infer_schema=False, include_file_paths="file"
    )


def test_same_seed_same_bytes(landing: Layout, tmp_path: Path) -> None:
    again = Layout(tmp_path)
    generate(again, CONFIG)
    assert landing_digest(again.landing) == landing_digest(landing.landing)
    other = Layout(tmp_path / "other")
    generate(other, SynthConfig(customers=2_000, months=3, seed=6))
    assert landing_digest(other.landing) != landing_digest(landing.landing)


def test_one_folder_per_export_date_with_every_source(landing: Layout) -> None:
    folders = sorted(path.name for path in landing.landing.iterdir())
    # 2024-11-01 + 3 months: November (30) + December (31) + January (31) = 92 days.
    assert len(folders) == 92
    assert folders[0] == "2024-11-01" and folders[-1] == "2025-01-31"
    for folder in folders:
        names = sorted(path.name for path in (landing.landing / folder).iterdir())
        assert names == ["customers.csv", "orders.csv", "survey_responses.csv"]


def test_rows_belong_to_the_export_of_their_update_day(landing: Layout) -> None:
    orders = _all(landing, "orders")
    export_day = orders["file"].str.extract(r"(\d{4}-\d{2}-\d{2})")
    assert (orders["updated_at"].str.slice(0, 10) == export_day).all()


def test_orders_change_and_arrive_late(landing: Layout) -> None:
    orders = _all(landing, "orders")
    versions = orders.group_by("order_id").len()
    assert versions["len"].max() == 2  # a later refund re-delivers the order
    assert (orders["status"] == "refunded").sum() > 0
    assert (orders["refund_amount"].cast(pl.Float64) > 0).sum() > 0
    late = orders.filter(
        pl.col("ordered_at").str.slice(0, 10) < pl.col("updated_at").str.slice(0, 10)
    )
    assert late.height > 0
    assert set(orders["currency"]) == {"RON", "MDL", "UAH", "GBP"}


def test_survey_responses_carry_the_awkward_cases(landing: Layout) -> None:
    responses = _all(landing, "survey_responses")
    assert responses["customer_id"].null_count() > 0
    assert set(responses["language"]) == {"ro", "ru", "uk", "en"}
    comments = " ".join(responses["comment"].drop_nulls())
    assert any(letter in comments for letter in "ăîșț")  # Romanian diacritics
    assert any("а" <= letter <= "я" for letter in comments)  # Cyrillic
    assert any(letter in comments for letter in "іїє")  # Ukrainian letters


def test_truth_is_written_beside_the_exports(landing: Layout) -> None:
    truth = json.loads((landing.root / "synth" / "truth.json").read_text())
    assert truth["config"]["customers"] == 2_000
    assert set(truth["true_parameters"]["programme_uplift"]) == {
        "control",
        "variant_a",
        "variant_b",
    }
    assert truth["rows"]["orders"] > truth["config"]["customers"]


def test_no_real_contact_data(landing: Layout) -> None:
    emails = _all(landing, "customers")["email"]
    assert emails.str.contains(r"@example\.(com|org|net)$").all()


def test_the_programme_truth_is_stated_per_measured_metric(landing: Layout) -> None:
    truth = json.loads((landing.root / "synth" / "truth.json").read_text())
    effects = truth["programme_effect"]
    assert set(effects) == {"control", "variant_a", "variant_b"}
    for metric in ("revenue_per_customer", "repeat_rate", "retention_rate", "nps"):
        assert effects["control"][metric]["absolute"] == 0.0  # control against itself
    # variant_a buys 10% faster from enrolment on: more revenue than it would have made.
    assert effects["variant_a"]["revenue_per_customer"]["absolute"] > 0
    assert effects["variant_a"]["nps"]["relative"] is None


def test_counterfactual_purchases_never_come_earlier() -> None:
    rng = np.random.default_rng(1)
    truth = TrueParameters()
    customers = draw_customers(rng, 3_000, 365.0, truth)
    purchases = draw_purchases(rng, customers, 365.0, truth)
    assert (purchases["control_day"] >= purchases["ordered_day"]).all()
    arms = purchases.join(customers.select("customer_index", "programme_arm"), on="customer_index")
    untreated = arms.filter(
        pl.col("programme_arm").is_null() | (pl.col("programme_arm") == "control")
    )
    assert (untreated["control_day"] == untreated["ordered_day"]).all()
    treated = arms.filter(pl.col("programme_arm") == "variant_a")
    assert (treated["control_day"] > treated["ordered_day"]).any()


def test_truth_follows_the_default_retention_window() -> None:
    assert Settings().nps_churn_window_days == RETENTION_WINDOW_DAYS


def test_a_tiny_sample_still_states_its_truth(tmp_path: Path) -> None:
    # 60 customers over a month: some arms have no member answers; their NPS effect is None.
    generate(Layout(tmp_path), SynthConfig(customers=60, months=1, seed=2))
    effects = json.loads((tmp_path / "synth" / "truth.json").read_text())["programme_effect"]
    assert [metrics["nps"]["absolute"] for metrics in effects.values()] == [None, None]
