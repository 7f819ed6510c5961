"""Noise control: quiet hours in the user's zone, a daily cap and digest schedules, on a frozen
clock; held alerts go out as one digest per channel when their time comes, none dropped or doubled."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from alerts import channels, evaluate, noise, outbox, send, tasks
from pricehound import clock
from pricehound.catalog import InputError

from .conftest import add_event, make_listing, make_watch, sent_messages
from .receivers import receiver

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


# -- the rules, on their own ------------------------------------------------------------------

def test_quiet_hours_across_midnight_hold_until_they_end_in_the_users_zone():
    prefs = noise.Prefs("Europe/Berlin", time(22), time(7))
    hold, when = noise.decide(at(BERLIN, 2026, 12, 5, 23, 30), prefs, over_cap=False)
    assert hold == "quiet" and when == at(BERLIN, 2026, 12, 6, 7, 0)
    hold, when = noise.decide(at(BERLIN, 2026, 12, 6, 6, 59), prefs, over_cap=False)
    assert hold == "quiet" and when == at(BERLIN, 2026, 12, 6, 7, 0)
    assert noise.decide(at(BERLIN, 2026, 12, 6, 7, 0), prefs, over_cap=False) == (
        "now", at(BERLIN, 2026, 12, 6, 7, 0).astimezone(timezone.utc))
    # quiet hours within one day
    lunch = noise.Prefs("UTC", time(12), time(13, 30))
    assert noise.decide(at(timezone.utc, 2026, 1, 1, 12, 10), lunch, over_cap=False)[1] == at(timezone.utc, 2026, 1, 1, 13, 30)
    assert noise.decide(at(timezone.utc, 2026, 1, 1, 11, 59), lunch, over_cap=False)[0] == "now"


def test_digest_times_hourly_daily_weekly_and_a_digest_inside_quiet_hours_moves_to_their_end():
    now = at(BERLIN, 2026, 12, 2, 9, 15)  # a Wednesday
    assert noise.decide(now, noise.Prefs("Europe/Berlin", digest="hourly"), over_cap=False) == (
        "digest", at(BERLIN, 2026, 12, 2, 10, 0).astimezone(timezone.utc))
    assert noise.decide(now, noise.Prefs("Europe/Berlin", digest="daily", digest_hour=8), over_cap=False)[1] == \
        at(BERLIN, 2026, 12, 3, 8, 0)
    assert noise.decide(now, noise.Prefs("Europe/Berlin", digest="weekly", digest_hour=8), over_cap=False)[1] == \
        at(BERLIN, 2026, 12, 7, 8, 0)  # next Monday
    early = noise.Prefs("Europe/Berlin", time(22), time(9), digest="daily", digest_hour=6)
    assert noise.decide(now, early, over_cap=False) == ("digest", at(BERLIN, 2026, 12, 3, 9, 0).astimezone(timezone.utc))


def test_hourly_digests_follow_the_wall_clock_across_a_daylight_saving_change():
    before = at(NEW_YORK, 2026, 3, 8, 1, 30)  # clocks jump from 02:00 to 03:00
    when = noise.decide(before, noise.Prefs("America/New_York", digest="hourly"), over_cap=False)[1]
    assert when - before.astimezone(timezone.utc) == timedelta(minutes=30)
    assert when.astimezone(NEW_YORK).hour == 3


def test_over_the_cap_waits_for_the_next_daily_digest_hour_and_settings_are_checked():
    prefs = noise.Prefs("UTC", daily_cap=3, digest_hour=8)
    assert noise.decide(at(timezone.utc, 2026, 1, 1, 12), prefs, over_cap=True) == (
        "cap", at(timezone.utc, 2026, 1, 2, 8))
    assert noise.decide(at(timezone.utc, 2026, 1, 1, 7), prefs, over_cap=True)[1] == at(timezone.utc, 2026, 1, 1, 8)
    with pytest.raises(InputError):
        noise.zone("Mars/Olympus")
    for bad in ("22:00", "late-early", "22:00-22:00"):
        with pytest.raises(InputError):
            noise.parse_quiet(bad)
    assert noise.parse_quiet("22-07") == (time(22), time(7)) and noise.parse_quiet("off") == (None, None)


# -- through the outbox -------------------------------------------------------------------------

@pytest.fixture()
def captured(monkeypatch):
    """What the release task hands to the send queue."""
    out: list[int] = []
    monkeypatch.setattr(outbox, "enqueue_send", lambda ids, countdown=None, user_ids=None: out.extend(ids) or 1)
    return out


def evaluate_now(db, ids):
    return evaluate.evaluate_events(db, ids, cooldown_seconds=0, window_seconds=0).notification_ids


def holds(db):
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT channel, status, hold, digest_key IS NOT NULL FROM notifications "
            "WHERE kind NOT IN ('verify', 'login') ORDER BY id"))]


def test_alerts_in_quiet_hours_are_held_then_sent_as_one_digest_per_channel_when_they_end(
        db, catalogue, aws, captured, monkeypatch):
    monkeypatch.setenv("PRICEHOUND_CHANNEL_ALLOW_PRIVATE", "1")
    from pricehound.config import get_settings

    get_settings.cache_clear()
    with db.begin() as conn:
        noise.set_prefs(conn, catalogue.user_id, time_zone="Europe/Berlin", quiet="22:00-07:00")
        second = make_listing(conn, catalogue.store_id, "mug", "Mug", Decimal("10.00"))
        make_watch(conn, catalogue.user_id, listing_id=second)
    with receiver() as hook:
        with db.begin() as conn:
            channel, hook.secret = channels.add_channel(conn, catalogue.user_id, "webhook", hook.url + "/h")
        channels.send_test(db, catalogue.user_id, channel.id)
        hook.got.clear()
        with clock.frozen(at(BERLIN, 2026, 12, 5, 23, 10)):
            with db.begin() as conn:
                events = [add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00"),
                          add_event(conn, second, "price_drop", "10.00", "5.00")]
            ids = evaluate_now(db, events)
            assert len(ids) == 4
            outcome = send.send_notifications(ids)
            assert not outcome.sent and not hook.got and not sent_messages()
            assert sorted(h[:3] for h in holds(db)) == [("email", "pending", "quiet")] * 2 + [("webhook", "pending", "quiet")] * 2
            assert tasks.release_held.run() == 0  # nothing due yet
        with clock.frozen(at(BERLIN, 2026, 12, 6, 6, 59)):
            assert tasks.release_held.run() == 0
            assert not send.send_notifications(ids).sent
        with clock.frozen(at(BERLIN, 2026, 12, 6, 7, 0, 30)):
            assert tasks.release_held.run() == 4
            sent = send.send_notifications(captured)
            again = send.send_notifications(captured)  # a second delivery of the task sends nothing
        assert sorted(sent.sent) == sorted(ids) and not again.sent and sent.messages == 2
    assert len(sent_messages()) == 1 and len(hook.got) == 1
    body = hook.got[0].json()
    assert body["digest"] is True and len(body["alerts"]) == 2 and hook.got[0].signature_ok
    with db.connect() as conn:
        keys = conn.execute(sa.text("SELECT channel, count(DISTINCT digest_key) FROM notifications GROUP BY channel")).all()
    assert sorted(tuple(k) for k in keys) == [("email", 1), ("webhook", 1)]


def test_a_daily_cap_tells_the_first_alerts_at_once_and_rolls_the_rest_into_the_next_digest(
        db, catalogue, aws, captured):
    with db.begin() as conn:
        noise.set_prefs(conn, catalogue.user_id, daily_cap=1, digest_hour=8)
        second = make_listing(conn, catalogue.store_id, "mug", "Mug", Decimal("10.00"))
        make_watch(conn, catalogue.user_id, listing_id=second)
        third = make_listing(conn, catalogue.store_id, "pan", "Pan", Decimal("30.00"))
        make_watch(conn, catalogue.user_id, listing_id=third)
    noon = at(timezone.utc, 2026, 12, 5, 12, 0)
    with clock.frozen(noon):
        with db.begin() as conn:
            first = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
        assert len(send.send_notifications(evaluate_now(db, [first])).sent) == 1
    with clock.frozen(noon + timedelta(hours=2)):
        with db.begin() as conn:
            more = [add_event(conn, second, "price_drop", "10.00", "5.00"),
                    add_event(conn, third, "price_drop", "30.00", "15.00")]
        assert not send.send_notifications(evaluate_now(db, more)).sent
        assert [h[2] for h in holds(db)] == ["now", "cap", "cap"]
    with clock.frozen(at(timezone.utc, 2026, 12, 6, 8, 0, 5)):
        assert tasks.release_held.run() == 2
        digest = send.send_notifications(captured)
        assert len(digest.sent) == 2 and digest.messages == 1
        with db.begin() as conn:  # a new day: the cap starts again
            fourth = add_event(conn, catalogue.listing_id, "price_drop", "20.00", "10.00")
        assert len(send.send_notifications(evaluate_now(db, [fourth])).sent) == 1
    assert len(sent_messages()) == 3
    assert [h[1] for h in holds(db)] == ["sent"] * 4


def test_an_hourly_digest_gathers_the_hours_alerts_and_the_api_of_settings_round_trips(db, catalogue, aws, captured):
    with db.begin() as conn:
        prefs = noise.set_prefs(conn, catalogue.user_id, digest="hourly", time_zone="Asia/Kolkata")
        assert noise.describe(prefs)["digest"] == "hourly" and prefs.time_zone == "Asia/Kolkata"
        with pytest.raises(InputError):
            noise.set_prefs(conn, catalogue.user_id, digest="fortnightly")
    with clock.frozen(at(ZoneInfo("Asia/Kolkata"), 2026, 12, 5, 10, 20)):
        with db.begin() as conn:
            event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
        ids = evaluate_now(db, [event])
        assert not send.send_notifications(ids).sent
    with clock.frozen(at(ZoneInfo("Asia/Kolkata"), 2026, 12, 5, 11, 0, 1)):
        tasks.release_held.run()
        assert send.send_notifications(captured).sent == ids
