"""Channels end to end against local receivers: a signed webhook, Apprise through json:// and
form://, routing per alert kind, the address guard, disabling after failures, and once per
channel under concurrent workers."""

from __future__ import annotations

import email
import threading
from email import policy

import pytest
import sqlalchemy as sa

from alerts import channels, evaluate, send, targets, tasks
from pricehound import clock
from pricehound.catalog import InputError

from .conftest import add_event, sent_messages
from .receivers import receiver


@pytest.fixture()
def local_channels(alert_env, monkeypatch):
    """Channel targets on 127.0.0.1 allowed, as an operator would for a LAN-only receiver."""
    from pricehound.config import get_settings

    monkeypatch.setenv("PRICEHOUND_CHANNEL_ALLOW_PRIVATE", "1")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def evaluate_now(db, ids):
    return evaluate.evaluate_events(db, ids, cooldown_seconds=0, window_seconds=0).notification_ids


def rows(db):
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT id, channel, channel_id, kind, status, dedupe_key, digest_key, hold, provider_message_id, last_error "
            "FROM notifications ORDER BY id")).mappings()]


def webhook_channel(db, user_id, url, **kw):
    with db.begin() as conn:
        channel, secret = channels.add_channel(conn, user_id, "webhook", url, **kw)
    return channel, secret


def test_a_webhook_is_verified_by_a_signed_test_and_then_gets_each_alert_signed_beside_the_email(
        db, catalogue, aws, local_channels):
    with receiver() as hook:
        channel, secret = webhook_channel(db, catalogue.user_id, hook.url + "/hooks/price")
        hook.secret = secret
        assert channel.status == "unverified" and secret.startswith("whsec_")
        with db.begin() as conn:  # not verified yet: an alert goes to email only
            event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "35.00")
        first = evaluate_now(db, [event])
        assert [r["channel"] for r in rows(db) if r["id"] in first] == ["email"]

        result = channels.send_test(db, catalogue.user_id, channel.id)
        assert result.delivered and result.channel.status == "verified"
        test = hook.got[-1]
        assert test.signature_ok and test.headers["x-pricehound-event"] == "test" and test.json()["type"] == "test"

        with db.begin() as conn:
            event = add_event(conn, catalogue.listing_id, "price_drop", "35.00", "28.00")
        ids = evaluate_now(db, [event])
        assert sorted(r["channel"] for r in rows(db) if r["id"] in ids) == ["email", "webhook"]
        tasks.send_notifications.apply(args=[ids]).get()

    alert = hook.got[-1]
    assert alert.path == "/hooks/price" and alert.signature_ok is True
    body = alert.json()
    assert body["type"] == "alerts" and body["digest"] is False and body["channel_id"] == channel.id
    (item,) = body["alerts"]
    assert item["kind"] == "target_reached" and item["new_price"] == "28.00" and item["old_price"] == "35.00"
    assert item["currency"] == "USD" and item["url"] == "https://shop.example/p/kettle"
    webhook_row = next(r for r in rows(db) if r["channel"] == "webhook")
    assert webhook_row["status"] == "sent" and webhook_row["dedupe_key"].endswith(f":channel:{channel.id}")
    # the delivery id a receiver dedupes on is the row's digest key, recorded as the provider id
    assert alert.headers["x-pricehound-delivery"] == webhook_row["digest_key"] == webhook_row["provider_message_id"]
    # the email carries both alerts (the first was still pending: one email per user and batch)
    assert len(sent_messages()) == 1
    # a receiver rejects a body that was tampered with or a stale timestamp
    ts = alert.headers["x-pricehound-timestamp"]
    assert not targets.verify_signature(secret, ts, alert.body + b" ", alert.headers["x-pricehound-signature"],
                                        now=clock.timestamp())
    assert not targets.verify_signature(secret, ts, alert.body, alert.headers["x-pricehound-signature"],
                                        now=clock.timestamp() + targets.REPLAY_TOLERANCE_SECONDS + 1)


