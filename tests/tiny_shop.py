"""The hand-made shop most metric tests share. Every expected value in the tests is
worked out by hand from these rows; the comments there show the arithmetic.

As of 2025-03-15 (March incomplete). Amounts in EUR unless stated.

    C1  signs up 2025-01-05; buys 2025-01-10 (100), 2025-02-28 23:59:59 (50, still
        February), 2025-03-01 00:00:00 (30, already March).
    C2  signs up 2025-01-20; buys 2025-01-31 (80, of which 20 refunded later: net 60);
        a cancelled order on 2025-02-10 (40) does not count.
    C3  signs up 2025-02-01; orders 2025-02-03 (70), fully refunded on 2025-02-06:
        never bought, so no cohort.
    C4  signs up 2025-02-10; buys 2025-02-14 (100 RON = 20.10 EUR at 0.201).
    C5  signs up 2025-03-02; buys 2025-03-10 (10): a cohort in the current month.

Responses: C1 scores 10 (2025-01-12) then 6 (2025-01-25); C2 scores 8 (2025-02-11); an
unknown customer C99 scores 9 (2025-02-12); an anonymous respondent with C4's e-mail
scores 3 (2025-03-05); one response scores 11 and is quarantined (2025-03-06).
"""

from __future__ import annotations

import datetime as dt

from tests.scenario import customer, order, response

START = dt.date(2025, 1, 1)
AS_OF = dt.date(2025, 3, 15)

ROWS = {
    "customers": [
        customer("C1", "2025-01-05T09:00:00Z"),
        customer("C2", "2025-01-20T09:00:00Z"),
        customer("C3", "2025-02-01T09:00:00Z"),
        customer("C4", "2025-02-10T09:00:00Z", email="Buyer.Four@Example.com"),
        customer("C5", "2025-03-02T09:00:00Z"),
    ],
    "orders": [
        order("O1", "C1", "2025-01-10T12:00:00Z", 100),
        order("O2", "C1", "2025-02-28T23:59:59Z", 50),
        order("O3", "C1", "2025-03-01T00:00:00Z", 30),
        order("O4", "C2", "2025-01-31T18:00:00Z", 80),
        order(
            "O4",
            "C2",
            "2025-01-31T18:00:00Z",
            80,
            refund_amount=20,
            updated_at="2025-02-05T10:00:00Z",
        ),
        order("O5", "C2", "2025-02-10T10:00:00Z", 40, status="cancelled"),
        order("O6", "C3", "2025-02-03T10:00:00Z", 70),
        order(
            "O6",
            "C3",
            "2025-02-03T10:00:00Z",
            70,
            status="refunded",
            updated_at="2025-02-06T10:00:00Z",
        ),
        order("O7", "C4", "2025-02-14T10:00:00Z", 100, currency="RON"),
        order("O8", "C5", "2025-03-10T10:00:00Z", 10),
    ],
    "survey_responses": [
        response("R1", "C1", "2025-01-12T10:00:00Z", 10),
        response("R2", "C1", "2025-01-25T10:00:00Z", 6),
        response("R3", "C2", "2025-02-11T10:00:00Z", 8),
        response("R4", "C99", "2025-02-12T10:00:00Z", 9),
        response(
            "R5", None, "2025-03-05T10:00:00Z", 3, respondent_email=" buyer.four@example.COM "
        ),
        response("R6", "C5", "2025-03-06T10:00:00Z", 11),
    ],
}
