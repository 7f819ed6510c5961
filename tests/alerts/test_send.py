"""The send path into moto's SES: content, headers, links, batching, states, throttling, safety."""

from __future__ import annotations

import email
import threading
from decimal import Decimal
from email import policy
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from alerts import evaluate, outbox, ses, tasks
from pricehound import tokens

from .conftest import add_event, make_listing, make_user, make_watch, sent_messages

SECRET = "Zq8vX2pLmR9rW4yB7nC1dF6gH0jT5sQeUaKo3Ni"


def evaluate_now(db, ids):
    return evaluate.evaluate_events(db, ids, cooldown_seconds=0, window_seconds=0).notification_ids


def parsed(raw_message):
    return email.message_from_string(raw_message.raw_data, policy=policy.default)


def parts(msg):
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def statuses(db):
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT status, attempts, provider_message_id IS NOT NULL, last_error FROM notifications ORDER BY id"))]


def test_price_drop_becomes_an_email_with_subject_bodies_links_and_headers(db, catalogue, aws, tmp_path, monkeypatch):
    monkeypatch.setenv("PRICEHOUND_EMAIL_DIR", str(tmp_path))
    from pricehound.config import get_settings

    get_settings.cache_clear()
    with db.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) VALUES "
            "(:l, pricehound_now() - interval '60 days', 31.50, 'USD', 'in_stock'), "
            "(:l, pricehound_now() - interval '40 days', 45.00, 'USD', 'in_stock'), "
            "(:l, pricehound_now() - interval '20 days', 40.00, 'USD', 'in_stock')"), {"l": catalogue.listing_id})
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "34.00")
    ids = evaluate_now(db, [event])
    result = tasks.send_notifications.apply(args=[ids]).get()
    assert result["sent"] == 1

    [message] = sent_messages()
    msg = parsed(message)
    assert msg["Subject"] == "Price drop: Steel Kettle 1.7l now $34.00 (-15.0%) at Shop & Co"
    assert msg["To"] == "Ann <ann@example.com>"
    assert msg["From"] == "pricehound <alerts@pricehound.example>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = msg["List-Unsubscribe"].strip().strip("<>")  # folded header: leading space
    assert unsubscribe.startswith("https://pricehound.test/unsubscribe?token=")
    assert tokens.verify("unsubscribe", token_of(unsubscribe), SECRET)["d"] == {"u": catalogue.user_id, "w": None}

    text, html = parts(msg)
    for body in (text, html):
        assert "$40.00" in body and "$34.00" in body and "15.0%" in body
        assert "Lowest price in the last 30 days: $34.00" in body or "Lowest in 30 days: $34.00" in body
        assert "$31.50" in body  # the 90-day low
        assert "https://shop.example/p/kettle" in body
        assert "Availability: in stock" in body
    assert "<script" not in html.lower()
    assert 'style="' in html  # inline styles only
    manage = [w for w in text.split() if w.startswith("https://pricehound.test/manage?token=")][0]
    assert tokens.verify("manage", token_of(manage), SECRET)["d"] == {"u": catalogue.user_id}
    stop_watch = [w for w in text.split() if w.startswith("https://pricehound.test/unsubscribe?")][0]
    assert tokens.verify("unsubscribe", token_of(stop_watch), SECRET)["d"] == {"u": catalogue.user_id,
                                                                              "w": catalogue.item_id}
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT status, attempts, provider_message_id, sent_at FROM notifications")).one()
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 1, message.id)
    eml = email.message_from_bytes((tmp_path / f"{ids[0]}-price_drop.eml").read_bytes(), policy=policy.default)
    assert eml["Subject"] == msg["Subject"]


def test_several_events_for_one_user_are_one_email(db, catalogue, aws):
    with db.begin() as conn:
        others = [make_listing(conn, catalogue.store_id, f"item-{i}", f"Item {i}", Decimal("10.00")) for i in range(3)]
        for listing in others:
            make_watch(conn, catalogue.user_id, listing_id=listing)
        events = [add_event(conn, listing, "price_drop", "10.00", "5.00") for listing in others]
    ids = evaluate_now(db, events)
    assert len(ids) == 3
    tasks.send_notifications.apply(args=[ids[:1]])  # one id brings the user's whole batch
    [message] = sent_messages()
    msg = parsed(message)
    assert msg["Subject"].startswith("3 price alerts: ")
    text, html = parts(msg)
    assert all(f"Item {i}" in text and f"Item {i}" in html for i in range(3))
    assert statuses(db) == [("sent", 1, True, None)] * 3
    tasks.send_notifications.apply(args=[ids])  # the other ids arrive late: nothing more to send
    assert len(sent_messages()) == 1


