"""/admin: only admins see it; its actions need the CSRF token and act like the command line."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient


@pytest.fixture()
def client(settings, db) -> Iterator[TestClient]:
    from web.app import create_app

    with TestClient(create_app(settings), base_url="http://testserver", follow_redirects=False) as c:
        yield c


def sign_in_as(client: TestClient, db, settings, email: str, *, admin: bool) -> int:
    from pricehound import catalog, operators
    from web import security

    with db.begin() as conn:
        user_id = catalog.add_user(conn, email=email, verified=True)
        operators.set_admin(conn, user_id, admin)
        token = security.open_session(conn, user_id)
    client.cookies.set(security.session_cookie_name(settings), token)
    return user_id


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


@pytest.fixture()
def held_run(db, shop) -> int:
    """A run of `local` held as suspect, whose listing holds a pending reading of 5.00 EUR in stock."""
    store, (first, _second, _third) = shop
    with db.begin() as conn:
        conn.execute(sa.text(
            "UPDATE store_listings SET pending_price = 5, pending_currency = 'EUR', pending_availability = 'in_stock', "
            "pending_at = pricehound_now() WHERE id = :l"), {"l": first.listing_id})
        return conn.execute(sa.text(
            "INSERT INTO crawl_runs (store_id, status, listing_ids, requested, failed, queued_at, started_at, "
            "finished_at, held_state, held_reason, error) VALUES (:s, 'succeeded', ARRAY[:l]::bigint[], 1, 1, "
            "pricehound_now(), pricehound_now(), pricehound_now(), 'held', '1 of 1 pages jumped in price', 'boom')"
            " RETURNING id"), {"s": store.id, "l": first.listing_id}).scalar_one()


def test_signed_out_goes_to_sign_in_and_non_admins_get_404(client, db, settings, shop):
    response = client.get("/admin")
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=/admin"
    sign_in_as(client, db, settings, "ann@example.com", admin=False)
    assert client.get("/admin").status_code == 404
    page = client.get("/manage")  # the same session works where it should
    assert page.status_code == 200


def test_admin_sees_stores_breakers_held_runs_queues_emails_and_runs(client, db, settings, shop, held_run,
                                                                      redis_client):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE stores SET failure_streak = 2, paused_until = pricehound_now() + interval '5 minutes', "
                             "last_error = '3 of 3 pages failed (HTTP 503 x3)' WHERE slug = 'other'"))
        conn.execute(sa.text(
            "UPDATE crawl_runs SET stats = '{\"pricehound/failed/http_5xx\": 4}' WHERE id = :r"), {"r": held_run})
        user = conn.execute(sa.text("SELECT id FROM users WHERE email = 'bob@example.com'")).scalar_one()
        conn.execute(sa.text("INSERT INTO notifications (user_id, kind, dedupe_key, status) VALUES "
                             "(:u, 'price_drop', 'a', 'failed'), (:u, 'price_drop', 'b', 'pending')"), {"u": user})
    redis_client.rpush("alerts", b"x", b"y")
    sign_in_as(client, db, settings, "ops@example.com", admin=True)
    response = client.get("/admin")
    assert response.status_code == 200
    page = response.text
    assert 'data-store="local"' in page and 'data-store="other"' in page
    assert "<strong>open</strong>" in page and "HTTP 503 x3" in page  # other's breaker
    assert f'id="held-{held_run}"' in page and "jumped in price" in page
    assert f'id="run-{held_run}"' in page
    assert "http_5xx" in page
    assert re.search(r"<td>alerts</td><td class=\"num\">2</td>", page)
    assert re.search(r'data-state="failed">1<', page) and re.search(r'data-state="pending">1<', page)
    # the page CSP and no inline script or style
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page and "<style" not in page


def test_pause_and_resume_need_csrf_and_an_admin(client, db, settings, shop):
    from workers import schedule

    def paused() -> bool:
        with db.connect() as conn:
            return conn.execute(sa.text("SELECT paused_at IS NOT NULL FROM stores WHERE slug = 'local'")).scalar_one()

    sign_in_as(client, db, settings, "ann@example.com", admin=False)
    token = csrf(client.get("/manage").text)
    assert client.post("/admin/stores/local/pause", data={"csrf_token": token}).status_code == 404
    assert not paused()
    sign_in_as(client, db, settings, "ops@example.com", admin=True)
    token = csrf(client.get("/admin").text)
    assert client.post("/admin/stores/local/pause", data={"csrf_token": "0" * 64}).status_code == 403
    assert client.post("/admin/stores/local/pause", data={}).status_code == 403
    assert not paused()
    done = client.post("/admin/stores/local/pause", data={"csrf_token": token, "reason": "new checkout"})
    assert done.status_code == 303 and done.headers["location"] == "/admin?msg=paused"
    assert paused()
    with db.begin() as conn:
        assert [r.store_slug for r in schedule.lease_due(conn, lease_seconds=60)] == ["other"]
    page = client.get("/admin?msg=paused").text
    assert "Store paused" in page and "new checkout" in page
    assert client.post("/admin/stores/local/resume", data={"csrf_token": token}).status_code == 303
    assert not paused()
    assert client.post("/admin/stores/nope/pause", data={"csrf_token": token}).status_code == 422


def test_release_and_discard_a_held_run_from_the_page(client, db, settings, shop, held_run):
    second = shop[1][1].listing_id
    with db.begin() as conn:  # a second held run, to discard
        conn.execute(sa.text(
            "UPDATE store_listings SET pending_price = 7, pending_currency = 'EUR', pending_availability = 'in_stock', "
            "pending_at = pricehound_now() WHERE id = :l"), {"l": second})
        other_run = conn.execute(sa.text(
            "INSERT INTO crawl_runs (store_id, status, listing_ids, requested, held_state) "
            "VALUES (:s, 'succeeded', ARRAY[:l]::bigint[], 1, 'held') RETURNING id"),
            {"s": shop[0].id, "l": second}).scalar_one()
    sign_in_as(client, db, settings, "ops@example.com", admin=True)
    token = csrf(client.get("/admin").text)
    assert client.post(f"/admin/runs/{held_run}/release", data={}).status_code == 403
    done = client.post(f"/admin/runs/{held_run}/release", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/admin?msg=released"
    assert client.post(f"/admin/runs/{other_run}/discard", data={"csrf_token": token}).status_code == 303
    with db.connect() as conn:
        states = dict(conn.execute(sa.text("SELECT id, held_state FROM crawl_runs")).all())
        prices = dict(conn.execute(sa.text("SELECT listing_id, price FROM store_prices")).all())
        pending = conn.execute(sa.text("SELECT pending_price FROM store_listings WHERE id = :l"), {"l": second}).scalar()
    assert states == {held_run: "released", other_run: "discarded"}
    assert prices == {shop[1][0].listing_id: 5}  # the released reading applied, the discarded one dropped
    assert pending is None
    again = client.post(f"/admin/runs/{held_run}/discard", data={"csrf_token": token})
    assert again.status_code == 422 and "is not held" in again.text


def test_a_disabled_admin_loses_the_page_at_once(client, db, settings, shop):
    from pricehound import operators

    sign_in_as(client, db, settings, "ops@example.com", admin=True)
    assert client.get("/admin").status_code == 200
    with db.begin() as conn:
        operators.set_user_status(conn, "ops@example.com", "disabled")
    assert client.get("/admin").status_code == 303
