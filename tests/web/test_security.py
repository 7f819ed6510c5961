"""Security headers, JSON errors without traces, health checks, redirect targets, the rate limiter,
and `pricehound serve`."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from web.ratelimit import Limit, RateLimiter
from web.security import safe_next

EXPECTED_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def test_every_response_carries_the_security_headers(user_client, store):
    for path in ("/manage", "/signin", "/v1/watches", "/healthz", "/static/style.css", "/nowhere"):
        r = user_client.get(path)
        for name, value in EXPECTED_HEADERS.items():
            assert r.headers.get(name) == value, (path, name)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp, path


def test_pages_have_no_inline_scripts_styles_or_handlers(user_client, db, store, settings):
    from tests.web.conftest import add_priced_watch

    add_priced_watch(db, "ann@example.com", 1, prices=[(10, "20.00"), (1, "18.00")])
    pages = [user_client.get(p).text for p in ("/manage", "/signin")]
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html)
    assert '<script src="/static/manage.js" defer></script>' in pages[0]
    assert user_client.get("/static/manage.js").status_code == 200


def test_session_and_csrf_cookies_are_httponly_and_samesite(client, db, settings):
    from alerts import links
    from tests.web.conftest import make_user

    user_id = make_user(db, "ann@example.com")
    token = links.verify_url(user_id, settings).split("token=", 1)[1]
    r = client.post("/verify", data={"token": token})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    anon = TestClient(client.app).get("/signin").headers["set-cookie"].lower()
    assert "ph_csrf=" in anon and "httponly" in anon and "samesite=lax" in anon


def test_https_deployments_get_secure_host_cookies_and_hsts(settings, db, redis_client, web_env):
    from alerts import links
    from tests.web.conftest import make_user
    from web.app import create_app

    https = settings.with_overrides(public_url="https://pricehound.example")
    client = TestClient(create_app(https), base_url="https://pricehound.example")
    user_id = make_user(db, "ann@example.com")
    r = client.post("/verify", data={"token": links.verify_url(user_id, https).split("token=", 1)[1]})
    assert r.headers["set-cookie"].startswith("__Host-ph_session=") and "Secure" in r.headers["set-cookie"]
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert client.get("/v1/me").status_code == 200


def test_api_errors_are_json_and_never_a_trace(app, client):
    def explode() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.add_api_route("/v1/explode", explode)
    quiet = TestClient(app, raise_server_exceptions=False)
    r = quiet.get("/v1/explode")
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error", "message": r.json()["message"]}
    assert "secret" not in r.text and "Traceback" not in r.text
    assert client.get("/v1/nothing-here").json()["error"] == "not_found"
    assert client.put("/v1/signup", json={}).json()["error"] == "method_not_allowed"
    page = client.get("/nowhere", headers={"accept": "text/html"})
    assert page.status_code == 404 and "<html" in page.text


def test_openapi_document_and_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    for path in ("/v1/signup", "/v1/login", "/v1/watches", "/v1/watches/{watch_id}",
                 "/v1/watches/{watch_id}/history", "/v1/lists", "/v1/partner/watches"):
        assert path in spec["paths"], path
    assert "/manage" not in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_docs_work_offline_under_the_page_policy(client):
    """Every asset /docs loads is served by the app (no CDN), and the page needs no inline script
    or style, so its policy is the one every page has plus connect-src for /openapi.json."""
    import re

    docs = client.get("/docs")
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200 and len(got.content) > 0, asset
    assert "<script>" not in docs.text and "style=" not in docs.text and "<style" not in docs.text
    csp = docs.headers["content-security-policy"]
    assert "http" not in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "SwaggerUIBundle" in client.get("/static/docs.js").text


def test_healthz_reports_database_and_redis(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_503_when_redis_is_unreachable(settings, db, web_env):
    from web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    app = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{dead_port}/0"))
    r = TestClient(app).get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"status": "unhealthy", "database": "ok", "redis": "unreachable"}
    # an email endpoint fails closed rather than going unlimited
    signup = TestClient(app).post("/v1/signup", json={"email": "a@example.com"})
    assert signup.status_code == 503 and signup.json()["error"] == "unavailable"


@pytest.mark.parametrize("raw,expected", [
    ("/manage", "/manage"), ("/manage?after=3#w", "/manage?after=3#w"), (None, "/manage"),
    ("//evil.example", "/manage"), ("/\\evil.example", "/manage"), ("https://evil.example", "/manage"),
    ("/\r\n/evil", "/manage"), ("manage", "/manage"), ("/" + "a" * 600, "/manage"),
])
def test_safe_next_accepts_only_local_paths(raw, expected):
    assert safe_next(raw) == expected


def test_rate_limiter_allows_a_burst_then_refuses_until_time_passes(redis_client):
    limiter = RateLimiter(redis_client)
    limit = Limit("unit", 3, 0.3)
    assert [limiter.hit(limit, "s").allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(limit, "other").allowed  # per subject
    refused = limiter.hit(limit, "s")
    assert 0 < refused.retry_after <= 0.3
    time.sleep(refused.retry_after + 0.02)
    assert limiter.hit(limit, "s").allowed
    assert not any(b"s" == k.rsplit(b":", 1)[-1] for k in redis_client.keys("pricehound:ratelimit:*"))


def test_serve_command_runs_the_app_under_uvicorn(env, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from tests.conftest import REPO_ROOT

    proc = subprocess.Popen([sys.executable, "-m", "pricehound.cli", "serve", "--port", str(port)],
                            cwd=REPO_ROOT, env={**env, "PRICEHOUND_HTTP_HOST": "127.0.0.1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["status"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
