"""Dispatch: due frontier rows leased into one crawl run per store, enqueued after commit."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import sqlalchemy as sa

from pricehound import clock
from tests.schedule.conftest import watch_many
from workers import schedule


def crawl_messages(redis_client) -> list[dict]:
    """The crawl task messages waiting in the 'crawl' queue (kombu's JSON envelope)."""
    out = []
    for raw in redis_client.lrange("crawl", 0, -1):
        envelope = json.loads(raw)
        out.append({"task": envelope["headers"]["task"], "args": envelope["headers"]["argsrepr"],
                    "expires": envelope["headers"].get("expires")})
    return out


def test_due_rows_become_one_queued_run_per_store_that_holds_them(db, stores, test_settings, redis_client):
    acme, bolt = stores("acme"), stores("bolt")
    with db.begin() as conn:
        acme_ids = watch_many(conn, acme, [f"/p/{i}" for i in range(5)])
        bolt_ids = watch_many(conn, bolt, [f"/p/{i}" for i in range(3)])

    tick = schedule.dispatch(db, test_settings, leased_by="tester:1")

    assert sorted((r.store_slug, r.requested) for r in tick.runs) == [("acme", 5), ("bolt", 3)]
    with db.connect() as conn:
        runs = {r.store_id: r for r in conn.execute(sa.text("SELECT * FROM crawl_runs"))}
        assert sorted(runs[acme.id].listing_ids) == sorted(acme_ids)
        assert sorted(runs[bolt.id].listing_ids) == sorted(bolt_ids)
        assert {r.status for r in runs.values()} == {"queued"}
        # the run is the lease: the store holds it until the lease runs out
        store_rows = conn.execute(sa.text(
            "SELECT id, current_run_id, crawl_lease_until - pricehound_now() AS left, crawl_leased_by FROM stores")).all()
        assert {s.id: (s.current_run_id, s.crawl_leased_by) for s in store_rows} == {
            acme.id: (runs[acme.id].id, "dispatch tester:1"),
            bolt.id: (runs[bolt.id].id, "dispatch tester:1")}
        assert all(timedelta(seconds=590) < s.left <= timedelta(seconds=600) for s in store_rows)
    messages = crawl_messages(redis_client)
    assert sorted(m["args"] for m in messages) == sorted(f"({r.run_id},)" for r in tick.runs)
    assert {m["task"] for m in messages} == {"pricehound.crawl.run_store_crawl"}
    assert all(m["expires"] for m in messages)


def test_dispatch_writes_nothing_to_the_frontier_rows(db, stores):
    """The run's listing_ids are the lease: a tick of 400 rows updates none of them (a lease
    per row was two thirds of a tick, and the writer had to release each one again)."""
    acme = stores("acme")
    with db.begin() as conn:
        watch_many(conn, acme, [f"/p/{i}" for i in range(400)])
    # the counters may also hold this connection's earlier, not yet reported, updates: compare
    counters = sa.text("SELECT pg_stat_get_xact_tuples_updated(CAST('user_crawler_priorities' AS regclass))")
    with db.begin() as conn:
        before = conn.execute(counters).scalar_one()
        runs = schedule.lease_due(conn, lease_seconds=600, max_batch=None)
        after = conn.execute(counters).scalar_one()
    assert sum(r.requested for r in runs) == 400
    assert after - before == 0


def test_a_second_tick_leases_nothing_already_leased(db, stores, test_settings, redis_client):
    acme = stores("acme")
    with db.begin() as conn:
        watch_many(conn, acme, ["/a", "/b"])
    assert schedule.dispatch(db, test_settings).leased == 2
    assert schedule.dispatch(db, test_settings).runs == []
    assert redis_client.llen("crawl") == 1


def test_nothing_is_enqueued_when_the_lease_transaction_rolls_back(db, stores, test_settings, redis_client):
    acme = stores("acme")
    with db.begin() as conn:
        watch_many(conn, acme, ["/a"])
    try:
        with db.begin() as conn:
            runs = schedule.lease_due(conn, lease_seconds=600)
            assert len(runs) == 1
            raise RuntimeError("the transaction fails after leasing")
    except RuntimeError:
        pass
    assert redis_client.llen("crawl") == 0
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM crawl_runs")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM stores WHERE crawl_lease_until IS NOT NULL")).scalar_one() == 0


def test_a_hot_watch_is_dispatched_before_cold_ones(db, stores, test_settings):
    acme = stores("acme", delay="1")  # a 60 s run at 1 s per page holds 60 targets
    with db.begin() as conn:
        cold = watch_many(conn, acme, [f"/cold/{i}" for i in range(200)])
        hot = watch_many(conn, acme, ["/hot"], email="vip@example.com", premium=True)[0]
        for n in range(4):  # four more premium watchers of the same page
            watch_many(conn, acme, ["/hot"], email=f"vip{n}@example.com", premium=True)

    tick = schedule.dispatch(db, test_settings)

    assert tick.leased == 60
    with db.connect() as conn:
        run = conn.execute(sa.text("SELECT listing_ids FROM crawl_runs")).one()
        prio = dict(conn.execute(sa.text("SELECT listing_id, priority FROM user_crawler_priorities")).all())
    assert run.listing_ids[0] == hot
    assert prio[hot] > prio[cold[0]]
    assert len(set(run.listing_ids) & set(cold)) == 59


