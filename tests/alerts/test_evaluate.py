"""Evaluation: events x watches -> exactly the outbox rows each watch asked for."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from alerts import evaluate
from pricehound import clock

from .conftest import add_event, make_listing, make_user, make_watch

COOLDOWN = 6 * 3600.0


def run(db, ids, cooldown=COOLDOWN, window=0.0):
    return evaluate.evaluate_events(db, ids, cooldown_seconds=cooldown, window_seconds=window)


def outbox(db):
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT item_id, event_id, kind, dedupe_key FROM notifications ORDER BY id"))]


def test_drop_of_at_least_min_percent_alerts_and_smaller_drop_does_not(db, catalogue):
    with db.begin() as conn:
        small = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "38.00")  # 5% < 10%
    assert run(db, [small]).notification_ids == []
    with db.begin() as conn:
        big = add_event(conn, catalogue.listing_id, "price_drop", "38.00", "33.00")  # 13%
    result = run(db, [big])
    assert result.events == 1
    assert outbox(db) == [(catalogue.item_id, big, "price_drop", f"event:{big}:item:{catalogue.item_id}")]


def test_target_fires_on_crossing_not_on_every_drop_below_it(db, catalogue):
    with db.begin() as conn:
        cross = add_event(conn, catalogue.listing_id, "price_drop", "31.00", "30.00")  # 3%, crosses 30
        below = add_event(conn, catalogue.listing_id, "price_drop", "30.00", "29.50")  # below, 1.7%
    run(db, [cross])
    run(db, [below])
    assert [(r[1], r[2]) for r in outbox(db)] == [(cross, "target_reached")]


def test_stock_changes_alert_but_unknown_availability_never_does(db, catalogue):
    with db.begin() as conn:
        sold = add_event(conn, catalogue.listing_id, "sold_out", "40.00", "40.00", new_av="out_of_stock")
        back = add_event(conn, catalogue.listing_id, "back_in_stock", "40.00", "40.00",
                         old_av="out_of_stock", new_av="in_stock")
        unknown_to_out = add_event(conn, catalogue.listing_id, "sold_out", "40.00", "40.00",
                                   old_av="unknown", new_av="out_of_stock")
        unknown_to_in = add_event(conn, catalogue.listing_id, "back_in_stock", "40.00", "40.00",
                                  old_av="unknown", new_av="in_stock")
        removed = add_event(conn, catalogue.listing_id, "removed", "40.00", None)
    for event in (sold, back, unknown_to_out, unknown_to_in, removed):
        run(db, [event], cooldown=0)
    assert [(r[1], r[2]) for r in outbox(db)] == [(sold, "sold_out"), (back, "back_in_stock"), (removed, "removed")]


def test_opt_in_kinds_only_for_watches_that_asked(db, catalogue):
    with db.begin() as conn:
        rise = add_event(conn, catalogue.listing_id, "price_rise", "40.00", "45.00")
    assert run(db, [rise]).notification_ids == []
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET notify_kinds = '{sale,price_rise}'"))
        rise2 = add_event(conn, catalogue.listing_id, "price_rise", "45.00", "50.00")
    run(db, [rise2])
    assert [(r[1], r[2]) for r in outbox(db)] == [(rise2, "price_rise")]


def test_new_low_in_thirty_days(db, catalogue):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET notify_kinds = '{new_low}'"))
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) VALUES "
            "(:l, pricehound_now() - interval '10 days', 35.00, 'USD', 'in_stock'), "
            "(:l, pricehound_now() - interval '5 days', 40.00, 'USD', 'in_stock')"), {"l": catalogue.listing_id})
        not_low = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "36.00")
        low = add_event(conn, catalogue.listing_id, "price_drop", "36.00", "34.00")
    run(db, [not_low, low], cooldown=0)
    assert [(r[1], r[2]) for r in outbox(db)] == [(low, "new_low")]


def test_cheapest_store_changes_for_a_product_watched_at_several_stores(db, catalogue):
    with db.begin() as conn:
        other_store = conn.execute(sa.text(
            "INSERT INTO stores (slug, name, allowed_domains) VALUES ('other', 'Other', '{other.example}') RETURNING id"
        )).scalar_one()
        other_listing = make_listing(conn, other_store, "kettle-other", "Kettle", Decimal("38.00"), catalogue.product_id)
        user = make_user(conn, "bob@example.com")
        watch = make_watch(conn, user, product_id=catalogue.product_id, kinds=("cheapest_store",),
                           preferred=[catalogue.store_id, other_store])
        still_dearer = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "39.00")
        now_cheapest = add_event(conn, catalogue.listing_id, "price_drop", "39.00", "37.00")
        other_drop = add_event(conn, other_listing, "price_drop", "38.00", "37.50")  # still dearer than 37
    run(db, [still_dearer], cooldown=0)
    run(db, [now_cheapest], cooldown=0)
    run(db, [other_drop], cooldown=0)
    rows = [(r[0], r[1], r[2]) for r in outbox(db) if r[0] == watch]
    assert rows == [(watch, now_cheapest, "cheapest_store")]


def test_unverified_disabled_and_suppressed_users_get_nothing(db, catalogue):
    with db.begin() as conn:
        unverified = make_user(conn, "new@example.com", verified=False)
        disabled = make_user(conn, "gone@example.com")
        suppressed = make_user(conn, "Bounced@Example.com")
        conn.execute(sa.text("UPDATE users SET status = 'disabled' WHERE id = :u"), {"u": disabled})
        conn.execute(sa.text("INSERT INTO email_suppressions (email, reason) VALUES ('bounced@example.com', 'bounce')"))
        for user in (unverified, disabled, suppressed):
            make_watch(conn, user, listing_id=catalogue.listing_id)
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    run(db, [event])
    assert [r[0] for r in outbox(db)] == [catalogue.item_id]


def test_rerun_and_retried_task_never_make_a_second_row(db, catalogue, alert_env):
    from alerts import tasks

    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    tasks.evaluate_events.run([event])
    tasks.evaluate_events.run([event])
    with db.begin() as conn:  # even a lost evaluated_at (e.g. restored event) hits the dedupe key
        conn.execute(sa.text("UPDATE price_events SET evaluated_at = NULL"))
        conn.execute(sa.text("DELETE FROM alert_state"))
    run(db, [event])
    assert len(outbox(db)) == 1


def test_two_workers_evaluating_the_same_events_at_once_make_one_row_each(db, catalogue):
    with db.begin() as conn:
        users = [make_user(conn, f"u{i}@example.com") for i in range(20)]
        for user in users:
            make_watch(conn, user, listing_id=catalogue.listing_id)
        events = [add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00"),
                  add_event(conn, catalogue.listing_id, "sold_out", "20.00", "20.00", new_av="out_of_stock")]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            run(db, events)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = outbox(db)
    assert len(rows) == 21 * 2
    assert len({r[3] for r in rows}) == len(rows)


def test_cooldown_mails_a_flapping_price_once(db, catalogue):
    steps = [("price_drop", "10.00", "9.00"), ("price_rise", "9.00", "10.00"),
             ("price_drop", "10.00", "9.00"), ("price_rise", "9.00", "10.00"), ("price_drop", "10.00", "9.00")]
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET target_price = NULL, "
                             "notify_kinds = '{sale,price_rise}'"))
        ids = [add_event(conn, catalogue.listing_id, kind, old, new, ago=f"{50 - i} minutes")
               for i, (kind, old, new) in enumerate(steps)]
    for event in ids:  # one crawl after another
        run(db, [event], cooldown=3600)
    assert sorted(r[2] for r in outbox(db)) == ["price_drop", "price_rise"]


def test_cooldown_holds_within_one_batch_and_expires_after_its_length(db, catalogue):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET target_price = NULL"))
        first = add_event(conn, catalogue.listing_id, "price_drop", "10.00", "8.00", ago="3 hours")
        second = add_event(conn, catalogue.listing_id, "price_drop", "10.00", "8.00", ago="2 hours")
        later = add_event(conn, catalogue.listing_id, "price_drop", "10.00", "8.00", ago="1 minute")
    run(db, [first, second], cooldown=3600)
    run(db, [later], cooldown=3600)
    assert [r[1] for r in outbox(db)] == [second, later]


def test_events_older_than_a_day_are_marked_but_mail_nobody(db, catalogue):
    with db.begin() as conn:
        stale = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00", ago="2 days")
    assert run(db, [stale]).events == 1
    assert outbox(db) == []
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT evaluated_at IS NOT NULL FROM price_events")).scalar_one()


def test_batch_window_delays_send_after(db, catalogue):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    run(db, [event], window=60)
    with db.connect() as conn:
        delay = conn.execute(sa.text("SELECT extract(epoch FROM send_after - created_at) FROM notifications")).scalar_one()
    assert 59 <= float(delay) <= 61


def test_sweeper_evaluates_events_whose_message_was_lost(db, catalogue, alert_env):
    from alerts import tasks

    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    assert tasks.sweep_events.run() == 0  # a message may still be on its way
    with clock.shifted(timedelta(minutes=5)):  # five minutes later, nobody evaluated it
        assert tasks.sweep_events.run() == 1
        assert [r[1] for r in outbox(db)] == [event]
        assert tasks.sweep_events.run() == 0


def test_expired_cooldowns_are_forgotten_and_the_next_alert_goes_out(db, catalogue):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET target_price = NULL"))
        conn.execute(sa.text("INSERT INTO alert_state (item_id, kind, last_alerted_at) VALUES "
                             "(:i, 'price_drop', pricehound_now() - interval '3 days'), (999999, 'removed', pricehound_now() - interval '3 days'), "
                             "(:i, 'sold_out', pricehound_now())"), {"i": catalogue.item_id})
        assert evaluate.forget_expired_cooldowns(conn, 3600) == 2
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    run(db, [event], cooldown=3600)
    assert [r[2] for r in outbox(db)] == ["price_drop"]


def test_two_workers_evaluating_two_flaps_at_once_mail_once(db, catalogue):
    """Different events for one watch, evaluated by two workers at the same moment: the
    cool-down row's lock makes the second wait and then see the first one's claim."""
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET target_price = NULL"))
        first = add_event(conn, catalogue.listing_id, "price_drop", "10.00", "8.00", ago="2 minutes")
        second = add_event(conn, catalogue.listing_id, "price_drop", "10.00", "8.00", ago="1 minute")
    barrier = threading.Barrier(2)

    def worker(event: int) -> None:
        barrier.wait()
        run(db, [event])

    threads = [threading.Thread(target=worker, args=(e,)) for e in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outbox(db)) == 1


def test_a_page_that_reappears_in_stock_is_back_in_stock(db, catalogue):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "reappeared", None, "40.00", old_av="unknown", new_av="in_stock")
    run(db, [event])
    assert [r[2] for r in outbox(db)] == ["back_in_stock"]
