"""The SQL the README offers analysts runs against the real schema."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import REPO_ROOT


def readme_queries() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", (REPO_ROOT / "README.md").read_text(), re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())]


def test_the_readme_has_analyst_queries():
    assert len(readme_queries()) >= 5


@pytest.mark.parametrize("query", readme_queries())
def test_readme_query_runs_on_the_schema(db, query):
    with db.begin() as conn:
        conn.execute(sa.text("REFRESH MATERIALIZED VIEW price_comparison"))
        conn.execute(sa.text(query)).all()
