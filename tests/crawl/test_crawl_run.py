"""End-to-end: `python -m spiders.run RUN_ID` crawls the demo stores into the real PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.crawl.conftest import admin_set
from tests.pipelines.helpers import rows, scalar

# (store, {product id: expected}) where expected is "ok", ("removed", reason) or ("failed", reason)
SHAPES = {
    "northwind": {"1001": "ok", "1002": "ok", "1003": "ok", "1004": "ok",
                  "1040": ("removed", "http_404"), "1039": ("failed", "http_429")},
    "copperpot": {"2001": "ok", "2002": "ok", "2003": "ok", "2029": "ok",
                  "2030": ("removed", "http_410")},
    "voltmarkt": {"3001": "ok", "3029": ("failed", "http_500"), "3030": ("removed", "redirect_home")},
    "gadgetdepot": {"4001": "ok", "4002": "ok", "4003": "ok", "4025": "ok",
                    "4024": ("failed", "challenge")},
    "maison-lumiere": {"5001": "ok", "5002": "ok", "5003": "ok", "5004": "ok"},
    "dailybasket": {"6001": "ok", "6002": "ok", "6004": "ok", "6020": ("removed", "http_404")},
}


def listing_state(db, listing_id):
    return rows(db, """
        SELECT l.status, l.title, l.consecutive_failures, l.consecutive_removed, l.last_failure_reason,
               p.price, p.currency, p.regular_price, p.availability
          FROM store_listings l LEFT JOIN store_prices p ON p.listing_id = l.id WHERE l.id = :l""",
                l=listing_id)[0]


def run_row(db, run_id):
    return rows(db, "SELECT * FROM crawl_runs WHERE id = :r", r=run_id)[0]


def counts(db):
    return (scalar(db, "SELECT count(*) FROM price_history_log"),
            scalar(db, "SELECT count(*) FROM price_events"))


@pytest.mark.parametrize("store", sorted(SHAPES))
def test_each_observation_kind_lands_right(db, shops, targets, crawl, store):
    expected = SHAPES[store]
    t = targets(store, list(expected))
    proc = crawl(t)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for pid, want in expected.items():
        state = listing_state(db, t.listing_for(pid))
        product = shops.product(store, pid)
        if want == "ok":
            availability = "unknown" if product.status == "no_availability" else product.availability
            assert (state["price"], state["currency"], state["availability"]) == (
                product.price, product.currency, availability), (pid, state)
            assert state["title"] == product.name
            if pid == "3001":  # the German store: "1.299,00 €", on sale from "1.499,00 €"
                assert state["price"] == Decimal("1299.00") and state["regular_price"] == Decimal("1499.00")
        else:
            kind, reason = want
            assert state["price"] is None, (pid, state)
            if kind == "removed":
                assert (state["status"], state["consecutive_removed"]) == ("active", 1), (pid, state)
            else:
                assert (state["consecutive_failures"], state["last_failure_reason"]) == (1, reason), (pid, state)
    run = run_row(db, proc.run_id)
    want_kinds = [w if isinstance(w, str) else w[0] for w in expected.values()]
    assert run["status"] == "succeeded" and run["error"] is None
    assert (run["requested"], run["ok"], run["removed"], run["failed"], run["dropped"]) == (
        len(expected), want_kinds.count("ok"), want_kinds.count("removed"), want_kinds.count("failed"), 0)
    assert run["changed"] == want_kinds.count("ok")
    assert run["started_at"] <= run["finished_at"] and ":" in run["worker"]
    assert run["stats"]["finish_reason"] == "finished"
    assert run["stats"]["downloader/response_status_count/200"] >= want_kinds.count("ok")
    assert counts(db) == (want_kinds.count("ok"), 0), "first observations are history, never events"
    assert scalar(db, "SELECT count(*) FROM user_crawler_priorities WHERE last_crawled_at IS NULL "
                      "AND listing_id = ANY(:ids)", ids=[t.listing_for(p) for p in expected]) == 0, "every target rescheduled"


def test_history_grows_only_on_change_and_events_are_exactly_the_changes(db, shops, targets, crawl, redis_client):
    t = targets("northwind", ["1001", "1002", "1004"])
    assert crawl(t).returncode == 0
    assert counts(db) == (3, 0)
    second = crawl(t)
    assert second.returncode == 0
    assert counts(db) == (3, 0), "a second crawl with no change writes no history and no event"
    assert run_row(db, second.run_id)["changed"] == 0

    old = shops.product("northwind", "1004").price
    admin_set(shops, "northwind", "1004", price="14.99")
    admin_set(shops, "northwind", "1002", availability="in_stock")
    third = crawl(t)
    assert third.returncode == 0
    assert counts(db) == (4, 1), "the small drop is applied; back in stock waits for a second reading"
    fourth = crawl(t)
    assert fourth.returncode == 0
    assert counts(db) == (5, 2)
    events = rows(db, "SELECT listing_id, kind, old_price, new_price, old_availability, new_availability, "
                      "crawl_run_id FROM price_events ORDER BY kind")
    assert events == [
        {"listing_id": t.listing_for("1002"), "kind": "back_in_stock", "old_price": Decimal("52.99"),
         "new_price": Decimal("52.99"), "old_availability": "out_of_stock", "new_availability": "in_stock",
         "crawl_run_id": fourth.run_id},
        {"listing_id": t.listing_for("1004"), "kind": "price_drop", "old_price": old,
         "new_price": Decimal("14.99"), "old_availability": "in_stock", "new_availability": "in_stock",
         "crawl_run_id": third.run_id},
    ]
    # the event ids went to the alert stage: one Celery message on the alerts queue per crawl
    messages = [json.loads(m) for m in redis_client.lrange("alerts", 0, -1)]
    assert len(messages) == 2
    assert {m["headers"]["task"] for m in messages} == {"pricehound.alerts.evaluate_events"}
    event_ids = sorted(r["id"] for r in rows(db, "SELECT id FROM price_events"))
    sent = [i for m in messages for i in json.loads(__import__("base64").b64decode(m["body"]))[0][0]]
    assert sorted(sent) == event_ids


def test_transient_failures_never_remove_and_never_alert(db, shops, targets, crawl):
    faults = {"1001": "error500", "1002": "throttle429", "1003": "timeout", "1004": "challenge",
              "1005": "oversize"}
    t = targets("northwind", list(faults))
    assert crawl(t).returncode == 0
    before = {pid: listing_state(db, t.listing_for(pid)) for pid in faults}
    for pid, status in faults.items():
        admin_set(shops, "northwind", pid, status=status, price="1.00", availability="out_of_stock")
    for _ in range(2):
        assert crawl(t).returncode == 0
    reasons = {"error500": "http_500", "throttle429": "http_429", "timeout": "timeout",
               "challenge": "challenge", "oversize": "oversize"}
    for pid, status in faults.items():
        state = listing_state(db, t.listing_for(pid))
        assert state["status"] == "active" and state["consecutive_removed"] == 0
        assert (state["consecutive_failures"], state["last_failure_reason"]) == (2, reasons[status]), pid
        assert (state["price"], state["availability"]) == (before[pid]["price"], before[pid]["availability"])
    assert counts(db) == (5, 0)


def test_gone_once_is_not_removed_gone_twice_is(db, shops, targets, crawl):
    t = targets("copperpot", ["2001", "2002"])
    lid = t.listing_for("2001")
    assert crawl(t).returncode == 0
    admin_set(shops, "copperpot", "2001", status="gone404")
    assert crawl(t).returncode == 0
    assert listing_state(db, lid)["status"] == "active"
    assert counts(db) == (2, 0)
    assert crawl(t).returncode == 0
    assert listing_state(db, lid)["status"] == "removed"
    assert rows(db, "SELECT listing_id, kind FROM price_events") == [{"listing_id": lid, "kind": "removed"}]
    admin_set(shops, "copperpot", "2001", status="ok")
    assert crawl(t).returncode == 0
    assert listing_state(db, lid)["status"] == "removed", "a return is read twice before it counts"
    assert crawl(t).returncode == 0
    assert listing_state(db, lid)["status"] == "active"
    assert [r["kind"] for r in rows(db, "SELECT kind FROM price_events ORDER BY id")] == ["removed", "reappeared"]


def test_a_large_price_move_is_held_until_the_next_crawl_agrees(db, shops, targets, crawl):
    t = targets("gadgetdepot", ["4001", "4002"])
    lid = t.listing_for("4001")
    assert crawl(t).returncode == 0
    admin_set(shops, "gadgetdepot", "4001", price="409.90")
    held = crawl(t)
    assert held.returncode == 0
    run = run_row(db, held.run_id)
    assert (run["dropped"], run["ok"], run["changed"]) == (0, 2, 0)
    assert listing_state(db, lid)["price"] == Decimal("40.99")
    assert counts(db) == (2, 0)
    assert crawl(t).returncode == 0, "seen again: a confirmed repricing"
    assert listing_state(db, lid)["price"] == Decimal("409.90")
    assert [r["kind"] for r in rows(db, "SELECT kind FROM price_events")] == ["price_rise"]


def test_shopify_spider_reads_the_js_endpoint(db, shops, targets, crawl):
    t = targets("northwind", ["1001", "1004", "1040"], spider="shopify")
    since = shops.last_seq()
    proc = crawl(t)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for pid in ("1001", "1004"):
        product = shops.product("northwind", pid)
        state = listing_state(db, t.listing_for(pid))
        assert (state["price"], state["currency"], state["availability"]) == (
            product.price, "USD", product.availability)
    assert listing_state(db, t.listing_for("1040"))["consecutive_removed"] == 1
    assert {e["kind"] for e in shops.served_log(since)} == {"js"}
    assert run_row(db, proc.run_id)["stats"]["pricehound/source/shopify"] == 2
