"""Demand becomes priority: watchers, premium watchers, recent activity and volatility set how
often a listing comes round, between the store's shortest and longest interval."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.schedule.conftest import watch_many
from workers import schedule


def interval_for(conn, watchers: int, premium: int, activity: int = 0, volatility: float = 0,
                 lo: str = "5 minutes", hi: str = "6 hours") -> timedelta:
    return conn.execute(sa.text(
        "SELECT crawl_interval(crawl_priority_score(:w, :p, :a, :v), CAST(:lo AS interval), CAST(:hi AS interval))"),
        {"w": watchers, "p": premium, "a": activity, "v": volatility, "lo": lo, "hi": hi}).scalar_one()


@pytest.mark.parametrize(("watchers", "premium", "low", "high"), [
    (1, 0, timedelta(hours=2.5), timedelta(hours=3.5)),        # one free watcher: a few hours
    (1, 1, timedelta(minutes=40), timedelta(minutes=50)),      # one premium watcher: under an hour
    (10, 0, timedelta(minutes=25), timedelta(minutes=40)),     # ten free watchers: half-hourly
    (5, 5, timedelta(minutes=5), timedelta(minutes=5)),        # five premium: the store's shortest
    (500, 100, timedelta(minutes=5), timedelta(minutes=5)),    # never below the shortest
])
def test_documented_intervals_follow_demand(db, watchers, premium, low, high):
    with db.connect() as conn:
        assert low <= interval_for(conn, watchers, premium) <= high


def test_unwatched_listing_scores_zero_and_waits_the_longest(db):
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT crawl_priority_score(0, 0, 50, 9)")).scalar_one() == 0
        assert interval_for(conn, 0, 0) == timedelta(hours=6)


def test_activity_and_volatility_pull_a_listing_forward_up_to_a_cap(db):
    with db.connect() as conn:
        plain = interval_for(conn, 1, 0)
        busy = interval_for(conn, 1, 0, activity=40, volatility=20)
        assert busy < plain
        assert interval_for(conn, 2, 0, activity=3) < interval_for(conn, 1, 0, activity=3)
        hammered = conn.execute(sa.text("SELECT crawl_priority_score(1, 0, 100000, 100000)")).scalar_one()
        capped = conn.execute(sa.text("SELECT crawl_priority_score(1, 0, 100, 30)")).scalar_one()
        assert hammered == capped


def test_a_url_watched_by_many_is_one_frontier_row_and_one_crawl_target(db, stores, test_settings):
    acme = stores("acme")
    with db.begin() as conn:
        for n in range(3):
            watch_many(conn, acme, ["/kettle"], email=f"u{n}@example.com")
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT watchers FROM user_crawler_priorities")).all()
    assert [r.watchers for r in rows] == [3]
    assert schedule.dispatch(db, test_settings).leased == 1


def test_periodic_refresh_counts_recent_activity_and_price_changes(db, stores):
    acme = stores("acme")
    with db.begin() as conn:
        quiet, lively = watch_many(conn, acme, ["/quiet", "/lively"])
        user = conn.execute(sa.text("SELECT id FROM users")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO user_activity (user_id, listing_id, kind, occurred_at) "
            "SELECT :u, :l, 'view', pricehound_now() - make_interval(hours => g) FROM generate_series(1, 20) g"),
            {"u": user, "l": lively})
        conn.execute(sa.text(  # old activity does not count
            "INSERT INTO user_activity (user_id, listing_id, kind, occurred_at) "
            "SELECT :u, :l, 'view', pricehound_now() - interval '30 days' FROM generate_series(1, 50)"),
            {"u": user, "l": quiet})
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
            "SELECT :l, pricehound_now() - make_interval(days => g), 10 + g, 'USD', 'in_stock' FROM generate_series(1, 6) g"),
            {"l": lively})
        # both were crawled just now and are due again in 3 hours
        conn.execute(sa.text("UPDATE user_crawler_priorities SET last_crawled_at = pricehound_now(), "
                             "next_due_at = pricehound_now() + interval '3 hours'"))

    assert schedule.refresh_all_priorities(db, chunk=1) == 2

    with db.connect() as conn:
        rows = {r.listing_id: r for r in conn.execute(sa.text(
            "SELECT listing_id, priority, next_due_at - pricehound_now() AS due_in FROM user_crawler_priorities"))}
    assert rows[lively].priority > rows[quiet].priority
    assert rows[lively].due_in < timedelta(hours=2)       # hotter: due at its new, shorter interval
    assert rows[quiet].due_in > timedelta(hours=2, minutes=55)  # unchanged demand keeps its date


def test_periodic_refresh_rewrites_only_rows_whose_demand_changed(db, stores):
    acme = stores("acme")
    with db.begin() as conn:
        same, changed = watch_many(conn, acme, ["/same", "/changed"])
        conn.execute(sa.text("UPDATE user_crawler_priorities SET updated_at = '2000-01-01'"))
        # a change the triggers do not see (a user disabled): only the periodic refresh catches it
        other = watch_many(conn, acme, ["/changed"], email="bob@example.com")
        conn.execute(sa.text("UPDATE user_crawler_priorities SET updated_at = '2000-01-01'"))
        conn.execute(sa.text("UPDATE users SET status = 'disabled' WHERE email = 'bob@example.com'"))
    assert other == [changed]

    schedule.refresh_all_priorities(db)

    with db.connect() as conn:
        rows = {r.listing_id: r for r in conn.execute(sa.text(
            "SELECT listing_id, watchers, updated_at > '2000-01-02' AS rewritten FROM user_crawler_priorities"))}
    assert (rows[same].watchers, rows[same].rewritten) == (1, False)
    assert (rows[changed].watchers, rows[changed].rewritten) == (1, True)


def test_a_new_watch_makes_a_listing_due_now(db, stores):
    acme = stores("acme")
    with db.begin() as conn:
        listing = watch_many(conn, acme, ["/a"])[0]
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '5 hours'"))
        watch_many(conn, acme, ["/a"], email="new@example.com")
        due = conn.execute(sa.text("SELECT next_due_at <= pricehound_now() FROM user_crawler_priorities WHERE listing_id = :l"),
                           {"l": listing}).scalar_one()
    assert due
