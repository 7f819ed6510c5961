"""Every alert email says what was read and from where, and carries a signed "this is wrong"
link that records a dispute on the event; status counts disputes per store."""

from __future__ import annotations

import email
from email import policy

import sqlalchemy as sa

from alerts import disputes, evaluate, links, tasks
from tests.alerts.conftest import add_event, sent_messages


def _send(db, event):
    ids = evaluate.evaluate_events(db, [event], cooldown_seconds=0, window_seconds=0).notification_ids
    assert tasks.send_notifications.apply(args=[ids]).get()["sent"] == 1
    msg = email.message_from_string(sent_messages()[-1].raw_data, policy=policy.default)
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def _observe(conn, listing_id, event, rules, seconds_before=0, price="34.00"):
    conn.execute(sa.text(
        "INSERT INTO listing_observations (listing_id, slot, observed_at, kind, price, currency, availability, "
        "source, rules) SELECT :l, :slot, occurred_at - make_interval(secs => :s), 'ok', :p, 'USD', 'in_stock', "
        "'json-ld', CAST(:r AS jsonb) FROM price_events WHERE id = :e"),
        {"l": listing_id, "slot": seconds_before, "s": seconds_before, "p": price, "e": event, "r": rules})


def test_the_email_says_what_was_read_and_from_where(db, catalogue, aws):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
        rules = '{"price": "price.structured_in_buy_box", "availability": "availability.in_stock_wording_or_buy_button"}'
        _observe(conn, catalogue.listing_id, event, rules, price="20.00")
        _observe(conn, catalogue.listing_id, event, rules, seconds_before=60, price="20.00")  # the held reading
    text, html = _send(db, event)
    for body in (text, html):
        assert "Price from the page&#39;s buy box" in body or "Price from the page's buy box" in body
        assert "stock from its buy button or in-stock wording" in body
        assert "confirmed by a second reading" in body
        assert "https://pricehound.test/wrong?token=" in body


def test_this_is_wrong_records_a_dispute_counted_per_store(db, catalogue, client, settings):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "sold_out", "40.00", "40.00", new_av="out_of_stock")
    [notification] = evaluate.evaluate_events(db, [event], cooldown_seconds=0, window_seconds=0).notification_ids
    link = links.dispute_url(catalogue.user_id, notification, settings)
    path = "/wrong?" + link.split("?", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and "Is this alert wrong?" in page.text
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM event_disputes")).scalar() == 0, \
            "opening the link records nothing (mail scanners open links)"
    for _ in range(2):
        done = client.post(path)
        assert done.status_code == 200 and "recorded" in done.text
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT event_id FROM event_disputes")).scalars().all() == [event]
        assert disputes.per_store(conn) == {"shop": 1}
    assert client.post(path.replace("token=", "token=x")).status_code == 400