def test_apprise_json_channel_is_confirmed_by_the_code_its_test_carried_then_gets_alerts(
        db, catalogue, aws, local_channels):
    with receiver() as endpoint:
        with db.begin() as conn:
            channel, secret = channels.add_channel(conn, catalogue.user_id, "apprise",
                                                   f"json://127.0.0.1:{endpoint.url.rsplit(':', 1)[1]}/notify")
        assert secret is None
        result = channels.send_test(db, catalogue.user_id, channel.id)
        assert result.delivered and result.needs_code and result.channel.status == "testing"
        message = endpoint.got[-1].json()["message"]
        code = message.split("code is ")[1][:6]
        with db.begin() as conn, pytest.raises(InputError):
            channels.confirm(conn, catalogue.user_id, channel.id, "000000" if code != "000000" else "111111")
        with db.begin() as conn:
            assert channels.confirm(conn, catalogue.user_id, channel.id, code).status == "verified"

        with db.begin() as conn:
            event = add_event(conn, catalogue.listing_id, "sold_out", "40.00", "40.00", new_av="out_of_stock")
        ids = evaluate_now(db, [event])
        tasks.send_notifications.apply(args=[ids]).get()
    got = endpoint.got[-1].json()
    assert "sold out" in got["title"].lower() and "Steel Kettle" in got["message"]
    assert {r["channel"]: r["status"] for r in rows(db)} == {"email": "sent", "apprise": "sent"}


def test_apprise_form_target_posts_a_form_and_alert_kinds_route_per_channel(db, catalogue, aws, local_channels):
    with receiver() as endpoint:
        port = endpoint.url.rsplit(":", 1)[1]
        with db.begin() as conn:
            channel, _ = channels.add_channel(conn, catalogue.user_id, "apprise", f"form://127.0.0.1:{port}/f",
                                              alert_kinds="sold_out,back_in_stock")
            conn.execute(sa.text("UPDATE user_channels SET status = 'verified' WHERE id = :id"), {"id": channel.id})
            # email: only sale news
            channels.add_channel(conn, catalogue.user_id, "email", alert_kinds="price_drop,target_reached")
            drop = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "30.00")
        ids = evaluate_now(db, [drop])
        assert [r["channel"] for r in rows(db)] == ["email"]
        with db.begin() as conn:
            out = add_event(conn, catalogue.listing_id, "sold_out", "30.00", "30.00", new_av="out_of_stock")
        ids += evaluate_now(db, [out])
        assert [(r["channel"], r["kind"]) for r in rows(db)] == [("email", "target_reached"), ("apprise", "sold_out")]
        tasks.send_notifications.apply(args=[ids]).get()
    assert endpoint.got and "sold out" in endpoint.got[-1].form()["title"][0].lower()


def test_the_address_guard_refuses_private_targets_unless_the_operator_allows_them(db, catalogue, alert_env):
    refused = ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.8/x", "http://[::1]/x",
               "http://169.254.169.254/latest/meta-data", "ftp://example.com/x", "http://user:pw@example.com/x"]
    with db.begin() as conn:
        for url in refused:
            with pytest.raises(InputError):
                channels.add_channel(conn, catalogue.user_id, "webhook", url)
        for url in ("json://127.0.0.1:9/x", "ntfy://192.168.1.5/topic", "mailto://me:pw@example.com",
                    "nonsense", "gotify://localhost/token"):
            with pytest.raises(InputError):
                channels.add_channel(conn, catalogue.user_id, "apprise", url)
    # at delivery time too: a name that now resolves privately (rebinding) is refused, not fetched
    with pytest.raises(targets.TargetError) as refusal:
        targets.post_webhook("http://127.0.0.1:9/hook", "s", {}, delivery="d", event="test", timeout=1,
                             allow_private=False, user_agent="t")
    assert not refusal.value.transient and "refused" in str(refusal.value)
    with receiver() as endpoint, pytest.raises(targets.TargetError) as apprise_refusal:
        targets.apprise_notify(f"json://localhost:{endpoint.url.rsplit(':', 1)[1]}/x", "t", "b",
                               allow_private=False, timeout=2)
    assert not apprise_refusal.value.transient and not endpoint.got
    # the guard pins the connection to the vetted address: Apprise's requests go through it
    with receiver() as endpoint:
        targets.apprise_notify(f"json://localhost:{endpoint.url.rsplit(':', 1)[1]}/x", "t", "b",
                               allow_private=True, timeout=2)
    assert len(endpoint.got) == 1


