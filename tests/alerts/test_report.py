"""What the alert stage owed and to whom, and why a watcher was not told."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from alerts import evaluate, report
from pricehound import clock

from .conftest import add_event, make_user, make_watch


def evaluate_now(db, event_ids, cooldown=3600.0):
    return evaluate.evaluate_events(db, event_ids, cooldown_seconds=cooldown, window_seconds=0)


def test_alerts_evaluate_says_what_it_owed_and_to_whom(db, catalogue, run_cli):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    text = run_cli("alerts", "evaluate")
    assert text.returncode == 0, text.stderr
    assert "evaluated 1 event(s): 1 notification(s)" in text.stdout
    assert f"target_reached  watch {catalogue.item_id}" in text.stdout and "ann@example.com" in text.stdout
    with db.begin() as conn:
        second = add_event(conn, catalogue.listing_id, "sold_out", "20.00", "20.00", new_av="out_of_stock")
    as_json = run_cli("alerts", "evaluate", "--json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["events"] == 1
    assert [(o["kind"], o["item_id"], o["user_id"], o["email"], o["event_id"], o["status"]) for o in document["owed"]] == [
        ("sold_out", catalogue.item_id, catalogue.user_id, "ann@example.com", second, "pending")]
    assert event != second


def test_watchers_not_told_carry_the_certain_reason(db, catalogue):
    with db.begin() as conn:
        unverified = make_watch(conn, make_user(conn, "new@example.com", verified=False),
                                listing_id=catalogue.listing_id)
        suppressed_user = make_user(conn, "gone@example.com")
        suppressed = make_watch(conn, suppressed_user, listing_id=catalogue.listing_id)
        conn.execute(sa.text("INSERT INTO email_suppressions (email, reason) VALUES ('gone@example.com', 'bounce')"))
        paused = make_watch(conn, make_user(conn, "paused@example.com"), listing_id=catalogue.listing_id)
        conn.execute(sa.text("UPDATE shopping_list_items SET active = false WHERE id = :i"), {"i": paused})
        picky = make_watch(conn, make_user(conn, "picky@example.com"), listing_id=catalogue.listing_id,
                           min_drop=Decimal(90))
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "36.00")
    with db.connect() as conn:
        before = {n.item_id: n.reason for n in report.not_told(conn, [event], cooldown_seconds=3600)}
    assert set(before.values()) == {"not evaluated yet"} and len(before) == 5
    evaluate_now(db, [event])
    with db.connect() as conn:
        after = {n.item_id: n.reason for n in report.not_told(conn, [event], cooldown_seconds=3600)}
        owed = report.owed_for_events(conn, [event])
    assert [(o.item_id, o.kind) for o in owed] == [(catalogue.item_id, "price_drop")]
    assert after[unverified] == "address not verified"
    assert after[suppressed] == "address suppressed"
    assert after[paused] == "watch paused"
    assert after[picky].startswith("the watch's rules") and "last" not in after[picky]
    assert catalogue.item_id not in after


def test_a_watcher_held_back_by_the_cool_down_is_shown_its_last_alert(db, catalogue):
    with clock.frozen(clock.now()):
        with db.begin() as conn:
            first = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "35.00")
        evaluate_now(db, [first])
        clock.advance(timedelta(minutes=5))
        with db.begin() as conn:
            # back up to 40 and down again: a flap, not a deeper drop, so the cool-down holds it
            again = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "35.50")
        evaluate_now(db, [again])
        with db.connect() as conn:
            [held] = report.not_told(conn, [again], cooldown_seconds=3600)
            owed = report.owed(conn, [n.notification_id for n in report.owed_for_events(conn, [first])])
    assert held.item_id == catalogue.item_id and "(last price_drop alert at" in held.reason
    assert [o.kind for o in owed] == ["price_drop"] and owed[0].state().startswith("pending, due")
