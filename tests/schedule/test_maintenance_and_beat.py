"""Periodic upkeep tasks and how periodic tasks declare their beat entries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from pricehound import clock
from pricehound.config import get_settings
from tests.schedule.conftest import watch_many
from workers import app, crawl, maintenance, schedule
from workers.beat import ENTRIES, periodic


def test_every_periodic_task_has_a_beat_entry_that_expires_within_its_period():
    expected = {
        "pricehound.schedule.dispatch_due", "pricehound.schedule.refresh_priorities",
        "pricehound.maintenance.ensure_partitions", "pricehound.maintenance.refresh_price_comparison",
        "pricehound.maintenance.reap_runs", "pricehound.maintenance.prune_crawl_runs",
    }
    assert expected <= set(app.conf.beat_schedule)
    for name in expected:
        entry = app.conf.beat_schedule[name]
        assert entry["task"] == name and name in app.tasks
        assert entry["options"]["expires"] == max(entry["schedule"].total_seconds(), 1.0)
        assert app.amqp.router.route({}, name)["queue"].name == "schedule"
    assert app.conf.beat_schedule["pricehound.schedule.dispatch_due"]["schedule"] <= timedelta(seconds=5)


def test_tasks_carry_time_limits_and_retry_only_transient_errors():
    from workers.retry import TRANSIENT_ERRORS

    for name in ("pricehound.schedule.dispatch_due", "pricehound.crawl.run_store_crawl",
                 "pricehound.maintenance.reap_runs"):
        task = app.tasks[name]
        assert task.soft_time_limit and task.time_limit > task.soft_time_limit
        assert tuple(task.autoretry_for) == TRANSIENT_ERRORS
    crawl_task = app.tasks["pricehound.crawl.run_store_crawl"]
    assert crawl_task.soft_time_limit == crawl.SOFT_TIME_LIMIT > get_settings().crawl_time_limit
    assert app.amqp.router.route({}, crawl_task.name)["queue"].name == "crawl"
    assert app.conf.broker_transport_options["visibility_timeout"] > crawl_task.time_limit


def test_periodic_declares_a_task_and_its_entry_in_one_place():
    @periodic("pricehound.maintenance.test_only_noop", every=42)
    def noop() -> str:
        return "ok"

    try:
        assert noop.name == "pricehound.maintenance.test_only_noop"
        assert app.conf.beat_schedule[noop.name]["schedule"] == timedelta(seconds=42)
        assert ENTRIES[noop.name].every == 42
        assert noop.run() == "ok"
    finally:
        schedule_without = dict(app.conf.beat_schedule)
        schedule_without.pop("pricehound.maintenance.test_only_noop", None)
        app.conf.beat_schedule = schedule_without
        ENTRIES.pop("pricehound.maintenance.test_only_noop", None)


def test_a_periodic_task_needs_a_positive_period():
    with pytest.raises(ValueError, match="positive period"):
        periodic("pricehound.maintenance.never", every=0)


def test_history_partitions_are_made_ahead_once(db):
    maintenance.ensure_history_partitions(db)
    assert maintenance.ensure_history_partitions(db) == 0
    with db.connect() as conn:
        months = conn.execute(sa.text(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'price_history_log'::regclass")).scalar_one()
    assert months >= 5  # default + last month + this month + three ahead


def test_comparison_view_is_filled_then_refreshed_concurrently(db, stores):
    acme = stores("acme")
    with db.begin() as conn:
        listing = watch_many(conn, acme, ["/kettle"])[0]
        product = conn.execute(sa.text("INSERT INTO branded_products (name) VALUES ('Kettle') RETURNING id")).scalar_one()
        conn.execute(sa.text("UPDATE store_listings SET product_id = :p"), {"p": product})
        conn.execute(sa.text(
            "INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at) "
            "VALUES (:l, 19.99, 'USD', 'in_stock', pricehound_now(), pricehound_now())"), {"l": listing})
    with db.begin() as conn:  # another test may have filled the view already
        conn.execute(sa.text("REFRESH MATERIALIZED VIEW price_comparison WITH NO DATA"))

    assert maintenance.refresh_comparison(db) == "populated"
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE store_prices SET price = 17.49"))
    assert maintenance.refresh_comparison(db) == "refreshed"

    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT price, is_cheapest FROM price_comparison")).one()
    assert (str(row.price), row.is_cheapest) == ("17.49", True)


def test_runs_nobody_holds_are_reaped_and_live_ones_are_left_alone(db, stores, test_settings):
    dead_store, live_store = stores("dead"), stores("live")
    with db.begin() as conn:
        watch_many(conn, dead_store, ["/a"])
        watch_many(conn, live_store, ["/a"])
    runs = {r.store_slug: r.run_id for r in schedule.dispatch(db, test_settings).runs}
    for run_id in runs.values():
        crawl.claim(db, run_id, me="w:1", settings=test_settings)
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE crawl_runs SET status = 'running', started_at = pricehound_now()"))

    with clock.shifted(timedelta(seconds=crawl.store_lease_ttl(test_settings) + 1)):
        # the live worker renewed its store lease meanwhile; the dead one's ran out
        with db.begin() as conn:
            assert conn.execute(crawl.RENEW_STORE, {"ttl": crawl.store_lease_ttl(test_settings), "me": "w:1",
                                                    "store_id": live_store.id, "run_id": runs["live"]}).rowcount == 1
        assert maintenance.reap_abandoned_runs(db) == 1
        assert maintenance.reap_abandoned_runs(db) == 0

    with db.connect() as conn:
        status = dict(conn.execute(sa.text("SELECT id, status FROM crawl_runs")).all())
        dead = conn.execute(sa.text("SELECT * FROM stores WHERE slug = 'dead'")).one()
        live = conn.execute(sa.text("SELECT * FROM stores WHERE slug = 'live'")).one()
    assert status == {runs["dead"]: "abandoned", runs["live"]: "running"}
    assert (dead.current_run_id, dead.last_outcome, dead.failure_streak) == (None, "abandoned", 0)
    assert "worker lost" in dead.last_error
    assert live.current_run_id == runs["live"]
    with db.connect() as conn:  # the dead run's target: due again after the store's shortest interval
        due_in = dict(conn.execute(sa.text(
            "SELECT store_id, next_due_at - pricehound_now() FROM user_crawler_priorities")).all())
    assert due_in[dead.id] > timedelta(minutes=4) and due_in[live.id] <= timedelta(0)


def test_finished_runs_past_retention_are_pruned_and_open_or_recent_ones_kept(db, stores):
    acme = stores("acme")
    with db.begin() as conn:
        lid = watch_many(conn, acme, ["/a"])[0]

        def run(status: str, age_days: int) -> int:
            return conn.execute(sa.text(
                "INSERT INTO crawl_runs (store_id, status, listing_ids, queued_at, started_at, finished_at) "
                "VALUES (:s, :st, ARRAY[:l]::bigint[], pricehound_now() - make_interval(days => :d), "
                "pricehound_now() - make_interval(days => :d), CASE WHEN :st IN ('queued', 'running') THEN NULL "
                "ELSE pricehound_now() - make_interval(days => :d) END) RETURNING id"),
                {"s": acme.id, "st": status, "l": lid, "d": age_days}).scalar_one()

        old = [run("succeeded", 40), run("failed", 35), run("abandoned", 31)]
        old_but_open = run("running", 40)
        old_but_current = run("succeeded", 45)
        recent = run("succeeded", 2)
        conn.execute(sa.text("UPDATE stores SET current_run_id = :r WHERE id = :s"), {"r": old_but_current, "s": acme.id})
        conn.execute(sa.text(
            "INSERT INTO price_events (listing_id, kind, crawl_run_id, occurred_at) "
            "VALUES (:l, 'removed', :r, pricehound_now() - interval '40 days')"), {"l": lid, "r": old[0]})

    assert maintenance.prune_old_runs(db, days=30, chunk=2) == 3
    assert maintenance.prune_old_runs(db, days=30) == 0

    with db.connect() as conn:
        left = set(conn.execute(sa.text("SELECT id FROM crawl_runs")).scalars())
        provenance = conn.execute(sa.text("SELECT crawl_run_id FROM price_events")).scalar_one()
    assert left == {old_but_open, old_but_current, recent}
    assert provenance == old[0], "events keep the run id they were seen by"
