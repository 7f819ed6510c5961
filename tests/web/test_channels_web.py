"""Channels and noise settings over the API (/v1/channels, /v1/noise) and the manage page
(/manage/channels), against a local webhook receiver."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.alerts.receivers import receiver

from .conftest import sign_in


@pytest.fixture()
def local_client(settings, db, redis_client, web_env, user_id):
    """The app as an operator who allows channel targets on this machine runs it, signed in."""
    from web.app import create_app

    app = create_app(settings.with_overrides(channel_allow_private=True))
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        sign_in(c, db, settings, user_id)
        yield c


def test_api_adds_tests_routes_lists_and_removes_a_webhook_channel(local_client):
    with receiver() as hook:
        r = local_client.post("/v1/channels", json={"kind": "webhook", "target": hook.url + "/h", "label": "home",
                                                    "alert_kinds": ["sold_out"]})
        assert r.status_code == 201, r.text
        created = r.json()
        channel, hook.secret = created["channel"], created["secret"]
        assert channel["status"] == "unverified" and channel["alert_kinds"] == ["sold_out"]
        r = local_client.post(f"/v1/channels/{channel['id']}/test")
        assert r.status_code == 200 and r.json()["delivered"] and r.json()["channel"]["status"] == "verified"
        assert hook.got[0].signature_ok
    r = local_client.put(f"/v1/channels/{channel['id']}/routing", json={"alert_kinds": ["price_drop", "removed"]})
    assert r.json()["alert_kinds"] == ["price_drop", "removed"]
    listed = local_client.get("/v1/channels").json()
    assert [c["id"] for c in listed] == [channel["id"]] and "secret" not in listed[0]
    assert local_client.post("/v1/channels", json={"kind": "webhook", "target": hook.url + "/h"}).status_code == 422
    assert local_client.delete(f"/v1/channels/{channel['id']}").status_code == 204
    assert local_client.get("/v1/channels").json() == []
    assert local_client.post(f"/v1/channels/{channel['id']}/test").status_code == 422


def test_api_refuses_private_targets_by_default_and_needs_a_session(user_client, client):
    r = user_client.post("/v1/channels", json={"kind": "webhook", "target": "http://127.0.0.1:9/h"})
    assert r.status_code == 422 and "refusing" in r.json()["message"]
    r = user_client.post("/v1/channels", json={"kind": "apprise", "target": "mailto://a:b@example.com"})
    assert r.status_code == 422
    client.cookies.clear()
    assert client.get("/v1/channels").status_code == 401


def test_api_noise_settings_round_trip_and_refuse_unknown_zones(user_client):
    assert user_client.get("/v1/noise").json() == {"time_zone": "UTC", "quiet_hours": None, "daily_cap": None,
                                                   "digest": "immediate", "digest_hour": 8}
    r = user_client.put("/v1/noise", json={"time_zone": "Europe/Paris", "quiet_hours": "22:30-06:45", "daily_cap": 5,
                                           "digest": "daily"})
    assert r.json() == {"time_zone": "Europe/Paris", "quiet_hours": "22:30-06:45", "daily_cap": 5, "digest": "daily",
                        "digest_hour": 8}
    assert user_client.put("/v1/noise", json={"quiet_hours": None, "daily_cap": None}).json()["quiet_hours"] is None
    assert user_client.put("/v1/noise", json={"time_zone": "Atlantis/Capital"}).status_code == 422
    assert user_client.get("/v1/noise").json()["digest"] == "daily"


def test_manage_page_adds_a_webhook_shows_its_secret_once_tests_it_and_saves_quiet_hours(local_client):
    page = local_client.get("/manage/channels")
    assert page.status_code == 200 and "Where alerts go" in page.text
    assert "/manage/channels" in local_client.get("/manage").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    with receiver() as hook:
        r = local_client.post("/manage/channels", data={"csrf_token": csrf, "kind": "webhook", "target": hook.url + "/p"})
        assert r.status_code == 200
        hook.secret = re.search(r'<code id="secret">([^<]+)</code>', r.text).group(1)
        channel_id = re.search(r'id="channel-(\d+)"', r.text).group(1)
        assert hook.secret not in local_client.get("/manage/channels").text
        r = local_client.post(f"/manage/channels/{channel_id}/test", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"].endswith("msg=verified")
        assert hook.got[0].signature_ok
    r = local_client.post("/manage/noise", data={"csrf_token": csrf, "time_zone": "Europe/Berlin", "quiet": "22:00-07:00",
                                                 "daily_cap": "3", "digest": "immediate", "digest_hour": "8"})
    assert r.status_code == 303
    assert local_client.get("/v1/noise").json()["quiet_hours"] == "22:00-07:00"
    assert local_client.post("/manage/noise", data={"csrf_token": "forged", "time_zone": "UTC"}).status_code in (400, 403)
