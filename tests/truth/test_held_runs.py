"""Store-level sanity: a run in which much of a store turns at once is held, counted as a store
failure, read again soon, and settled by the next run (or by an operator)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pipelines import held
from pipelines.flush import Sanity, flush_rows, row_from_observation
from tests.pipelines.helpers import (
    add_listings,
    add_run,
    add_store,
    failed,
    ok,
    removed,
    rows,
    scalar,
)
from workers import crawl

N = 6


@pytest.fixture()
def shop(db):
    store = add_store(db, "sane", ["sane.example"], is_local=False)
    return store.id, add_listings(db, store.id, [f"https://sane.example/p/{i}" for i in range(N)])


def run(db, store_id, observations):
    """One crawl run of the store: one flush with the sanity check, then the run finished."""
    run_id = add_run(db, store_id, [o.listing_id for o in observations])
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE crawl_runs SET status = 'succeeded', started_at = pricehound_now(), "
                             "finished_at = pricehound_now() WHERE id = :r"), {"r": run_id})
        result = flush_rows(conn, [row_from_observation(o) for o in observations], run_id=run_id, sanity=Sanity())
    outcome = crawl.finish(db, run_id)
    return run_id, result, outcome


def listed(db):
    with db.connect() as conn:
        return held.held_runs(conn)


def events(db):
    return [r["kind"] for r in rows(db, "SELECT kind FROM price_events ORDER BY id")]


def test_a_store_wide_sell_out_is_held_and_released_when_the_next_run_agrees(db, shop):
    store_id, ids = shop
    run(db, store_id, [ok(i, "10.00", "in_stock") for i in ids])
    run_id, result, outcome = run(db, store_id, [ok(i, "10.00", "out_of_stock") for i in ids])
    assert result.held_run and result.event_ids == []
    assert outcome.store_failure, "a held run counts as a store failure"
    assert scalar(db, "SELECT held_state FROM crawl_runs WHERE id = :r", r=run_id) == "held"
    assert [r.id for r in listed(db)] == [run_id]
    _, result, outcome = run(db, store_id, [ok(i, "10.00", "out_of_stock") for i in ids])
    assert not result.held_run and events(db) == ["sold_out"] * N
    assert scalar(db, "SELECT held_state FROM crawl_runs WHERE id = :r", r=run_id) == "settled"


def test_held_changes_the_next_run_does_not_agree_with_are_dropped(db, shop):
    store_id, ids = shop
    run(db, store_id, [ok(i, "10.00", "in_stock") for i in ids])
    run(db, store_id, [ok(i, "10.00", "out_of_stock") for i in ids])
    run(db, store_id, [ok(i, "10.00", "in_stock") for i in ids])
    assert events(db) == []
    assert scalar(db, "SELECT count(*) FROM store_listings WHERE pending_at IS NOT NULL") == 0


def test_a_store_serving_404_everywhere_removes_nothing_in_the_held_run(db, shop):
    store_id, ids = shop
    run(db, store_id, [ok(i) for i in ids])
    run(db, store_id, [removed(ids[0])] + [ok(i) for i in ids[1:]])  # one listing really goes
    _, result, outcome = run(db, store_id, [removed(i) for i in ids])
    assert result.held_run and outcome.store_failure
    assert events(db) == [], "not even the listing that was going: the run confirms nothing"
    assert scalar(db, "SELECT count(*) FROM user_crawler_priorities WHERE next_due_at <= pricehound_now() "
                      "+ interval '5 minutes'") == N, "every listing of a held run is read again soon"


def test_a_maintenance_store_is_a_store_failure_and_changes_nothing(db, shop):
    store_id, ids = shop
    run(db, store_id, [ok(i) for i in ids])
    for _ in range(3):
        _, result, outcome = run(db, store_id, [failed(i, "maintenance") for i in ids])
        assert outcome.store_failure
    assert events(db) == []
    assert scalar(db, "SELECT count(*) FROM store_listings WHERE status = 'active' AND consecutive_removed = 0") == N


def test_an_operator_can_release_or_discard_a_held_run(db, shop):
    store_id, ids = shop
    run(db, store_id, [ok(i, "10.00", "in_stock") for i in ids])
    first, _, _ = run(db, store_id, [ok(i, "10.00", "out_of_stock") for i in ids[:4]] + [removed(i) for i in ids[4:]])
    with db.begin() as conn:
        new_events = held.release(conn, first)
    assert sorted(events(db)) == ["removed"] * 2 + ["sold_out"] * 4 and len(new_events) == N
    with pytest.raises(held.NotHeld), db.begin() as conn:
        held.release(conn, first)


def test_an_operator_can_discard_a_held_run(db, shop):
    store_id, ids = shop
    run(db, store_id, [ok(i, "10.00", "in_stock") for i in ids])
    first, _, _ = run(db, store_id, [ok(i, "10.00", "out_of_stock") for i in ids])
    with db.begin() as conn:
        assert held.discard(conn, first) == N
    assert listed(db) == []
    run(db, store_id, [ok(i, "10.00", "out_of_stock") for i in ids])
    assert events(db) == [], "the discarded readings confirm nothing: the new ones wait for their own second"


def test_a_small_run_is_never_held(db, shop):
    store_id, ids = shop
    run(db, store_id, [ok(i, "10.00", "in_stock") for i in ids[:2]])
    _, result, _ = run(db, store_id, [ok(i, "10.00", "out_of_stock") for i in ids[:2]])
    assert not result.held_run
