"""A gone item shows as gone everywhere, and cheapest_store is refused where it cannot fire."""

from __future__ import annotations

import email
from email import policy

import pytest
import sqlalchemy as sa

from alerts import evaluate, tasks
from pricehound import catalog
from tests.alerts.conftest import add_event, sent_messages
from tests.web.conftest import add_priced_watch


def _parts(raw):
    msg = email.message_from_string(raw.raw_data, policy=policy.default)
    return msg["Subject"], msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_a_removed_email_offers_no_buy_button(db, catalogue, aws):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE store_listings SET status = 'removed' WHERE id = :l"), {"l": catalogue.listing_id})
        event = add_event(conn, catalogue.listing_id, "removed", "40.00", None)
    ids = evaluate.evaluate_events(db, [event], cooldown_seconds=0, window_seconds=0).notification_ids
    assert tasks.send_notifications.apply(args=[ids]).get()["sent"] == 1
    _subject, text, html = _parts(sent_messages()[0])
    for body in (text, html):
        assert "Buy at" not in body
        assert "no longer lists this item" in body


def test_a_back_in_stock_email_says_it_came_back_cheaper(db, catalogue, aws):
    with db.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) VALUES "
            "(:l, pricehound_now() - interval '3 days', 40.00, 'USD', 'in_stock'), "
            "(:l, pricehound_now() - interval '2 days', 40.00, 'USD', 'out_of_stock'), "
            "(:l, pricehound_now() - interval '1 day', 31.00, 'USD', 'out_of_stock')"), {"l": catalogue.listing_id})
        event = add_event(conn, catalogue.listing_id, "back_in_stock", "31.00", "31.00",
                          old_av="out_of_stock", new_av="in_stock")
    ids = evaluate.evaluate_events(db, [event], cooldown_seconds=0, window_seconds=0).notification_ids
    assert tasks.send_notifications.apply(args=[ids]).get()["sent"] == 1
    subject, text, html = _parts(sent_messages()[0])
    assert subject.startswith("Back in stock and cheaper:")
    for body in (text, html):
        assert "down from $40.00 when it was last in stock" in body
        assert "Buy at" in body


def test_a_gone_item_shows_as_gone_on_the_api_and_the_manage_page(user_client, db, store):
    priced = add_priced_watch(db, "ann@example.com", 1, prices=[(5, "30.00")], title="Gone Kettle")
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE store_listings SET status = 'removed' WHERE id = :l"), {"l": priced.listing_id})
    [watch] = user_client.get("/v1/watches").json()["watches"]
    assert (watch["availability"], watch["listing_status"]) == ("gone", "removed")
    page = user_client.get("/manage").text
    assert "Gone: no longer listed" in page and "In stock" not in page
    assert "Last price seen" in page


def test_cheapest_store_is_refused_on_url_watches_everywhere(user_client, db, store):
    with pytest.raises(catalog.InputError, match="cheapest_store"):
        with db.begin() as conn:
            catalog.add_watch(conn, email="ann@example.com", url="http://127.0.0.1:8765/p/1",
                              notify="sale,cheapest_store")
    priced = add_priced_watch(db, "ann@example.com", 2, prices=[(5, "30.00")])
    r = user_client.patch(f"/v1/watches/{priced.watch_id}", json={"notify": ["sale", "cheapest_store"]})
    assert r.status_code == 422 and "cheapest_store" in r.json()["message"]
    assert user_client.patch(f"/v1/watches/{priced.watch_id}", json={"notify": ["sale", "new_low"]}).status_code == 200
