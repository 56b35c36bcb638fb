"""The hand-made shop the behaviour-mart tests share (tests/sql/<mart>/). Every expected
value in those tests is worked out by hand from these rows; the comments there show the
arithmetic.

As of 2025-06-15 (June incomplete). Churn windows 30d = 30 days and 90d = 90 days; gross
margin rate 0.4. Amounts in EUR. Countries: RO unless stated; D, G and H are from MD and
G and H are loyalty members (programme arm variant_a).

    A  buys 2025-01-10 (100), 2025-02-28 23:59:59 (50, still February) and
       2025-03-01 00:00:00 (30, already March), then stops.
    B  buys 2025-01-31 (80, 20 refunded later: net 60); a cancelled order on 2025-02-10
       (40) does not count; buys again 2025-05-01 (40): exactly 90 days after 01-31.
    C  orders 2025-02-03 (70), fully refunded on 2025-02-06: refunds only, never bought.
    D  (MD) buys 2025-01-05 (20); comes back 2025-05-20 (25), 135 days later: churned
       under both windows in between, so resurrecting (lifecycle) and reactivated (churn).
    E  buys 2025-06-10 (10): a cohort in the month of the as-of date; a cancelled order on
       2025-06-12 (25).
    F  buys 2025-03-02 (45) once: 2025-05-31 is exactly 90 days later.
    G  (MD, member) buys 2025-02-14 (30) and 2025-02-20 (50), a repeat buyer within their
       first month, and 2025-03-15 (20).
    H  (MD, member) buys 2025-05-10 (15); a second order 2025-05-12 (35) is fully refunded
       on 2025-05-14.

Nobody buys in April 2025: a month with no activity at all.

Last purchase days: A 03-01, B 05-01, D 05-20, E 06-10, F 03-02, G 03-15, H 05-10.
Standing at each month end (customer = at most W days since the last purchase), with the
days since the last purchase:

    month end   A      B      D      E     F      G      H
    01-31       21     0      26     -     -      -      -
    02-28       0      28     54     -     -      8      -
    03-31       30     59     85     -     29     16     -
    04-30       60     89     115    -     59     46     -
    05-31       91     30     11     -     90     77     21
    06-15 (A)   106    45     26     5     105    92     36
"""

from __future__ import annotations

import datetime as dt

from tests.scenario import customer, order

START = dt.date(2025, 1, 1)
AS_OF = dt.date(2025, 6, 15)
CHURN_WINDOWS = {"30d": 30, "90d": 90}
GROSS_MARGIN_RATE = 0.4

MEMBER = {"is_loyalty_member": True, "programme_arm": "variant_a"}

ROWS = {
    "customers": [
        customer("A", "2025-01-02T09:00:00Z"),
        customer("B", "2025-01-03T09:00:00Z"),
        customer("C", "2025-02-01T09:00:00Z"),
        customer("D", "2025-01-04T09:00:00Z", country="MD"),
        customer("E", "2025-06-01T09:00:00Z"),
        customer("F", "2025-03-01T09:00:00Z"),
        customer(
            "G", "2025-02-01T09:00:00Z", country="MD", enrolled_at="2025-02-01T09:00:00Z", **MEMBER
        ),
        customer(
            "H", "2025-05-01T09:00:00Z", country="MD", enrolled_at="2025-05-01T09:00:00Z", **MEMBER
        ),
    ],
    "orders": [
        order("A1", "A", "2025-01-10T12:00:00Z", 100),
        order("A2", "A", "2025-02-28T23:59:59Z", 50),
        order("A3", "A", "2025-03-01T00:00:00Z", 30),
        order("B1", "B", "2025-01-31T18:00:00Z", 80),
        order(
            "B1",
            "B",
            "2025-01-31T18:00:00Z",
            80,
            refund_amount=20,
            updated_at="2025-02-05T10:00:00Z",
        ),
        order("B2", "B", "2025-02-10T10:00:00Z", 40, status="cancelled"),
        order("B3", "B", "2025-05-01T10:00:00Z", 40),
        order("C1", "C", "2025-02-03T10:00:00Z", 70),
        order(
            "C1",
            "C",
            "2025-02-03T10:00:00Z",
            70,
            status="refunded",
            updated_at="2025-02-06T10:00:00Z",
        ),
        order("D1", "D", "2025-01-05T10:00:00Z", 20),
        order("D2", "D", "2025-05-20T10:00:00Z", 25),
        order("E1", "E", "2025-06-10T10:00:00Z", 10),
        order("E2", "E", "2025-06-12T10:00:00Z", 25, status="cancelled"),
        order("F1", "F", "2025-03-02T10:00:00Z", 45),
        order("G1", "G", "2025-02-14T10:00:00Z", 30),
        order("G2", "G", "2025-02-20T10:00:00Z", 50),
        order("G3", "G", "2025-03-15T10:00:00Z", 20),
        order("H1", "H", "2025-05-10T10:00:00Z", 15),
        order("H2", "H", "2025-05-12T10:00:00Z", 35),
        order(
            "H2",
            "H",
            "2025-05-12T10:00:00Z",
            35,
            status="refunded",
            updated_at="2025-05-14T10:00:00Z",
        ),
    ],
    "survey_responses": [],
}
