"""Every SQL example of the docs runs against a published warehouse: a renamed column or
table breaks this test, not a reader's dashboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.config import Settings
from tests.sql import harness

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _examples() -> list[tuple[str, str]]:
    """(document, statement) for every statement of every ```sql block."""
    examples = []
    for document in DOCUMENTS:
        for block in re.findall(r"```sql\n(.*?)```", document.read_text(), re.DOTALL):
            examples += [
                (document.name, statement.strip())
                for statement in block.split(";")
                if any(
                    line.strip() and not line.strip().startswith("--")
                    for line in statement.splitlines()
                )
            ]
    return examples


EXAMPLES = _examples()


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.integration
@pytest.mark.parametrize(("document", "statement"), EXAMPLES, ids=[e[1][:40] for e in EXAMPLES])
def test_a_documented_query_runs(generated_run: Settings, document: str, statement: str) -> None:
    with harness.warehouse(generated_run) as connection:
        connection.sql(statement).fetchall()
