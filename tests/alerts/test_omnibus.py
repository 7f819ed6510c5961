"""Honest deals: each sale alert tells whether the new price is the lowest of the 30 days before
the sale (the EU Omnibus reference) and flags a "was" price that was never charged then."""

from __future__ import annotations

import email
from datetime import timedelta
from decimal import Decimal
from email import policy

import sqlalchemy as sa

from alerts import evaluate, omnibus, rules, tasks

from .conftest import add_event, make_listing, make_watch, sent_messages


def sale(db, catalogue, slug: str, old: str, new: str, history: list[tuple[str, str | None, str]],
         was: str | None = None) -> tuple[dict, list[dict[str, str]], object]:
    """A drop on a fresh listing with ``history`` as (age before the sale, price, availability),
    the sale's own reading showing ``was``; returns the stored payload, the notes and the sale time."""
    with db.begin() as conn:
        listing = make_listing(conn, catalogue.store_id, slug, "Kettle", Decimal(old))
        make_watch(conn, catalogue.user_id, listing_id=listing, min_drop=Decimal(1))
        event = add_event(conn, listing, "price_drop", old, new)
        at = conn.execute(sa.text("SELECT occurred_at FROM price_events WHERE id = :e"), {"e": event}).scalar_one()
        for age, price, availability in history:
            conn.execute(sa.text(
                "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
                "VALUES (:l, :at - CAST(:age AS interval), :p, 'USD', :a)"),
                {"l": listing, "at": at, "age": age, "p": price, "a": availability})
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, regular_price, availability) "
            "VALUES (:l, :at, :p, 'USD', :w, 'in_stock')"), {"l": listing, "at": at, "p": new, "w": was})
    ids = evaluate.evaluate_events(db, [event], cooldown_seconds=0, window_seconds=0).notification_ids
    with db.connect() as conn:
        kind, payload = conn.execute(sa.text("SELECT kind, payload FROM notifications WHERE id = :i"),
                                     {"i": ids[0]}).one()
    return payload, omnibus.notes(kind, new, "USD", payload, at), at


def rule_names(notes: list[dict[str, str]]) -> list[str]:
    return [n["rule"] for n in notes]


def test_a_drop_to_the_lowest_price_of_thirty_days_says_so(db, catalogue):
    _, notes, _ = sale(db, catalogue, "low", "40.00", "33.00",
                       [("50 days", "36.00", "in_stock"), ("10 days", "40.00", "in_stock")])
    assert notes == [{"rule": rules.OMNIBUS_LOWEST, "text": "The lowest price of the 30 days before this sale."}]


def test_a_drop_above_an_earlier_lower_price_in_the_window_names_it_and_its_date(db, catalogue):
    payload, notes, at = sale(db, catalogue, "above", "40.00", "35.00",
                              [("20 days", "30.00", "in_stock"), ("10 days", "40.00", "in_stock")])
    day = (at - timedelta(days=20)).strftime("%Y-%m-%d")
    assert Decimal(str(payload["prior_low"])) == Decimal("30.00")
    assert notes == [{"rule": rules.OMNIBUS_NOT_LOWEST,
                      "text": f"Not the lowest of 30 days (lowest was $30.00 on {day})."}]


def test_a_was_price_never_charged_in_the_window_is_flagged_and_one_charged_is_not(db, catalogue):
    _, never, _ = sale(db, catalogue, "never", "40.00", "30.00",
                       [("40 days", "40.00", "in_stock")], was="60.00")
    assert rule_names(never) == [rules.OMNIBUS_LOWEST, rules.OMNIBUS_WAS_NEVER_CHARGED]
    assert never[1]["text"] == "The shop's \"was\" price of $60.00 was never charged in the 30 days before this sale."
    # charged only while sold out: nobody could pay it, so it still was never charged
    _, sold_out, _ = sale(db, catalogue, "soldout", "40.00", "30.00",
                          [("40 days", "40.00", "in_stock"), ("12 days", "60.00", "out_of_stock"),
                           ("5 days", "40.00", "in_stock")], was="60.00")
    assert rules.OMNIBUS_WAS_NEVER_CHARGED in rule_names(sold_out)
    _, charged, _ = sale(db, catalogue, "charged", "60.00", "45.00",
                         [("40 days", "40.00", "in_stock"), ("12 days", "60.00", "in_stock")], was="60.00")
    assert rule_names(charged) == [rules.OMNIBUS_NOT_LOWEST]