def test_rows_not_yet_due_ride_along_only_with_a_run_that_something_due_started(db, stores, test_settings):
    acme, bolt = stores("acme", delay="1"), stores("bolt", delay="1")
    with db.begin() as conn:
        due = watch_many(conn, acme, ["/due"])[0]
        soon = watch_many(conn, acme, ["/soon"])[0]
        later = watch_many(conn, acme, ["/later"])[0]
        only_soon = watch_many(conn, bolt, ["/soon"])[0]
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '30 seconds' "
                             "WHERE listing_id = ANY(:ids)"), {"ids": [soon, only_soon]})
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '2 hours' "
                             "WHERE listing_id = :id"), {"id": later})

    tick = schedule.dispatch(db, test_settings)

    assert [(r.store_slug, r.requested) for r in tick.runs] == [("acme", 2)]
    with db.connect() as conn:
        assert sorted(conn.execute(sa.text("SELECT listing_ids FROM crawl_runs")).scalar_one()) == sorted([due, soon])


def test_a_store_paused_by_its_breaker_or_busy_is_skipped(db, stores, test_settings):
    paused, busy, free = stores("paused"), stores("busy"), stores("free")
    with db.begin() as conn:
        for store in (paused, busy, free):
            watch_many(conn, store, ["/a"])
        conn.execute(sa.text("UPDATE stores SET paused_until = pricehound_now() + interval '1 minute' WHERE id = :id"), {"id": paused.id})
        conn.execute(sa.text("UPDATE stores SET crawl_lease_until = pricehound_now() + interval '1 minute', "
                             "crawl_leased_by = 'elsewhere:1' WHERE id = :id"), {"id": busy.id})

    assert [r.store_slug for r in schedule.dispatch(db, test_settings).runs] == ["free"]

    # a minute later the pause ends and the other crawl's lease lapses ('free' is still held by its run)
    with clock.shifted(timedelta(minutes=1, seconds=1)):
        assert sorted(r.store_slug for r in schedule.dispatch(db, test_settings).runs) == ["busy", "paused"]


def test_rows_whose_lease_expired_without_a_result_are_due_again(db, stores, test_settings):
    acme = stores("acme")
    with db.begin() as conn:
        ids = watch_many(conn, acme, ["/a", "/b"])
    first = schedule.dispatch(db, test_settings).runs[0]

    with clock.shifted(timedelta(seconds=test_settings.lease_seconds + 1)):  # nobody ran it: the lease ran out
        second = schedule.dispatch(db, test_settings).runs

    assert len(second) == 1 and second[0].run_id != first.run_id
    with db.connect() as conn:
        assert sorted(conn.execute(sa.text("SELECT listing_ids FROM crawl_runs WHERE id = :id"),
                                   {"id": second[0].run_id}).scalar_one()) == sorted(ids)


def test_unwatched_and_inactive_store_rows_are_never_dispatched(db, stores, test_settings):
    acme, closed = stores("acme"), stores("closed")
    with db.begin() as conn:
        watch_many(conn, acme, ["/a"])
        watch_many(conn, closed, ["/a"])
        conn.execute(sa.text("UPDATE shopping_list_items SET active = false WHERE listing_id IN "
                             "(SELECT id FROM store_listings WHERE store_id = :id)"), {"id": acme.id})
        conn.execute(sa.text("UPDATE stores SET active = false WHERE id = :id"), {"id": closed.id})
    assert schedule.dispatch(db, test_settings).runs == []


def test_two_dispatchers_racing_never_lease_a_row_twice(db, stores, test_settings, redis_client):
    all_ids = []
    with db.begin() as conn:
        for n in range(8):
            store = stores(f"s{n}")
            all_ids += watch_many(conn, store, [f"/p/{i}" for i in range(60)])
    barrier = threading.Barrier(4)
    results: list[list[schedule.DispatchedRun]] = []
    errors: list[BaseException] = []

    def dispatcher(name: str) -> None:
        try:
            engine = sa.create_engine(db.url, poolclass=sa.pool.NullPool)  # its own connections
            taken = []
            for _ in range(6):
                barrier.wait(timeout=30)
                with engine.begin() as conn:
                    mine = schedule.lease_due(conn, lease_seconds=600, leased_by=name, max_batch=20)
                taken += mine
                with engine.begin() as conn:  # this dispatcher's runs finish: rows crawled, stores free
                    run_ids = [r.run_id for r in mine]
                    conn.execute(sa.text(
                        "UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '1 hour', "
                        "updated_at = pricehound_now() WHERE listing_id IN "
                        "(SELECT unnest(listing_ids) FROM crawl_runs WHERE id = ANY(:runs))"), {"runs": run_ids})
                    conn.execute(sa.text("UPDATE stores SET crawl_lease_until = NULL, current_run_id = NULL "
                                         "WHERE current_run_id = ANY(:runs)"), {"runs": run_ids})
            results.append(taken)
            engine.dispose()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=dispatcher, args=(f"d{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with db.connect() as conn:
        leased_lists = conn.execute(sa.text("SELECT listing_ids FROM crawl_runs")).scalars().all()
    every_lease = [i for ids in leased_lists for i in ids]
    assert len(every_lease) == len(set(every_lease)) == len(all_ids)
    assert sum(r.requested for taken in results for r in taken) == len(all_ids)
    assert set(every_lease) == set(all_ids)
