"""Fixtures for the alert stage: the process configured like a worker, moto for AWS, and a
small catalogue (store, listing, price, verified user, watch) to raise events against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

SENDER = "pricehound <alerts@pricehound.example>"
REGION = "us-east-1"


@pytest.fixture()
def alert_env(env, monkeypatch) -> Iterator[dict[str, str]]:
    """This process reads the test database, Redis and SES settings through get_settings()."""
    from alerts import ses
    from pricehound.config import get_settings

    values = {**{k: v for k, v in env.items() if k.startswith(("PRICEHOUND_", "DATABASE_URL", "REDIS_URL"))},
              "PRICEHOUND_ALERT_BATCH_WINDOW": "0", "PRICEHOUND_SES_REGION": REGION,
              "PRICEHOUND_SES_SENDER": SENDER, "PRICEHOUND_SES_MAX_SEND_RATE": "1000",
              "PRICEHOUND_PUBLIC_URL": "https://pricehound.test",
              "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
              "AWS_DEFAULT_REGION": REGION}
    for key in [k for k in os.environ if k.startswith("PRICEHOUND_")]:
        monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    ses.reset()
    yield values
    get_settings.cache_clear()
    ses.reset()


@pytest.fixture()
def aws(alert_env):
    """moto in-process for SES v2, SNS and SQS, with the sender verified."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="alerts@pricehound.example")
        yield


def sent_messages() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@dataclass
class Catalogue:
    store_id: int
    listing_id: int
    product_id: int
    user_id: int
    item_id: int


def make_user(conn, email: str, *, verified: bool = True) -> int:
    return conn.execute(sa.text(
        "INSERT INTO users (email, name, verified_at) VALUES (:e, 'Ann', CASE WHEN :v THEN pricehound_now() END) RETURNING id"),
        {"e": email, "v": verified}).scalar_one()


def make_watch(conn, user_id: int, *, listing_id: int | None = None, product_id: int | None = None,
               target: Decimal | None = None, min_drop: Decimal = Decimal(0),
               kinds: tuple[str, ...] = ("sale", "sold_out", "back_in_stock", "removed"),
               preferred: list[int] | None = None) -> int:
    list_id = conn.execute(sa.text(
        "INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'Watching') "
        "ON CONFLICT (user_id, name) DO UPDATE SET name = excluded.name RETURNING id"), {"u": user_id}).scalar_one()
    return conn.execute(sa.text(
        "INSERT INTO shopping_list_items (list_id, listing_id, product_id, target_price, min_drop_percent, "
        "notify_kinds, preferred_store_ids) VALUES (:l, :li, :p, :t, :d, :k, :pref) RETURNING id"),
        {"l": list_id, "li": listing_id, "p": product_id, "t": target, "d": min_drop, "k": list(kinds),
         "pref": preferred}).scalar_one()


def make_listing(conn, store_id: int, slug: str, title: str, price: Decimal, product_id: int | None = None) -> int:
    listing = conn.execute(sa.text(
        "INSERT INTO store_listings (store_id, product_id, url, title, status) "
        "VALUES (:s, :p, :u, :t, 'active') RETURNING id"),
        {"s": store_id, "p": product_id, "u": f"https://shop.example/p/{slug}", "t": title}).scalar_one()
    conn.execute(sa.text(
        "INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at) "
        "VALUES (:l, :p, 'USD', 'in_stock', pricehound_now(), pricehound_now())"), {"l": listing, "p": price})
    return listing


@pytest.fixture()
def catalogue(db) -> Catalogue:
    with db.begin() as conn:
        store = conn.execute(sa.text(
            "INSERT INTO stores (slug, name, allowed_domains) VALUES ('shop', 'Shop & Co', '{shop.example}') RETURNING id"
        )).scalar_one()
        product = conn.execute(sa.text(
            "INSERT INTO branded_products (name) VALUES ('Kettle') RETURNING id")).scalar_one()
        listing = make_listing(conn, store, "kettle", "Steel Kettle 1.7l", Decimal("40.00"), product)
        user = make_user(conn, "ann@example.com")
        item = make_watch(conn, user, listing_id=listing, target=Decimal("30.00"), min_drop=Decimal(10))
    return Catalogue(store, listing, product, user, item)


def add_event(conn, listing_id: int, kind: str, old: str | None, new: str | None, *,
              old_av: str = "in_stock", new_av: str = "in_stock", ago: str = "0 seconds") -> int:
    """A price_events row as the crawl stage writes it (and store_prices updated to match)."""
    event = conn.execute(sa.text(
        "INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, old_availability, "
        "new_availability, occurred_at) VALUES (:l, :k, :o, :n, 'USD', :oa, :na, pricehound_now() - CAST(:ago AS interval)) "
        "RETURNING id"),
        {"l": listing_id, "k": kind, "o": old, "n": new, "oa": old_av, "na": new_av, "ago": ago}).scalar_one()
    conn.execute(sa.text(
        "UPDATE store_prices SET price = coalesce(CAST(:n AS numeric), price), availability = :na, "
        "observed_at = pricehound_now(), changed_at = pricehound_now() WHERE listing_id = :l"), {"l": listing_id, "n": new, "na": new_av})
    return event