def test_the_window_is_exactly_thirty_days_counting_the_price_in_force_when_it_opened(db, catalogue):
    # a price replaced exactly 30 days before the sale was never charged inside the window
    _, replaced, _ = sale(db, catalogue, "edge-out", "40.00", "35.00",
                          [("30 days 1 second", "20.00", "in_stock"), ("30 days", "40.00", "in_stock")])
    assert rule_names(replaced) == [rules.OMNIBUS_LOWEST]
    # one set exactly 30 days before is in the window
    _, opened, _ = sale(db, catalogue, "edge-in", "40.00", "35.00",
                        [("60 days", "50.00", "in_stock"), ("30 days", "20.00", "in_stock"),
                         ("29 days", "40.00", "in_stock")])
    assert rule_names(opened) == [rules.OMNIBUS_NOT_LOWEST] and "$20.00" in opened[0]["text"]
    # one set before the window and still in force when it opened was charged in it
    _, carried, at = sale(db, catalogue, "carried", "40.00", "35.00",
                          [("45 days", "20.00", "in_stock"), ("29 days", "40.00", "in_stock")])
    start = (at - timedelta(days=30)).strftime("%Y-%m-%d")
    assert carried[0]["text"] == f"Not the lowest of 30 days (lowest was $20.00 on {start})."


def test_a_history_with_gaps_counts_only_prices_charged_and_says_how_far_it_reaches(db, catalogue):
    # weeks without a change, a cheaper spell while sold out, an unreadable price: none of them
    # lowers the reference; an unstated stock does count
    _, gaps, _ = sale(db, catalogue, "gaps", "40.00", "34.00",
                      [("90 days", "38.00", "in_stock"), ("25 days", "25.00", "out_of_stock"),
                       ("20 days", None, "in_stock"), ("3 days", "40.00", "unknown")])
    assert rule_names(gaps) == [rules.OMNIBUS_LOWEST]
    _, unknown_stock, _ = sale(db, catalogue, "unknown", "40.00", "34.00",
                               [("90 days", "38.00", "in_stock"), ("25 days", "32.00", "unknown"),
                                ("3 days", "40.00", "in_stock")])
    assert rule_names(unknown_stock) == [rules.OMNIBUS_NOT_LOWEST]
    # tracking began 10 days ago: the claim says how far back it reaches
    _, young, at = sale(db, catalogue, "young", "40.00", "34.00", [("10 days", "40.00", "in_stock")])
    since = (at - timedelta(days=10)).strftime("%Y-%m-%d")
    assert young == [{"rule": rules.OMNIBUS_LOWEST,
                      "text": f"The lowest price since we began tracking it on {since} (less than 30 days)."}]
    # sold out for the whole window: nothing was charged to compare with
    _, none, _ = sale(db, catalogue, "none", "40.00", "34.00", [("45 days", "40.00", "out_of_stock")])
    assert rule_names(none) == [rules.OMNIBUS_NO_HISTORY]


def test_the_email_html_and_text_and_the_webhook_fields_carry_the_notes(db, catalogue, aws):
    from alerts import delivery

    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM shopping_list_items WHERE id = :i"), {"i": catalogue.item_id})
    sale(db, catalogue, "mail", "40.00", "35.00",
         [("20 days", "30.00", "in_stock"), ("10 days", "40.00", "in_stock")], was="70.00")
    with db.connect() as conn:
        ids = [int(i) for i in conn.execute(sa.text("SELECT id FROM notifications")).scalars()]
    assert tasks.send_notifications.apply(args=[ids]).get()["sent"] == 1
    [message] = sent_messages()
    msg = email.message_from_string(message.raw_data, policy=policy.default)
    text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Not the lowest of 30 days (lowest was $30.00 on" in body
        assert "price of $70.00 was never charged in the 30 days before this sale." in body.replace("&#34;", '"')
    assert f'data-rule="{rules.OMNIBUS_WAS_NEVER_CHARGED}"' in html
    assert "omnibus" in delivery.PAYLOAD_FIELDS
