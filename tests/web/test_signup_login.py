"""Sign-up and sign-in by email: always 202, one email each, no user enumeration, rate-limited."""

from __future__ import annotations

import base64
import json

import sqlalchemy as sa

from pricehound import tokens
from tests.web.conftest import make_user, notifications


def _link_token(row) -> str:
    return row.payload["link"].split("token=", 1)[1]


def test_signup_creates_an_unverified_user_and_queues_a_verification_email(client, db, settings, redis_client):
    r = client.post("/v1/signup", json={"email": "New.Person@Example.COM", "name": "New"})
    assert r.status_code == 202
    assert r.json()["status"] == "accepted"
    with db.connect() as conn:
        user = conn.execute(sa.text("SELECT id, email, name, verified_at FROM users")).one()
    assert (user.email, user.name, user.verified_at) == ("New.Person@example.com", "New", None)
    (row,) = notifications(db)
    assert (row.user_id, row.kind, row.status) == (user.id, "verify", "pending")
    assert row.payload["link"].startswith(f"{settings.public_url}/verify?token=")
    claims = tokens.verify("verify", _link_token(row), settings.signing_secret)
    assert claims["d"] == {"u": user.id}
    # the send task was handed to the real broker after commit
    messages = [json.loads(m) for m in redis_client.lrange("email", 0, -1)]
    sent = [json.loads(base64.b64decode(m["body"]))[0] for m in messages
            if m["headers"]["task"] == "pricehound.email.send_notifications"]
    assert sent == [[[row.id]]]


def test_signup_of_a_verified_address_sends_a_sign_in_link_instead(client, db, settings):
    user_id = make_user(db, "ann@example.com")
    assert client.post("/v1/signup", json={"email": "ann@example.com"}).status_code == 202
    (row,) = notifications(db)
    assert row.kind == "login"
    assert tokens.verify("login", _link_token(row), settings.signing_secret)["d"] == {"u": user_id}


def test_signup_never_renames_an_existing_account(client, db):
    make_user(db, "ann@example.com", name="Ann")
    client.post("/v1/signup", json={"email": "ann@example.com", "name": "Mallory"})
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM users")).scalar_one() == "Ann"


def _count_statements(engine, fn) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_known_and_unknown_addresses_get_the_same_answer_and_the_same_work(client, db):
    make_user(db, "known@example.com")
    make_user(db, "pending@example.com", verified=False)
    for path in ("/v1/signup", "/v1/login"):
        answers, statements = [], []
        for email in ("known@example.com", "pending@example.com", f"nobody-{path[4:]}@example.com"):
            holder = {}
            statements.append(_count_statements(
                db, lambda email=email, holder=holder, path=path: holder.update(r=client.post(path, json={"email": email}))))
            r = holder["r"]
            answers.append((r.status_code, r.content, r.headers.get("content-type")))
        assert answers[0] == answers[1] == answers[2], path
        assert answers[0][0] == 202
        assert statements[0] == statements[1] == statements[2], (path, statements)
    # each request owed exactly one email
    assert len(notifications(db)) == 6


def test_login_of_an_unknown_address_sends_a_verification_link(client, db):
    assert client.post("/v1/login", json={"email": "stranger@example.com"}).status_code == 202
    (row,) = notifications(db)
    assert row.kind == "verify"


def test_malformed_addresses_are_refused_with_a_json_message(client, db):
    for body in ({"email": "not-an-address"}, {"email": ""}, {}, {"email": "a@b.c", "admin": True}):
        r = client.post("/v1/signup", json=body)
        assert r.status_code == 422, body
        assert r.json()["error"] == "invalid_input"
        assert r.json()["message"]
    r = client.post("/v1/login", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["message"]
    assert notifications(db) == []


def test_sign_up_is_rate_limited_per_address_the_same_for_known_and_unknown(make_app, db):
    from fastapi.testclient import TestClient

    from web.ratelimit import Limit, RateLimits

    client = TestClient(make_app(rate_limits=RateLimits(email_per_client=Limit("email-client", 100, 600))))
    make_user(db, "known@example.com")
    for email in ("known@example.com", "unknown@example.com"):
        codes = [client.post("/v1/signup", json={"email": email}).status_code for _ in range(6)]
        assert codes == [202] * 5 + [429], email
    r = client.post("/v1/login", json={"email": "known@example.com"})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.json() == {"error": "rate_limited", "message": r.json()["message"]}
    assert len(notifications(db)) == 10


def test_sign_up_is_rate_limited_per_client(client, db):
    codes = [client.post("/v1/signup", json={"email": f"p{i}@example.com"}).status_code for i in range(11)]
    assert codes == [202] * 10 + [429]


def test_rate_limits_are_shared_by_every_app_process(make_app, db):
    from fastapi.testclient import TestClient

    first, second = TestClient(make_app()), TestClient(make_app())
    for _ in range(5):
        assert first.post("/v1/login", json={"email": "ann@example.com"}).status_code == 202
    assert second.post("/v1/login", json={"email": "ann@example.com"}).status_code == 429
