"""Fixtures for the HTTP service: the app on the test PostgreSQL and Redis, signed-in clients,
a local store to watch, and listings with a price history."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

STORE_HOST = "127.0.0.1:8765"


@pytest.fixture()
def web_env(env, monkeypatch) -> Iterator[None]:
    """This process's get_settings() (used by the Celery app that carries send tasks) points at
    the test servers, as a deployed web process's environment would."""
    from pricehound.config import get_settings

    for key in [k for k in os.environ if k.startswith("PRICEHOUND_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith(("PRICEHOUND_", "DATABASE_URL", "REDIS_URL")):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _empty_web_tables(db) -> Iterator[None]:
    """api_keys is not among the tables the shared fixture empties (web_sessions goes with users)."""
    yield
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM api_keys"))


@pytest.fixture()
def make_app(settings, db, redis_client, web_env):
    """Build an app for the test servers; tables and Redis are emptied after the test."""
    from web.app import create_app

    def build(**kwargs):
        return create_app(settings, **kwargs)

    return build


@pytest.fixture()
def app(make_app):
    return make_app()


@pytest.fixture()
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


def make_user(db, email: str, *, verified: bool = True, name: str | None = "Ann") -> int:
    with db.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO users (email, name, verified_at) VALUES (:e, :n, CASE WHEN :v THEN pricehound_now() END) RETURNING id"),
            {"e": email, "n": name, "v": verified}).scalar_one()


def sign_in(client: TestClient, db, settings, user_id: int) -> str:
    """Open a session for the user the way a redeemed link does and hand its cookie to the client."""
    from web import security

    with db.begin() as conn:
        token = security.open_session(conn, user_id)
    client.cookies.set(security.session_cookie_name(settings), token)
    return token


@pytest.fixture()
def user_id(db) -> int:
    return make_user(db, "ann@example.com")


@pytest.fixture()
def user_client(client, db, settings, user_id) -> TestClient:
    sign_in(client, db, settings, user_id)
    return client


@pytest.fixture()
def store(db):
    from pricehound import catalog

    with db.begin() as conn:
        return catalog.add_store(conn, slug="local", name="Local Shop", domains=[STORE_HOST],
                                 currency="EUR", is_local=True)


def product_url(n: int) -> str:
    return f"http://{STORE_HOST}/p/{n}"


@dataclass
class Priced:
    watch_id: int
    listing_id: int


def add_priced_watch(db, email: str, n: int, *, prices: list[tuple[int, str]], availability: str = "in_stock",
                     title: str | None = None) -> Priced:
    """A watch on product n whose listing has a history: prices as (days ago, amount), oldest first;
    the last one is the current price."""
    from pricehound import catalog

    now = datetime.now(timezone.utc)
    with db.begin() as conn:
        watch = catalog.add_watch(conn, email=email, url=product_url(n))
        conn.execute(sa.text("UPDATE store_listings SET title = :t WHERE id = :id"),
                     {"t": title or f"Kettle {n}", "id": watch.listing_id})
        for days_ago, amount in prices:
            conn.execute(sa.text(
                "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
                "VALUES (:l, :t, :p, 'EUR', :a)"),
                {"l": watch.listing_id, "t": now - timedelta(days=days_ago), "p": Decimal(amount), "a": availability})
        days_ago, amount = prices[-1]
        conn.execute(sa.text(
            "INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at) "
            "VALUES (:l, :p, 'EUR', :a, pricehound_now(), :changed)"),
            {"l": watch.listing_id, "p": Decimal(amount), "a": availability,
             "changed": now - timedelta(days=days_ago)})
    return Priced(watch.id, watch.listing_id)


def notifications(db) -> list:
    with db.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM notifications ORDER BY id")))


@pytest.fixture()
def client_factory_token(app) -> str:
    """A CSRF token minted for a different browser (an anonymous one) than the test's client."""
    with TestClient(app) as other:
        page = other.get("/signin")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
