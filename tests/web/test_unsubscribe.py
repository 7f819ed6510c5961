"""One-click unsubscribe (RFC 8058): a confirmation page on GET, immediate and idempotent on POST
with no cookie, session or CSRF token."""

from __future__ import annotations

import time

import sqlalchemy as sa
from fastapi.testclient import TestClient

from alerts import links
from pricehound import tokens
from tests.web.conftest import add_priced_watch, make_user


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


def _state(db) -> tuple[list[bool], list[str]]:
    with db.connect() as conn:
        active = [r.active for r in conn.execute(sa.text("SELECT active FROM shopping_list_items ORDER BY id"))]
        suppressed = [r.reason for r in conn.execute(sa.text("SELECT reason FROM email_suppressions"))]
    return active, suppressed


def test_get_shows_a_button_and_changes_nothing(client, db, settings, store):
    user_id = make_user(db, "ann@example.com")
    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(1, "5.00")], title="Blue Kettle")
    page = client.get(f"/unsubscribe?token={_token(links.unsubscribe_url(user_id, watch.watch_id, settings))}")
    assert page.status_code == 200
    assert "Blue Kettle" in page.text and 'id="unsubscribe"' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    everything = client.get(f"/unsubscribe?token={_token(links.unsubscribe_url(user_id, None, settings))}")
    assert "ann@example.com" in everything.text
    assert _state(db) == ([True], [])


def test_one_click_post_without_cookies_stops_one_watch_idempotently(app, db, settings, store):
    user_id = make_user(db, "ann@example.com")
    first = add_priced_watch(db, "ann@example.com", 1, prices=[(1, "5.00")])
    add_priced_watch(db, "ann@example.com", 2, prices=[(1, "6.00")])
    url = f"/unsubscribe?token={_token(links.unsubscribe_url(user_id, first.watch_id, settings))}"
    for _ in range(2):
        with TestClient(app) as mail_client:  # a fresh client: no cookies at all
            r = mail_client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 200, r.text
        assert "set-cookie" not in r.headers
        assert _state(db) == ([False, True], [])


def test_one_click_post_for_everything_suppresses_the_address_and_stops_every_watch(client, db, settings, store):
    user_id = make_user(db, "Ann@Example.com")
    for n in (1, 2, 3):
        add_priced_watch(db, "Ann@Example.com", n, prices=[(1, "5.00")])
    url = f"/unsubscribe?token={_token(links.unsubscribe_url(user_id, None, settings))}"
    for _ in range(2):
        r = client.post(url, files={"List-Unsubscribe": (None, "One-Click")})  # multipart, as some clients send
        assert r.status_code == 200
    assert _state(db) == ([False, False, False], ["unsubscribe"])
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT email FROM email_suppressions")).scalar_one() == "ann@example.com"


def test_token_may_come_in_the_form_body(client, db, settings, store):
    user_id = make_user(db, "ann@example.com")
    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(1, "5.00")])
    token = _token(links.unsubscribe_url(user_id, watch.watch_id, settings))
    assert client.post("/unsubscribe", data={"token": token, "List-Unsubscribe": "One-Click"}).status_code == 200
    assert _state(db) == ([False], [])


def test_forged_expired_and_other_purpose_tokens_unsubscribe_nothing(client, db, settings, store):
    user_id = make_user(db, "ann@example.com")
    watch = add_priced_watch(db, "ann@example.com", 1, prices=[(1, "5.00")])
    secret = settings.signing_secret
    bad_tokens = [
        tokens.sign("unsubscribe", {"u": user_id, "w": None}, "wrong-secret", max_age=None),
        tokens.sign("unsubscribe", {"u": user_id, "w": None}, secret, max_age=1, now=time.time() - 60),
        tokens.sign("manage", {"u": user_id}, secret, max_age=600),
        tokens.sign("unsubscribe", {"u": str(user_id), "w": None}, secret, max_age=600),
        tokens.sign("unsubscribe", {"u": user_id, "w": "all"}, secret, max_age=600),
        "x" * 5000, "", "a.b",
    ]
    for bad in bad_tokens:
        assert client.post("/unsubscribe", params={"token": bad},
                           data={"List-Unsubscribe": "One-Click"}).status_code == 400
        assert client.get("/unsubscribe", params={"token": bad}).status_code == 400
    assert _state(db) == ([True], [])
    assert watch


def test_a_token_for_someone_elses_watch_changes_nothing(client, db, settings, store):
    make_user(db, "bob@example.com")
    bobs = add_priced_watch(db, "bob@example.com", 1, prices=[(1, "5.00")])
    mallory = make_user(db, "mallory@example.com")
    token = _token(links.unsubscribe_url(mallory, bobs.watch_id, settings))
    assert client.post("/unsubscribe", params={"token": token}, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert _state(db) == ([True], [])
