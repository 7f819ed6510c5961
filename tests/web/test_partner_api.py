"""Partner sites: API keys stored hashed and revocable; their users still verify before any mail."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.web.conftest import make_user, notifications, product_url
from web import apikeys
from web.ratelimit import Limit, RateLimits


def _new_key(db, name: str = "Acme Shop") -> str:
    with db.begin() as conn:
        _, key = apikeys.create_key(conn, name)
    return key


def test_keys_are_stored_only_as_a_hash_and_a_short_prefix(db, make_app):
    key = _new_key(db)
    assert key.startswith("phk_") and len(key) > 40
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM api_keys")).one()
        dump = " ".join(str(v) for v in conn.execute(sa.text("SELECT * FROM api_keys")).one())
    assert bytes(row.key_hash) == hashlib.sha256(key.encode()).digest()
    assert row.prefix == key[4:12]
    assert key.split("_", 2)[2] not in dump


def test_partner_creates_inactive_watches_for_a_new_user_who_must_confirm_each(client, db, store):
    key = _new_key(db)
    headers = {"authorization": f"Bearer {key}"}
    for n in (1, 2):
        r = client.post("/v1/partner/watches", headers=headers,
                        json={"email": "shopper@example.com", "name": "Shopper", "url": product_url(n),
                              "target_price": "19.99"})
        assert r.status_code == 201, r.text
        assert r.json()["store"] == "local"
    with db.connect() as conn:
        user = conn.execute(sa.text("SELECT verified_at, name FROM users")).one()
        watches = conn.execute(sa.text("SELECT count(*) FROM shopping_list_items")).scalar_one()
        last_used = conn.execute(sa.text("SELECT last_used_at FROM api_keys")).scalar_one()
    assert user.verified_at is None and user.name == "Shopper" and watches == 2
    assert last_used is not None
    # one confirmation email per watch, naming the partner
    mails = notifications(db)
    assert [n.kind for n in mails] == ["verify", "verify"]
    assert all(n.payload["partner"] == "Acme Shop" and "/partner/confirm?token=" in n.payload["link"] for n in mails)


def test_partner_watch_for_a_verified_user_waits_for_confirmation_too(client, db, store):
    make_user(db, "ann@example.com")
    r = client.post("/v1/partner/watches", headers={"authorization": f"Bearer {_new_key(db)}"},
                    json={"email": "ann@example.com", "url": product_url(1)})
    assert r.status_code == 201 and r.json()["active"] is False
    assert [n.payload["partner"] for n in notifications(db)] == ["Acme Shop"]


def test_missing_unknown_and_revoked_keys_are_refused(client, db, store):
    key = _new_key(db)
    body = {"email": "shopper@example.com", "url": product_url(1)}
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer phk_nope_nope"},
                    {"authorization": f"Bearer {key}x"}):
        r = client.post("/v1/partner/watches", headers=headers, json=body)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    with db.begin() as conn:
        apikeys.revoke_key(conn, key[4:12])
        apikeys.revoke_key(conn, key)  # idempotent, and the whole key works as well as the prefix
    r = client.post("/v1/partner/watches", headers={"authorization": f"Bearer {key}"}, json=body)
    assert r.status_code == 401
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 0


def test_partner_input_is_validated(client, db, store):
    headers = {"authorization": f"Bearer {_new_key(db)}"}
    for body in ({"email": "nope", "url": product_url(1)}, {"email": "a@example.com", "url": "https://nowhere.example/p"},
                 {"email": "a@example.com"}):
        r = client.post("/v1/partner/watches", headers=headers, json=body)
        assert r.status_code == 422 and r.json()["message"], body
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM shopping_list_items")).scalar_one() == 0


def test_partner_requests_are_rate_limited_per_key(make_app, db, store):
    client = TestClient(make_app(rate_limits=RateLimits(partner_per_key=Limit("partner-key", 3, 60))))
    first, second = _new_key(db, "first"), _new_key(db, "second")
    codes = [client.post("/v1/partner/watches", headers={"authorization": f"Bearer {first}"},
                         json={"email": "a@example.com", "url": product_url(n)}).status_code
             for n in range(4)]
    assert codes == [201, 201, 201, 429]
    assert client.post("/v1/partner/watches", headers={"authorization": f"Bearer {second}"},
                       json={"email": "a@example.com", "url": product_url(9)}).status_code == 201


def test_apikeys_commands_create_list_and_revoke(run_cli, db):
    created = run_cli("apikeys", "create", "--name", "Acme Shop")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("phk_")
    listed = run_cli("apikeys", "list")
    assert key[4:12] in listed.stdout and "active" in listed.stdout and key not in listed.stdout
    revoked = run_cli("apikeys", "revoke", key[4:12])
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    missing = run_cli("apikeys", "revoke", "zzzzzzzz")
    assert missing.returncode == 2 and "no API key" in missing.stderr
    assert run_cli("apikeys", "create", "--name", " ").returncode == 2
