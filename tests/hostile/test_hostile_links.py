"""Every link in an email, through its whole life: opened by a mail scanner, used, reused,
after sign-out, after unsubscribe, expired, or carrying another purpose's token. No GET ever
opens a session; a link that signs in does so once."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from alerts import links
from pricehound import tokens
from tests.web.conftest import add_priced_watch, make_user

SIGN_IN = {  # purpose: (link builder, where its button posts)
    "verify": (links.verify_url, "/verify"),
    "login": (links.login_url, "/login"),
    "manage": (links.manage_url, "/manage/open"),
}


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


def _sessions(db) -> int:
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM web_sessions")).scalar_one()


def _scanner(app) -> TestClient:
    """A mail scanner or link preview: follows redirects, keeps no cookies between visits."""
    return TestClient(app, follow_redirects=True)


@pytest.mark.parametrize("purpose", SIGN_IN)
def test_a_scanner_opening_a_link_signs_no_one_in_and_uses_nothing_up(app, client, db, settings, purpose):
    user_id = make_user(db, "ann@example.com", verified=purpose != "verify")
    build, post_to = SIGN_IN[purpose]
    token = _token(build(user_id, settings))
    for _ in range(3):
        page = _scanner(app).get(f"/{purpose}", params={"token": token})
        assert page.status_code == 200 and f'action="{post_to}"' in page.text
        assert "ph_session" not in page.headers.get("set-cookie", "")
        _scanner(app).head(f"/{purpose}", params={"token": token})
    assert _sessions(db) == 0
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM used_link_tokens")).scalar_one() == 0
        verified = conn.execute(sa.text("SELECT verified_at IS NOT NULL FROM users")).scalar_one()
    assert verified is (purpose != "verify")
    # its owner still gets in, once
    assert client.post(post_to, data={"token": token}).status_code in (200, 303)
    assert client.get("/v1/me").json()["id"] == user_id
    assert _sessions(db) == 1


@pytest.mark.parametrize("purpose", SIGN_IN)
def test_a_used_link_opens_the_sign_in_page_prefilled_and_signs_in_no_more(app, client, db, settings, purpose):
    user_id = make_user(db, "ann@example.com")
    build, post_to = SIGN_IN[purpose]
    token = _token(build(user_id, settings))
    assert client.post(post_to, data={"token": token}).status_code in (200, 303)
    other = TestClient(app, follow_redirects=False)  # someone the mail was forwarded to
    again = other.post(post_to, data={"token": token})
    assert again.status_code == 400 and "already used" in again.text
    reopened = other.get(f"/{purpose}", params={"token": token})
    assert reopened.status_code == 200 and 'action="/signin"' in reopened.text
    assert 'value="ann@example.com"' in reopened.text
    assert other.get("/v1/me").status_code == 401
    assert _sessions(db) == 1


@pytest.mark.parametrize("purpose", SIGN_IN)
def test_after_sign_out_the_same_link_does_not_sign_back_in(client, db, settings, purpose):
    user_id = make_user(db, "ann@example.com")
    build, post_to = SIGN_IN[purpose]
    token = _token(build(user_id, settings))
    client.post(post_to, data={"token": token})
    assert client.delete("/v1/session").status_code == 204
    assert client.post(post_to, data={"token": token}).status_code == 400
    assert client.get("/v1/me").status_code == 401 and _sessions(db) == 0


@pytest.mark.parametrize("purpose", SIGN_IN)
def test_expired_and_other_purposes_tokens_are_refused_on_get_and_post(client, db, settings, purpose):
    user_id = make_user(db, "ann@example.com")
    _build, post_to = SIGN_IN[purpose]
    expired = tokens.sign(purpose, {"u": user_id}, settings.signing_secret, max_age=1, now=time.time() - 60)
    others = [tokens.sign(p, {"u": user_id}, settings.signing_secret, max_age=600)
              for p in ("verify", "login", "manage", "unsubscribe", "partner_watch") if p != purpose]
    page = client.get(f"/{purpose}", params={"token": expired})
    assert page.status_code == 400 and "expired" in page.text
    assert client.post(post_to, data={"token": expired}).status_code == 400
    for token in others:
        assert client.get(f"/{purpose}", params={"token": token}).status_code == 400
        assert client.post(post_to, data={"token": token}).status_code == 400
    assert _sessions(db) == 0


def test_manage_link_after_unsubscribe_still_signs_in_once_and_unsubscribe_keeps_working(
        app, client, db, settings, store):
    user_id = make_user(db, "ann@example.com")
    add_priced_watch(db, "ann@example.com", 1, prices=[(1, "5.00")])
    manage = _token(links.manage_url(user_id, settings))
    everything = _token(links.unsubscribe_url(user_id, None, settings))
    mail_client = TestClient(app)  # RFC 8058: the mail client posts with no cookie and no CSRF token
    for _ in range(2):
        r = mail_client.post(f"/unsubscribe?token={everything}", data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 200
    assert _sessions(db) == 0
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT bool_or(active) FROM shopping_list_items")).scalar_one() is False
    assert client.post("/manage/open", data={"token": manage}).status_code == 303
    assert client.get("/manage").status_code == 200
    assert client.post("/manage/open", data={"token": manage}).status_code == 400


def test_no_get_anywhere_creates_a_session(app, db, settings, store):
    user_id = make_user(db, "ann@example.com")
    add_priced_watch(db, "ann@example.com", 1, prices=[(1, "5.00")])
    urls = [build(user_id, settings) for build, _ in SIGN_IN.values()]
    urls += [links.unsubscribe_url(user_id, None, settings), links.unsubscribe_url(user_id, 1, settings)]
    scanner = _scanner(app)
    for url in urls:
        path = url.replace(settings.public_url, "")
        scanner.get(path)
        scanner.get(path + "&next=/manage")
    assert _sessions(db) == 0
