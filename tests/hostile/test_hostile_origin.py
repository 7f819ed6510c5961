"""The cross-site write check trusts the configured public URL, never the request's Host header."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import make_user, product_url, sign_in


@pytest.fixture()
def public_client(make_app, settings, db) -> TestClient:
    app = make_app()
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    sign_in(client, db, settings, make_user(db, "ann@example.com"))
    return client


@pytest.mark.parametrize("origin", ["https://evil.example", "http://evil.example", "null",
                                    "http://127.0.0.1:8000.evil.example", "http://127.0.0.1:8001"])
def test_an_origin_matching_a_forged_host_header_is_refused(public_client, store, origin):
    host = origin.split("://", 1)[-1]
    r = public_client.post("/v1/watches", json={"url": product_url(1)}, headers={"origin": origin, "host": host})
    assert r.status_code == 403
    assert public_client.get("/v1/watches").json()["watches"] == []


def test_the_configured_public_origin_is_accepted_whatever_the_host(public_client, store, settings):
    for origin in (settings.public_url, settings.public_url.upper() + "/"):
        r = public_client.post("/v1/lists", json={"name": f"list {origin[-3:]}"},
                               headers={"origin": origin, "host": "internal-name:8000"})
        assert r.status_code in (200, 201), r.text


def test_default_ports_are_the_same_origin(settings):
    from web.security import _origin_of

    assert _origin_of("https://pricehound.example:443/") == _origin_of("https://PRICEHOUND.example")
    assert _origin_of("http://pricehound.example:8000") != _origin_of("http://pricehound.example")
