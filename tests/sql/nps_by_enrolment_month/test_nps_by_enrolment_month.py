"""marts.nps_by_enrolment_month: hand-computed on three members and a non-member."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.sql import harness
from tests.sql.harness import customer, member, response

AS_OF = dt.date(2025, 3, 31)


STAGING = {
    "customers": [
        member("M1", "2025-01-20", "variant_a"),
        member("M2", "2025-02-05", "control"),
        # Enrolled 30 minutes before February (UTC): February is month 1 for M3.
        member("M3", "2025-01-31T23:30:00", "variant_b"),
        customer("C4"),
    ],
    "survey_responses": [
        response("R1", "M1", "2025-01-25", 10),  # month 0
        response("R2", "M1", "2025-03-02", 5),  # month 2
        response("R3", "M2", "2025-01-10", 9),  # month -1: before enrolling
        response("R4", "M2", "2025-02-20", 7),  # month 0
        response("R5", "M3", "2025-02-01T00:10:00", 8),  # month 1
        response("R6", "C4", "2025-02-01", 0),  # not a member: not here
    ],
}


def test_hand_computed_by_months_since_enrolment() -> None:
    with harness.build(STAGING, AS_OF, ["marts.nps_by_enrolment_month"]) as connection:
        rows = {
            (row[0], row[1]): row[2:]
            for row in connection.sql(
                "select months_since_enrolment, programme_arm, promoters, passives, detractors,"
                " responses_n, nps, nps_se from marts.nps_by_enrolment_month"
            ).fetchall()
        }
    assert set(rows) == {
        (-1, "all"),
        (-1, "control"),
        (0, "all"),
        (0, "control"),
        (0, "variant_a"),
        (1, "all"),
        (1, "variant_b"),
        (2, "all"),
        (2, "variant_a"),
    }
    assert rows[(-1, "control")][:5] == (1, 0, 0, 1, 100.0)
    # Month 0: 10 (M1) and 7 (M2): P = 1, passives 1, N = 2: NPS 50;
    # p = 0.5, d = 0: var = 0.5 - 0.25, se = 100 * sqrt(0.25 / 2) = 35.36.
    assert rows[(0, "all")][:5] == (1, 1, 0, 2, 50.0)
    assert rows[(0, "all")][5] == pytest.approx(35.3553, abs=1e-4)
    assert rows[(0, "variant_a")][4] == 100.0 and rows[(0, "control")][4] == 0.0
    assert rows[(1, "variant_b")][:5] == (0, 1, 0, 1, 0.0)
    assert rows[(2, "variant_a")][:5] == (0, 0, 1, 1, -100.0)