def test_rows_still_inside_their_batch_window_wait(db, catalogue, aws):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    ids = evaluate.evaluate_events(db, [event], cooldown_seconds=0, window_seconds=60).notification_ids
    tasks.send_notifications.apply(args=[ids])
    assert sent_messages() == []
    assert statuses(db) == [("pending", 0, False, None)]


def test_unverified_users_get_their_verify_email_and_nothing_else(db, catalogue, aws):
    with db.begin() as conn:
        user = make_user(conn, "new@example.com", verified=False)
        verify_id = outbox.queue_transactional_email(conn, user, "verify", {}, f"verify:{user}")
        # an alert row for them (written before they became unverified, say) must not go out
        alert_id = conn.execute(sa.text(
            "INSERT INTO notifications (user_id, kind, dedupe_key) VALUES (:u, 'price_drop', 'x') RETURNING id"),
            {"u": user}).scalar_one()
    tasks.send_notifications.apply(args=[[verify_id, alert_id]])
    [message] = sent_messages()
    msg = parsed(message)
    assert msg["Subject"] == "Confirm your email address for pricehound"
    assert msg["List-Unsubscribe"] is None
    text, _ = parts(msg)
    link = [w for w in text.split() if w.startswith("https://pricehound.test/verify?token=")][0]
    assert tokens.verify("verify", token_of(link), SECRET)["d"] == {"u": user}
    assert [s[0] for s in statuses(db)] == ["sent", "suppressed"]


def test_login_email_carries_the_link_the_web_service_gave(db, catalogue, aws):
    with db.begin() as conn:
        nid = outbox.queue_transactional_email(conn, catalogue.user_id, "login",
                                               {"link": "https://pricehound.test/login?token=abc"}, "login:1")
    tasks.send_notifications.apply(args=[[nid]])
    text, html = parts(parsed(sent_messages()[0]))
    assert "https://pricehound.test/login?token=abc" in text and 'href="https://pricehound.test/login?token=abc"' in html


def test_suppressed_address_gets_nothing(db, catalogue, aws):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    ids = evaluate_now(db, [event])
    with db.begin() as conn:  # bounced between evaluation and sending
        conn.execute(sa.text("INSERT INTO email_suppressions (email, reason) VALUES ('ann@example.com', 'bounce')"))
    tasks.send_notifications.apply(args=[ids])
    assert sent_messages() == []
    assert statuses(db) == [("suppressed", 0, False, "address suppressed (bounce)")]


@pytest.mark.parametrize(("reason", "delivered"), [("unsubscribe", True), ("bounce", False), ("complaint", False)])
def test_unsubscribed_address_still_gets_the_sign_in_link_it_asked_for(db, catalogue, aws, reason, delivered):
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO email_suppressions (email, reason) VALUES ('ann@example.com', :r)"),
                     {"r": reason})
        nid = outbox.queue_transactional_email(conn, catalogue.user_id, "login",
                                               {"link": "https://pricehound.test/login?token=abc"}, "login:2")
    tasks.send_notifications.apply(args=[[nid]])
    assert (len(sent_messages()) == 1) is delivered


def test_throttling_is_retried_with_backoff_and_nothing_is_lost(db, catalogue, aws, monkeypatch):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
        verify_user = make_user(conn, "second@example.com", verified=False)
        verify_id = outbox.queue_transactional_email(conn, verify_user, "verify", {}, "verify:second")
    ids = evaluate_now(db, [event]) + [verify_id]
    client = ses.client()
    real_send = client.send_email
    calls = {"n": 0}

    def throttled(**kwargs):
        calls["n"] += 1
        if calls["n"] <= 3:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendEmail")
        return real_send(**kwargs)

    monkeypatch.setattr(client, "send_email", throttled)
    delays = []
    monkeypatch.setattr(tasks, "backoff", lambda retries, **_: delays.append(retries) or 0.0)
    result = tasks.send_notifications.apply(args=[ids])
    assert result.successful()
    assert len(sent_messages()) == 2
    assert delays == [0, 1, 2]  # each retry backs off further
    rows = statuses(db)
    assert [r[0] for r in rows] == ["sent", "sent"]
    assert max(r[1] for r in rows) == 3  # claimed three times before SES took it
    assert calls["n"] == 5  # three refusals, then each message accepted once


