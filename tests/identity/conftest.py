"""A few stores and a way to add listings as a crawl would have stored them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


def make_store(conn, slug: str, currency: str = "EUR") -> int:
    return conn.execute(sa.text(
        "INSERT INTO stores (slug, name, allowed_domains, default_currency, is_local) "
        "VALUES (:s, :s, ARRAY[:d], :c, true) RETURNING id"), {"s": slug, "d": f"www.{slug}.example", "c": currency}
    ).scalar_one()


def make_listing(conn, store_id: int, path: str, *, title: str | None = None, gtin: str | None = None,
                 brand: str | None = None, mpn: str | None = None, price: str | None = None,
                 currency: str = "EUR", availability: str = "in_stock") -> int:
    slug = conn.execute(sa.text("SELECT slug FROM stores WHERE id = :s"), {"s": store_id}).scalar_one()
    lid = conn.execute(sa.text(
        "INSERT INTO store_listings (store_id, url, title, gtin, brand, mpn, first_seen_at) "
        "VALUES (:s, :u, :t, :g, :b, :m, pricehound_now()) RETURNING id"),
        {"s": store_id, "u": f"https://www.{slug}.example/{path}", "t": title,
         "g": gtin, "b": brand, "m": mpn}).scalar_one()
    if price is not None:
        conn.execute(sa.text(
            "INSERT INTO store_prices (listing_id, price, currency, availability, known_availability, observed_at, changed_at) "
            "VALUES (:l, :p, :c, :a, nullif(:a, 'unknown'), pricehound_now(), pricehound_now())"),
            {"l": lid, "p": price, "c": currency, "a": availability})
    return lid


@pytest.fixture()
def stores(db):
    with db.begin() as conn:
        return {slug: make_store(conn, slug) for slug in ("alpha", "beta", "gamma")}
