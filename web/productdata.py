"""Products for the API and the manage page: search (recorded as demand), a product watch's
stores side by side, and the click-through to a store's page."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import products
from web.api.models import StoreStatusOut

# A search repeated inside this window by the same user is one search (reloads, typing).
SEARCH_WINDOW = timedelta(minutes=10)
CLICK_WINDOW = timedelta(minutes=10)


def record_search(conn: Connection, user_id: int | None, query: str, found: list[products.Product]) -> None:
    """A search is demand for what it found: one row with the query and the best match (for
    analytics), and one per listing of the best match, which crawl priority counts
    (refresh_crawl_priorities reads recent activity per listing)."""
    top = found[0].id if found else None
    conn.execute(sa.text("""
        INSERT INTO user_activity (user_id, product_id, listing_id, kind, query)
        SELECT :u, :p, x.listing_id, 'search', left(:q, 200)
          FROM (SELECT NULL::bigint AS listing_id
                UNION ALL
                SELECT l.id FROM store_listings l WHERE l.product_id = :p AND l.status = 'active') x
         WHERE NOT EXISTS (SELECT 1 FROM user_activity a
                            WHERE a.kind = 'search' AND a.user_id IS NOT DISTINCT FROM CAST(:u AS bigint)
                              AND a.query = left(:q, 200)
                              AND a.occurred_at > pricehound_now() - CAST(:window AS interval))"""),
        {"u": user_id, "p": top, "q": query, "window": SEARCH_WINDOW})


def store_statuses(conn: Connection, item_id: int) -> list[StoreStatusOut]:
    return [StoreStatusOut(store=s.store, listing_id=s.listing_id, price=s.price, currency=s.currency,
                           availability=s.availability, status=s.status,
                           go_url=f"/go/{s.listing_id}" if s.listing_id else None)
            for s in products.watch_stores(conn, item_id)]


def best_offer(stores: list[StoreStatusOut]) -> StoreStatusOut | None:
    """A product watch's price: the cheapest offer one can buy now (one currency: the first's)."""
    buyable = [s for s in stores if s.price is not None and s.availability in ("in_stock", "preorder")]
    if not buyable:
        return None
    currency = buyable[0].currency
    return min((s for s in buyable if s.currency == currency), key=lambda s: s.price)


_LISTING_URL = sa.text("SELECT url, product_id FROM store_listings WHERE id = :l")


def click_through(conn: Connection, listing_id: int, user_id: int | None) -> str | None:
    """The listing's stored URL (the only place /go ever sends anyone), recording the click
    once per user and listing within CLICK_WINDOW; None for an unknown listing."""
    row = conn.execute(_LISTING_URL, {"l": listing_id}).one_or_none()
    if row is None or not row.url.lower().startswith(("http://", "https://")):
        return None
    conn.execute(sa.text("""
        INSERT INTO user_activity (user_id, listing_id, product_id, kind)
        SELECT :u, :l, :p, 'click'
         WHERE NOT EXISTS (SELECT 1 FROM user_activity a
                            WHERE a.listing_id = :l AND a.kind = 'click'
                              AND a.user_id IS NOT DISTINCT FROM CAST(:u AS bigint)
                              AND a.occurred_at > pricehound_now() - CAST(:window AS interval))"""),
        {"u": user_id, "l": listing_id, "p": row.product_id, "window": CLICK_WINDOW})
    return row.url