def test_permanent_rejection_fails_the_row_with_the_reason(db, catalogue, aws, monkeypatch):
    monkeypatch.setenv("PRICEHOUND_SES_SENDER", "nobody <unverified@elsewhere.example>")
    from pricehound.config import get_settings

    get_settings.cache_clear()
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    ids = evaluate_now(db, [event])
    tasks.send_notifications.apply(args=[ids])
    [(status, attempts, has_id, error)] = statuses(db)
    assert (status, attempts, has_id) == ("failed", 1, False)
    assert "MessageRejected" in error


def test_hostile_title_arrives_escaped_and_cannot_add_headers(db, catalogue, aws):
    title = 'Kettle <script>alert("x")</script>\r\nBcc: victim@evil.example\r\n\r\n<b>body</b>'
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE store_listings SET title = :t"), {"t": title})
        conn.execute(sa.text("UPDATE users SET name = :n"), {"n": "Ann\r\nCc: other@evil.example"})
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    tasks.send_notifications.apply(args=[evaluate_now(db, [event])])
    [message] = sent_messages()
    assert message.destinations == ["Ann Cc: other@evil.example <ann@example.com>"] or \
        all("evil.example" not in d.split("<")[-1] for d in message.destinations)
    msg = parsed(message)
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert "\n" not in msg["Subject"] and "Bcc: victim@evil.example" in msg["Subject"]
    _, html = parts(msg)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>body</b>" not in html


def test_two_workers_sending_the_same_rows_send_once(db, catalogue, aws):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    ids = evaluate_now(db, [event])
    barrier = threading.Barrier(3)

    def worker():
        barrier.wait()
        tasks.send_notifications.apply(args=[ids])

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent_messages()) == 1
    assert statuses(db)[0][:2] == ("sent", 1)


def test_sweeper_resends_rows_left_pending_or_stuck_sending(db, catalogue, aws, monkeypatch):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    ids = evaluate_now(db, [event])
    with db.begin() as conn:  # a worker died mid-send ten minutes ago
        conn.execute(sa.text("UPDATE notifications SET status = 'sending', attempts = 1, "
                             "sending_started_at = pricehound_now() - interval '20 minutes', send_after = pricehound_now() - interval '20 minutes'"))
    enqueued = []
    monkeypatch.setattr(outbox, "enqueue_send", lambda ids, countdown=None: enqueued.append(list(ids)))
    assert tasks.sweep_outbox.run() == 1
    assert enqueued == [ids]
    tasks.send_notifications.apply(args=[enqueued[0]])
    assert statuses(db)[0][:2] == ("sent", 2)


def test_rate_limiter_spaces_sends_cluster_wide(redis_client):
    from alerts.ratelimit import SendRateLimiter

    a = SendRateLimiter(redis_client, Decimal(10), key="test:gcra")
    b = SendRateLimiter(redis_client, Decimal(10), key="test:gcra")  # another worker, same key
    assert a.try_acquire() == 0
    wait = b.try_acquire()
    assert 0.05 < wait <= 0.1
    with pytest.raises(ValueError):
        SendRateLimiter(redis_client, Decimal(0))


def test_a_send_interrupted_by_its_time_limit_records_what_went_and_releases_the_rest(db, catalogue, aws, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from alerts import send

    with db.begin() as conn:
        second_user = make_user(conn, "bob@example.com")
        make_watch(conn, second_user, listing_id=catalogue.listing_id)
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    ids = evaluate_now(db, [event])
    real_render = send.render_message
    rendered = []

    def render_then_run_out_of_time(message, context, settings):
        rendered.append(message.user_id)
        if len(rendered) == 2:
            raise SoftTimeLimitExceeded()
        return real_render(message, context, settings)

    monkeypatch.setattr(send, "render_message", render_then_run_out_of_time)
    with pytest.raises(SoftTimeLimitExceeded):
        send.send_notifications(ids)
    assert len(sent_messages()) == 1
    assert sorted(s[0] for s in statuses(db)) == ["pending", "sent"]