def test_a_webhook_failing_in_a_row_is_disabled_its_alerts_suppressed_and_its_owner_emailed(
        db, catalogue, aws, local_channels, monkeypatch):
    monkeypatch.setenv("PRICEHOUND_CHANNEL_MAX_FAILURES", "2")
    from pricehound.config import get_settings

    get_settings.cache_clear()
    with receiver() as hook:
        channel, secret = webhook_channel(db, catalogue.user_id, hook.url + "/h")
        hook.secret = secret
        assert channels.send_test(db, catalogue.user_id, channel.id).channel.status == "verified"
        hook.status = 503
        with db.begin() as conn:
            event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "30.00")
        ids = evaluate_now(db, [event])
        webhook_id = next(r["id"] for r in rows(db) if r["channel"] == "webhook")
        first = send.send_notifications(ids)
        assert webhook_id in first.retry_ids  # a 503 is retried with backoff
        with db.begin() as conn:
            state = conn.execute(sa.text("SELECT status, consecutive_failures FROM user_channels WHERE id = :id"),
                                 {"id": channel.id}).one()
        assert tuple(state) == ("verified", 1)
        second = send.send_notifications([webhook_id], ignore_send_after=True)
        assert len(hook.got) == 3 and all(r.signature_ok for r in hook.got)
    with db.begin() as conn:
        state = conn.execute(sa.text("SELECT status, consecutive_failures, last_error FROM user_channels WHERE id = :id"),
                             {"id": channel.id}).one()
    assert state.status == "disabled" and state.consecutive_failures == 2 and "503" in state.last_error
    by_id = {r["id"]: r for r in rows(db)}
    assert webhook_id in second.retry_ids  # given back, then suppressed with its channel
    assert by_id[webhook_id]["status"] == "suppressed" and "disabled" in by_id[webhook_id]["last_error"]
    assert not send.send_notifications([webhook_id], ignore_send_after=True).sent
    notice = [r for r in rows(db) if r["kind"] == "channel_disabled"]
    assert len(notice) == 1
    tasks.send_notifications.apply(args=[[notice[0]["id"]]]).get()
    subjects = [str(email.message_from_string(m.raw_data, policy=policy.default)["Subject"]) for m in sent_messages()]
    assert any("webhook channel was turned off" in s for s in subjects)


def test_each_channel_gets_an_alert_once_when_two_workers_evaluate_and_send_the_same_rows(
        db, catalogue, aws, local_channels):
    with receiver() as hook:
        channel, secret = webhook_channel(db, catalogue.user_id, hook.url + "/h")
        hook.secret = secret
        channels.send_test(db, catalogue.user_id, channel.id)
        hook.got.clear()
        with db.begin() as conn:
            event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
        barrier = threading.Barrier(2)
        made: list[list[int]] = []

        def worker():
            barrier.wait()
            ids = evaluate_now(db, [event])
            made.append(ids)
            barrier.wait()
            tasks.send_notifications.apply(args=[sorted({i for m in made for i in m})])

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(len(m) for m in made) == [0, 2]  # one evaluation made both rows
    assert len(hook.got) == 1 and hook.got[0].signature_ok
    assert len(sent_messages()) == 1
    assert [r["status"] for r in rows(db)] == ["sent", "sent"]


def test_removing_a_channel_removes_what_it_still_owed_and_email_goes_on(db, catalogue, aws, local_channels):
    with receiver() as hook:
        channel, secret = webhook_channel(db, catalogue.user_id, hook.url + "/h")
        channels.send_test(db, catalogue.user_id, channel.id)
        with db.begin() as conn:
            event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
        ids = evaluate_now(db, [event])
        with db.begin() as conn:
            assert channels.remove_channel(conn, catalogue.user_id, channel.id).id == channel.id
            assert channels.list_channels(conn, catalogue.user_id) == []
        tasks.send_notifications.apply(args=[ids]).get()
        assert len(hook.got) == 1  # only the test
    assert [(r["channel"], r["status"]) for r in rows(db)] == [("email", "sent")]


def test_a_reserving_limiter_gives_each_caller_its_own_slot_spaced_by_the_rate(redis_client):
    from decimal import Decimal

    from alerts import ratelimit

    gate = ratelimit.ReservingRateLimiter(redis_client, Decimal(2), key="pricehound:test:reserve")
    waits = [int(gate._reserve(keys=[gate.key], args=[gate.interval_us])) for _ in range(3)]
    assert waits[0] == 0 and waits[0] < waits[1] < waits[2] <= 2 * gate.interval_us
    assert waits[2] - waits[1] > gate.interval_us // 2
    with pytest.raises(ratelimit.RateLimitTimeout):
        gate.acquire(timeout=0.1)  # the next free slot is over a second away
