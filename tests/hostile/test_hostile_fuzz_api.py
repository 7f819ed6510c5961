"""Schema-driven fuzzing of the HTTP API: schemathesis reads /openapi.json and sends what the
schema allows and what it does not (NUL bytes, huge ids, wrong types) to a real uvicorn over a
real socket. Every answer is 2xx, 3xx or 4xx, never 5xx, and the connection stays usable.

The number of examples per operation is bounded for `make test` (PRICEHOUND_FUZZ_EXAMPLES
raises it for a longer run)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.localhttp import uvicorn_server
from tests.web.conftest import make_user, product_url

EXAMPLES = int(os.environ.get("PRICEHOUND_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_target(settings, engine, redis_url) -> Iterator[dict]:  # noqa: F811 - the session settings
    """The app under uvicorn on 127.0.0.1 (port 0), a signed-in user, a partner key and a store."""
    from pricehound import catalog
    from pricehound.db import empty_all_tables
    from web import apikeys, security
    from web.app import create_app

    with engine.begin() as conn:
        catalog.add_store(conn, slug="local", name="Local Shop", domains=["127.0.0.1:8765"], currency="EUR",
                          is_local=True)
        _, key = apikeys.create_key(conn, "Fuzz Partner")
    user_id = make_user(engine, "fuzz@example.com")
    with engine.begin() as conn:
        cookie = security.open_session(conn, user_id)
        catalog.add_watch(conn, email="fuzz@example.com", url=product_url(1))
    app = create_app(settings, enqueue_send=lambda ids: None)
    with uvicorn_server(app) as base:
        session = requests.Session()
        session.cookies.set(security.session_cookie_name(settings), cookie)
        session.headers["authorization"] = f"Bearer {key}"

        def sign_in_again() -> None:
            """The fuzzer may sign out (DELETE /v1/session): open a fresh session, so it keeps
            reaching the handlers behind the sign-in check."""
            with engine.begin() as conn:
                fresh = security.open_session(conn, user_id)
            session.cookies.clear()
            session.cookies.set(security.session_cookie_name(settings), fresh)

        yield {"base": base, "session": session, "sign_in_again": sign_in_again}
        session.close()
    with engine.begin() as conn:
        empty_all_tables(conn)
        conn.execute(sa.text("DELETE FROM api_keys"))


def _operations(base: str) -> list:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, mode, target: dict, failures: list) -> None:
    """Send EXAMPLES generated requests for one operation; note every 5xx and dropped connection."""
    base, session = target["base"], target["session"]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        try:
            response = case.call(base_url=base, session=session, timeout=30)
        except requests.RequestException as exc:  # a dropped connection is a failure too
            failures.append((operation.label, case.body, case.query, repr(exc)))
            return
        if response.status_code >= 500:
            failures.append((operation.label, case.path_parameters, case.body, case.query,
                             response.status_code, response.text[:200]))
        again = session.get(f"{base}/v1/me", timeout=30)
        if again.status_code == 401:
            target["sign_in_again"]()
        elif again.status_code != 200:
            failures.append((operation.label, "follow-up", again.status_code))

    try:
        check()
    except Unsatisfiable:  # nothing to break: an operation without inputs has no invalid ones
        assert mode is GenerationMode.NEGATIVE


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_5xx_and_the_connection_stays_usable(fuzz_target, mode):
    operations = _operations(fuzz_target["base"])
    assert len(operations) >= 10
    failures: list[tuple] = []
    for operation in operations:
        _fuzz(operation, mode, fuzz_target, failures)
    assert failures == []


@pytest.mark.parametrize("path", ["/v1/watches?list_id=9223372036854775808", "/v1/watches?after=99999999999999999999",
                                  "/v1/watches/9223372036854775808", "/v1/watches/9223372036854775808/history",
                                  "/v1/watches?list_id=-1"])
def test_ids_past_bigint_are_422(fuzz_target, path):
    fuzz_target["sign_in_again"]()
    r = fuzz_target["session"].get(fuzz_target["base"] + path, timeout=30)
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"


@pytest.mark.parametrize("method,path,body", [
    ("post", "/v1/signup", {"email": "a\x00b@example.com", "name": "Ann"}),
    ("post", "/v1/signup", {"email": "ann@example.com", "name": "A\x00nn"}),
    ("post", "/v1/login", {"email": "ann\x00@example.com"}),
    ("post", "/v1/lists", {"name": "Gifts\x00"}),
    ("post", "/v1/lists", {"name": "Gifts\x1b[31m"}),
    ("post", "/v1/watches", {"url": product_url(2), "list": "x\x00"}),
    ("post", "/v1/watches", {"url": product_url(2) + "\x00"}),
    ("post", "/v1/partner/watches", {"email": "p@example.com", "name": "P\x00", "url": product_url(3)}),
    ("post", "/v1/partner/watches", {"email": "p@example.com", "url": product_url(3), "list": "\x00"}),
    ("post", "/v1/session", {"token": "a\x00b"}),
])
def test_nul_and_control_characters_are_422_and_nothing_is_written(fuzz_target, engine, method, path, body):
    fuzz_target["sign_in_again"]()
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM shopping_lists)")).one()
    r = getattr(fuzz_target["session"], method)(fuzz_target["base"] + path, json=body, timeout=30)
    assert r.status_code == 422, r.text
    with engine.connect() as conn:
        after = conn.execute(sa.text("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM shopping_lists)")).one()
    assert tuple(after) == tuple(before)


def test_pages_refuse_nul_in_forms_without_a_5xx(fuzz_target):
    fuzz_target["sign_in_again"]()
    session, base = fuzz_target["session"], fuzz_target["base"]
    page = requests.get(f"{base}/signin", timeout=30)
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = requests.post(f"{base}/signin", data={"email": "a\x00@example.com", "csrf_token": csrf},
                      cookies=page.cookies, timeout=30)
    assert r.status_code == 422
    for path in ("/manage/watches/9223372036854775808/pause", "/manage/watches/0/delete"):
        assert session.post(base + path, data={"csrf_token": "x"}, timeout=30).status_code in (403, 422)
    assert session.get(f"{base}/manage?after=9223372036854775808", timeout=30).status_code == 422
