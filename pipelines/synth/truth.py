"""The programme's true effect, stated in the terms the warehouse measures it in.

The generator accelerates purchasing from enrolment on (`programme_uplift`), but the
warehouse measures revenue per customer, repeat rate, retention and NPS. What a variant
truly changed on those metrics is known exactly here: every purchase carries the day it
would have happened without the programme (`control_day`, the same random draws on the
unaccelerated clock), so each member's outcome is computed twice, as it happened and as
it would have happened, and the effect is the mean difference over the arm's members.

The outcomes follow marts.programme_evaluation with its default settings (test window
from each member's enrolment to the end of the sample; retention = a purchase in the last
`RETENTION_WINDOW_DAYS` days). Revenue is the order amount in EUR before partial refunds
(about 1% of revenue, the same share in every arm), so the relative lifts are exact and the
absolute revenue lift is about 1% above what refunds leave. An answer's score does not
depend on the arm, but which answers fall in the window does (a variant buys, so answers,
more often): the true NPS lift compares the NPS of the answers as they came with the NPS
of the answers that would have come without the programme.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# The default of Settings.nps_churn_window_days, the retention window of the evaluation.
RETENTION_WINDOW_DAYS = 90


def _outcomes(day: str, enrolled: pl.Expr, horizon_days: float) -> dict[str, pl.Expr]:
    """Per-member outcomes over the purchases whose day (actual or control) is `day`."""
    followed = (pl.col(day) >= enrolled) & (pl.col(day) < horizon_days)
    recent = followed & (pl.col(day) >= horizon_days - RETENTION_WINDOW_DAYS)
    return {
        "revenue_per_customer": pl.col("amount_eur").filter(followed).sum(),
        "repeat_rate": (followed.sum() >= 2).cast(pl.Float64),
        "retention_rate": recent.any().cast(pl.Float64),
    }


def _nps(day: str, horizon_days: float) -> pl.Expr:
    """NPS of the answers whose day (actual or control) falls after enrolment."""
    followed = (pl.col(day) >= pl.col("enrolment_day")) & (pl.col(day) < horizon_days)
    code = pl.when(pl.col("nps_score") >= 9).then(1.0).when(pl.col("nps_score") <= 6).then(-1.0)
    return 100 * code.otherwise(0.0).filter(followed).mean()


def _nps_effects(
    member_answers: pl.DataFrame, horizon_days: float
) -> dict[str, dict[str, float | None]]:
    by_arm = member_answers.group_by("programme_arm").agg(
        actual=_nps("submitted_day", horizon_days),
        control=_nps("control_submitted_day", horizon_days),
    )
    # An arm whose members gave no answer in the window (a tiny sample) has no NPS effect.
    return {
        arm: {
            "absolute": None if actual is None or control is None else actual - control,
            "relative": None,
        }
        for arm, actual, control in by_arm.iter_rows()
    }


@dataclass(frozen=True)
class MemberOutcomes:
    """What the effects are computed from, for one set of customers: each member's outcomes
    as they happened and without the programme, and the members' survey answers. Customers
    drawn in chunks give one each; `programme_effects_of` combines them exactly."""

    per_member: pl.DataFrame
    member_answers: pl.DataFrame


def member_outcomes(
    customers: pl.DataFrame,
    purchases: pl.DataFrame,
    responses: pl.DataFrame,
    horizon_days: float,
) -> MemberOutcomes:
    members = customers.filter(pl.col("programme_arm").is_not_null()).select(
        "customer_index", "programme_arm", "enrolment_day"
    )
    enrolled = pl.col("enrolment_day")
    actual = _outcomes("ordered_day", enrolled, horizon_days)
    control = _outcomes("control_day", enrolled, horizon_days)
    per_member = (
        members.join(purchases, on="customer_index", how="left")
        .group_by("customer_index", "programme_arm")
        .agg(
            **{f"{metric}_actual": expr for metric, expr in actual.items()},
            **{f"{metric}_control": expr for metric, expr in control.items()},
        )
        .fill_null(0.0)
    )
    member_answers = members.join(responses, on="customer_index").select(
        "programme_arm",
        "enrolment_day",
        "submitted_day",
        "control_submitted_day",
        "nps_score",
    )
    return MemberOutcomes(per_member, member_answers)


def programme_effects(
    customers: pl.DataFrame,
    purchases: pl.DataFrame,
    responses: pl.DataFrame,
    horizon_days: float,
) -> dict[str, dict[str, dict[str, float | None]]]:
    """{arm: {metric: {"absolute": lift, "relative": lift / counterfactual value}}}.

    The relative NPS lift is None: a ratio of NPS values has no meaning.
    """
    return programme_effects_of(
        [member_outcomes(customers, purchases, responses, horizon_days)], horizon_days
    )


def programme_effects_of(
    parts: list[MemberOutcomes], horizon_days: float
) -> dict[str, dict[str, dict[str, float | None]]]:
    """`programme_effects` over the customers of every part (disjoint sets of customers)."""
    per_member = pl.concat([part.per_member for part in parts])
    nps_effects = _nps_effects(pl.concat([part.member_answers for part in parts]), horizon_days)
    metrics = ("revenue_per_customer", "repeat_rate", "retention_rate")
    effects: dict[str, dict[str, dict[str, float | None]]] = {}
    for (arm,), arm_members in sorted(
        per_member.partition_by("programme_arm", as_dict=True).items()
    ):
        effects[arm] = {"nps": nps_effects.get(arm, {"absolute": None, "relative": None})}
        for metric in metrics:
            happened = arm_members[f"{metric}_actual"].mean()
            without = arm_members[f"{metric}_control"].mean()
            effects[arm][metric] = {
                "absolute": happened - without,
                "relative": (happened - without) / without if without else None,
            }
    return effects
