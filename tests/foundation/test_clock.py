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
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 3"))  # as version 2 left it
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


def test_moving_time_across_a_month_boundary_of_the_history_loses_nothing(db):
    """Two crawls a minute apart either side of midnight at the month's end: both changes stay in
    the history (in their own months once the partitions exist), with their events, and the
    current price is the later one. Time is moved by the clock, never by rewriting rows."""
    from decimal import Decimal

    from pipelines.flush import flush_rows, row_from_observation
    from spiders.items import Observation
    from tests.pipelines.helpers import add_listings, add_store
    from workers.maintenance import ensure_history_partitions

    month_end = datetime(2031, 1, 31, 23, 59, 30, tzinfo=timezone.utc)  # months no partition exists for
    store = add_store(db, "boundary", ["shop.example"])
    listing = add_listings(db, store.id, ["https://shop.example/p/1"])[0]

    def crawl(price: str) -> None:
        obs = Observation(listing_id=listing, url="https://shop.example/p/1", kind="ok",
                          price=Decimal(price), currency="USD", availability="in_stock")
        with db.begin() as conn:
            flush_rows(conn, [row_from_observation(obs)], run_id=None)

    def partitions() -> list[str]:
        with db.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'price_history_log'::regclass AND c.relname LIKE 'price_history_log_2031%'"
            )).scalars())

    try:
        with clock.frozen(month_end):
            crawl("20.00")
            clock.advance(timedelta(minutes=1))  # now 1 February, 00:00:30
            crawl("15.00")
            created = ensure_history_partitions(db)
        assert created >= 2
        with db.connect() as conn:
            history = conn.execute(sa.text(
                "SELECT h.observed_at, h.price, c.relname FROM price_history_log h "
                "JOIN pg_class c ON c.oid = h.tableoid WHERE h.listing_id = :l ORDER BY h.observed_at"),
                {"l": listing}).all()
            events = conn.execute(sa.text(
                "SELECT kind, old_price, new_price, occurred_at FROM price_events WHERE listing_id = :l"),
                {"l": listing}).all()
            current = conn.execute(sa.text("SELECT price, observed_at FROM store_prices WHERE listing_id = :l"),
                                   {"l": listing}).one()
        assert [(h.observed_at, h.price, h.relname) for h in history] == [
            (month_end, Decimal("20.00"), "price_history_log_2031_01"),
            (month_end + timedelta(minutes=1), Decimal("15.00"), "price_history_log_2031_02"),
        ]
        assert [(e.kind, e.old_price, e.new_price, e.occurred_at) for e in events] == [
            ("price_drop", Decimal("20.00"), Decimal("15.00"), month_end + timedelta(minutes=1))]
        assert tuple(current) == (Decimal("15.00"), month_end + timedelta(minutes=1))
    finally:
        with db.begin() as conn:  # the session's database goes on without months from 2031
            for name in partitions():
                conn.execute(sa.text(f'DROP TABLE "{name}"'))


def test_an_offers_valid_until_date_is_judged_on_the_clock():
    from types import SimpleNamespace

    from spiders.extraction.chain import _stale

    offer = SimpleNamespace(valid_until="2030-06-01")
    with clock.frozen(datetime(2030, 5, 31, 12, tzinfo=timezone.utc)):
        assert not _stale(offer)
    with clock.frozen(datetime(2030, 6, 2, 12, tzinfo=timezone.utc)):
        assert _stale(offer)
