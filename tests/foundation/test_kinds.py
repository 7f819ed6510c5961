"""Alert kinds are stated once (pricehound/kinds.py): the database's CHECK constraints, the
column default, the templates and the API schema all agree with that table, so adding a kind
that misses one of them fails here, naming what is missing."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from pricehound import kinds

TEMPLATES = Path(__file__).resolve().parents[2] / "alerts" / "templates"


def _check_words(conn: sa.Connection, table: str, column: str) -> set[str]:
    defs = conn.execute(sa.text(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = CAST(:t AS regclass) "
        "AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%' || :c || '%ARRAY%'"),
        {"t": table, "c": column}).scalars().all()
    assert len(defs) == 1, (table, column, defs)
    return set(re.findall(r"'([a-z_]+)'::text", defs[0]))


def test_the_database_accepts_exactly_the_kinds_python_knows(engine):
    with engine.connect() as conn:
        assert _check_words(conn, "notifications", "kind") == set(kinds.EMAIL_KINDS)
        assert _check_words(conn, "shopping_list_items", "notify_kinds") == set(kinds.NOTIFY_KINDS)
        default = conn.execute(sa.text(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
            "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
            "WHERE d.adrelid = 'shopping_list_items'::regclass AND a.attname = 'notify_kinds'")).scalar_one()
    assert set(re.findall(r"[a-z_]+", default.split("::")[0])) == set(kinds.DEFAULT_NOTIFY)


def test_every_kind_has_its_templates():
    for kind in kinds.EMAIL_KINDS:
        for name in ("subject.txt", "body.txt", "body.html"):
            assert (TEMPLATES / kind / name).is_file(), f"alerts/templates/{kind}/{name} is missing"


def test_the_derived_lists_follow_the_table():
    from alerts.model import Watch
    from alerts.outbox import ALERT_KINDS
    from alerts.rules import SALE_KINDS
    from pricehound.catalog import DEFAULT_NOTIFY, NOTIFY_KINDS, parse_notify

    assert ALERT_KINDS == kinds.ALERT_KINDS and SALE_KINDS == kinds.SALE_KINDS
    assert (NOTIFY_KINDS, DEFAULT_NOTIFY) == (kinds.NOTIFY_KINDS, kinds.DEFAULT_NOTIFY)
    assert Watch().notify == frozenset(kinds.DEFAULT_NOTIFY)
    assert parse_notify(None) == list(kinds.DEFAULT_NOTIFY)
    assert set(kinds.DEFAULT_NOTIFY) < set(kinds.NOTIFY_KINDS)
    assert {k.option for k in kinds.ALERTS} == set(kinds.NOTIFY_KINDS)
