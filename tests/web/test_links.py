"""The links in emails: verify, one-time sign-in, manage; forged, expired and reused tokens refused."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alerts import links
from pricehound import clock, tokens
from tests.web.conftest import make_user


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


def _sessions(db) -> int:
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM web_sessions")).scalar_one()


def test_verify_link_confirms_the_address_and_signs_in_when_its_button_is_pressed(client, db, settings):
    user_id = make_user(db, "new@example.com", verified=False)
    token = _token(links.verify_url(user_id, settings))
    page = client.get(f"/verify?token={token}")
    assert page.status_code == 200 and 'action="/verify"' in page.text and 'id="confirm"' in page.text
    assert _sessions(db) == 0
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT verified_at FROM users")).scalar_one() is None
    r = client.post("/verify", data={"token": token})
    assert r.status_code == 200
    assert "Your address is confirmed" in r.text
    cookie = r.headers["set-cookie"]
    assert "ph_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT verified_at IS NOT NULL FROM users")).scalar_one()
    assert client.get("/v1/me").json()["email"] == "new@example.com"


def _forged(settings, purpose: str, user_id: int) -> list[str]:
    good = tokens.sign(purpose, {"u": user_id}, settings.signing_secret, max_age=600)
    _body, mac = good.split(".")
    swapped = tokens._b64(json.dumps({"d": {"u": 1}, "p": purpose}).encode())
    return [
        tokens.sign(purpose, {"u": user_id}, "some-other-secret", max_age=600),  # wrong key
        f"{swapped}.{mac}",  # body swapped
        tokens.sign("unsubscribe", {"u": user_id, "w": None}, settings.signing_secret, max_age=600),  # purpose
        tokens.sign(purpose, {"u": user_id}, settings.signing_secret, max_age=1, now=time.time() - 60),  # expired
        tokens.sign(purpose, {"u": "1 OR 1=1"}, settings.signing_secret, max_age=600),  # bad payload
        "garbage", "",
    ]


@pytest.mark.parametrize("purpose", ["verify", "login", "manage"])
def test_forged_expired_and_cross_purpose_tokens_are_refused(client, db, settings, purpose):
    user_id = make_user(db, "ann@example.com", verified=False)
    for bad in _forged(settings, purpose, user_id):
        r = client.get(f"/{purpose}", params={"token": bad})
        if purpose == "manage" and not bad:  # no token at all: the sign-in page
            assert r.headers["location"] == "/signin?next=/manage"
            continue
        assert r.status_code == 400, bad
        assert "text/html" in r.headers["content-type"]
        assert "set-cookie" not in r.headers or "ph_session" not in r.headers["set-cookie"]
        post_to = {"verify": "/verify", "login": "/login", "manage": "/manage/open"}[purpose]
        assert client.post(post_to, data={"token": bad}).status_code == 400
        if purpose == "login":
            assert client.post("/v1/session", json={"token": bad}).status_code == (400 if bad else 422)
    expired = _forged(settings, purpose, user_id)[3]
    assert "expired" in client.get(f"/{purpose}", params={"token": expired}).text
    assert _sessions(db) == 0
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT verified_at FROM users")).scalar_one() is None


def test_login_link_shows_a_button_and_works_once(client, db, settings):
    user_id = make_user(db, "ann@example.com")
    token = _token(links.login_url(user_id, settings))
    # opening the link (as a mail scanner would) uses nothing up
    for _ in range(2):
        page = client.get("/login", params={"token": token})
        assert page.status_code == 200 and 'id="sign-in"' in page.text
    assert _sessions(db) == 0
    r = client.post("/login", data={"token": token})
    assert r.status_code == 303 and r.headers["location"] == "/manage"
    assert client.get("/v1/me").json()["id"] == user_id
    # reused: refused everywhere
    client.cookies.clear()
    again = client.post("/login", data={"token": token})
    assert again.status_code == 400 and "already used" in again.text
    reopened = client.get("/login", params={"token": token})
    assert 'value="ann@example.com"' in reopened.text and "already used" in reopened.text
    assert client.post("/v1/session", json={"token": token}).status_code == 400
    assert _sessions(db) == 1


@pytest.mark.parametrize("target,expected", [
    ("/manage?after=5", "/manage?after=5"),
    ("https://evil.example/", "/manage"),
    ("//evil.example/x", "/manage"),
    ("/\\evil.example", "/manage"),
    ("/\t/evil.example", "/manage"),
    ("javascript:alert(1)", "/manage"),
    ("", "/manage"),
])
def test_sign_in_only_redirects_to_paths_on_this_site(client, db, settings, target, expected):
    user_id = make_user(db, "ann@example.com")
    r = client.post("/login", data={"token": _token(links.login_url(user_id, settings)), "next": target})
    assert r.status_code == 303
    assert r.headers["location"] == expected


def test_session_api_exchanges_a_login_token_for_a_cookie_and_signs_out(client, db, settings):
    user_id = make_user(db, "ann@example.com", name="Ann")
    r = client.post("/v1/session", json={"token": _token(links.login_url(user_id, settings))})
    assert r.status_code == 200
    assert r.json() == {"id": user_id, "email": "ann@example.com", "name": "Ann"}
    assert client.get("/v1/me").status_code == 200
    assert client.delete("/v1/session").status_code == 204
    assert _sessions(db) == 0
    assert client.get("/v1/me").status_code == 401


def test_manage_link_opens_a_session_and_drops_the_token_from_the_address(client, db, settings):
    user_id = make_user(db, "ann@example.com")
    token = _token(links.manage_url(user_id, settings))
    assert 'action="/manage/open"' in client.get(f"/manage?token={token}").text
    r = client.post("/manage/open", data={"token": token})
    assert r.status_code == 303 and r.headers["location"] == "/manage"
    page = client.get("/manage")
    assert page.status_code == 200 and "Your watches" in page.text


def test_links_of_disabled_users_open_nothing(client, db, settings):
    user_id = make_user(db, "ann@example.com")
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET status = 'disabled'"))
    assert client.post("/manage/open", data={"token": _token(links.manage_url(user_id, settings))}).status_code == 400
    assert client.post("/login", data={"token": _token(links.login_url(user_id, settings))}).status_code == 400
    assert _sessions(db) == 0


def test_expired_and_signed_out_sessions_are_refused(client, db, settings, user_id):
    from tests.web.conftest import sign_in

    token = sign_in(client, db, settings, user_id)
    assert client.get("/v1/me").status_code == 200
    with clock.shifted(timedelta(days=30)):  # a session lives 14 days
        r = client.get("/v1/me")
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert client.get("/manage").headers["location"] == "/signin?next=/manage"
    assert token


def test_sign_out_form_needs_the_csrf_token(user_client, db):
    assert user_client.post("/logout", data={}).status_code == 403
    page = user_client.get("/manage")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = user_client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/signin?msg=signed_out"
    assert _sessions(db) == 0


def test_sign_in_page_sends_a_link_with_the_same_answer_for_every_address(client, db):
    make_user(db, "known@example.com")
    page = client.get("/signin?next=/manage")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    bodies = []
    for email in ("known@example.com", "unknown@example.com"):
        r = client.post("/signin", data={"email": email, "csrf_token": csrf, "next": "/manage"})
        assert r.status_code == 200
        bodies.append(r.text)
    assert bodies[0] == bodies[1]
    assert client.post("/signin", data={"email": "x@example.com"}).status_code == 403  # no CSRF token
    bad = client.post("/signin", data={"email": "nope", "csrf_token": csrf})
    assert bad.status_code == 422 and "not an email address" in bad.text
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one() == 2
