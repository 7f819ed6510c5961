"""A partner API key speaks for a partner site, not for the user: it creates new watches only,
each inactive until the user confirms it through a link in an email that names the partner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from alerts import links
from pricehound import catalog, tokens
from tests.web.conftest import make_user, notifications, product_url
from web import apikeys
from web import unsubscribe as unsubscribe_actions


@pytest.fixture()
def key(db) -> Iterator[str]:
    with db.begin() as conn:
        _, value = apikeys.create_key(conn, "Acme Shop")
    yield value
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM api_keys"))


def _post(client, key: str, **body):
    return client.post("/v1/partner/watches", headers={"authorization": f"Bearer {key}"},
                       json={"email": "ann@example.com", **body})


def _watch(db, watch_id: int):
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM shopping_list_items WHERE id = :id"), {"id": watch_id}).one()


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


def test_a_watch_the_user_stopped_is_never_reactivated_reset_or_widened(client, db, store, key):
    user_id = make_user(db, "ann@example.com")
    with db.begin() as conn:
        watch = catalog.add_watch(conn, email="ann@example.com", url=product_url(1), target_price="10.00",
                                  min_drop_percent="20", notify="sold_out")
        unsubscribe_actions.unsubscribe_watch(conn, user_id, watch.id)
    before = _watch(db, watch.id)
    for body in ({"url": product_url(1)}, {"url": product_url(1), "notify": ["sale", "price_rise"]},
                 {"url": product_url(1) + "?utm_source=partner", "target_price": None},
                 {"url": product_url(1), "list": "Another list"}):
        r = _post(client, key, **body)
        assert r.status_code == 409, r.text
        assert "nothing was changed" in r.json()["message"]
    after = _watch(db, watch.id)
    assert after == before and after.active is False
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM shopping_list_items")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT count(*) FROM shopping_lists")).scalar_one() == 1
    assert notifications(db) == []


@pytest.mark.parametrize("verified", [True, False])
def test_partner_watches_stay_inactive_until_the_user_confirms_the_link_naming_the_partner(
        app, client, db, store, key, settings, verified):
    make_user(db, "ann@example.com", verified=verified)
    r = _post(client, key, url=product_url(2), target_price="9.99")
    assert r.status_code == 201
    reply = r.json()
    assert reply["active"] is False
    assert "inactive" in reply["message"] and "Acme Shop" in reply["message"] and "confirm" in reply["message"]
    assert _watch(db, reply["id"]).active is False
    [mail] = notifications(db)
    assert mail.payload["partner"] == "Acme Shop"
    token = _token(mail.payload["link"])
    # opening the link (a scanner) changes nothing
    page = client.get("/partner/confirm", params={"token": token})
    assert page.status_code == 200 and "Acme Shop" in page.text and 'action="/partner/confirm"' in page.text
    assert _watch(db, reply["id"]).active is False
    # pressing the button starts it, once, without signing in
    done = client.post("/partner/confirm", data={"token": token})
    assert done.status_code == 200
    row = _watch(db, reply["id"])
    assert row.active is True and row.confirmed_at is not None
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT verified_at IS NOT NULL FROM users")).scalar_one()
        assert conn.execute(sa.text("SELECT count(*) FROM web_sessions")).scalar_one() == 0
    # the user stops it; the same link never turns it back on
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET active = false"))
    assert client.post("/partner/confirm", data={"token": token}).status_code == 400
    assert _watch(db, reply["id"]).active is False


def test_the_confirmation_email_names_the_partner(db, store, key, client):
    from alerts import render

    _post(client, key, url=product_url(3))
    [mail] = notifications(db)
    rendered = render.render_transactional("verify", {"user_name": None, "public_url": "http://x", **mail.payload})
    assert "Acme Shop" in rendered.subject and "Acme Shop" in rendered.text and "Acme Shop" in rendered.html
    assert product_url(3) in rendered.text and mail.payload["link"] in rendered.text


def test_confirm_links_for_other_users_or_purposes_are_refused(client, db, store, key, settings):
    _post(client, key, url=product_url(4))
    [mail] = notifications(db)
    watch_id = tokens.verify("partner_watch", _token(mail.payload["link"]), settings.signing_secret)["d"]["w"]
    other = make_user(db, "eve@example.com")
    forged = [
        _token(links.partner_watch_url(other, watch_id, settings)),  # someone else's user id
        tokens.sign("verify", {"u": other, "w": watch_id}, settings.signing_secret, max_age=600),
        tokens.sign("partner_watch", {"u": other, "w": 2**70}, settings.signing_secret, max_age=600),
        "garbage",
    ]
    for token in forged:
        assert client.get("/partner/confirm", params={"token": token}).status_code == 400
        assert client.post("/partner/confirm", data={"token": token}).status_code == 400
    assert _watch(db, watch_id).active is False
