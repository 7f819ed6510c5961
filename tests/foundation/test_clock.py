"""The one clock: Python and SQL read the same time, and tests can move it without rewriting rows."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from pricehound import clock

INSTANT = datetime(2027, 1, 31, 23, 59, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _real_time_after_each_test():
    yield
    clock.set_clock(clock.Clock())


def test_specs_round_trip():
    assert clock.parse("real").is_real and clock.parse(None).is_real and clock.parse("").is_real
    assert clock.parse("offset:3600").offset == timedelta(hours=1)
    assert clock.parse("fixed:2027-01-31T23:59:30+00:00").fixed == INSTANT
    assert clock.parse("fixed:2027-01-31T23:59:30").fixed == INSTANT  # no zone means UTC
    for c in (clock.Clock(offset=timedelta(seconds=-90)), clock.Clock(fixed=INSTANT)):
        assert clock.parse(c.spec()) == c


@pytest.mark.parametrize("spec", ["tomorrow", "offset:soon", "fixed:31/01/2027"])
def test_unreadable_specs_say_what_is_expected(spec):
    with pytest.raises(clock.ClockError, match="PRICEHOUND_CLOCK"):
        clock.parse(spec)


def test_a_fixed_clock_stands_still_and_advances_only_when_told():
    with clock.frozen(INSTANT):
        assert clock.now() == INSTANT == clock.now()
        clock.advance(timedelta(minutes=1))
        assert clock.now() == INSTANT + timedelta(minutes=1)
    assert clock.current().is_real


def test_sql_reads_the_same_clock_as_python(engine):
    def sql_now():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT pricehound_now()")).scalar_one()

    with clock.frozen(INSTANT):
        assert sql_now() == INSTANT
        with clock.shifted(timedelta(days=1)):
            assert sql_now() == INSTANT + timedelta(days=1)
        assert sql_now() == INSTANT
    real = sql_now()
    assert abs(real - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_an_offset_clock_moves_sql_by_the_offset(engine):
    with clock.shifted(timedelta(days=40)):
        with engine.connect() as conn:
            moved, real = conn.execute(sa.text("SELECT pricehound_now(), now()")).one()
    assert moved - real == timedelta(days=40)


def test_a_rolled_back_transaction_does_not_lose_the_clock(engine):
    with clock.frozen(INSTANT):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.execute(sa.text("SELECT 1/0"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pricehound_now()")).scalar_one() == INSTANT


def test_column_defaults_follow_the_clock(db):
    with clock.frozen(INSTANT), db.begin() as conn:
        created = conn.execute(sa.text(
            "INSERT INTO users (email) VALUES ('clock@example.com') RETURNING created_at")).scalar_one()
    assert created == INSTANT


def test_an_older_database_gets_clock_defaults_on_upgrade(engine):
    from pricehound.db import apply_schema

    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE users ALTER COLUMN created_at SET DEFAULT now()"))
    apply_schema(engine)
    with engine.connect() as conn:
        default = conn.execute(sa.text(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a"
            " ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
            " WHERE d.adrelid = 'users'::regclass AND a.attname = 'created_at'")).scalar_one()
    assert default == "pricehound_now()"


def test_processes_started_later_inherit_the_clock():
    with clock.frozen(INSTANT):
        out = subprocess.run(
            [sys.executable, "-c", "from pricehound import clock; print(clock.now().isoformat())"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()
    assert datetime.fromisoformat(out) == INSTANT
