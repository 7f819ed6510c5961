"""Where a product watch stands at each of its stores: found (with the price), or what searching
that store has said so far ("not found at acme yet"), never an error."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request

from spiders.search import state_words
from web.deps import CurrentUser, WatchId, app_state

router = APIRouter(prefix="/v1/watches", tags=["watches"])

STORES_SQL = sa.text(
    """
    SELECT w.store, w.store_name, w.state, w.state_rule, w.listing_id, w.last_searched_at, w.next_search_at,
           coalesce(l.id, t.found_listing_id) AS page_id, pl.url, sp.price, sp.currency, sp.availability
      FROM shopping_list_items i
      JOIN shopping_lists sl ON sl.id = i.list_id
      JOIN product_watch_stores w ON w.item_id = i.id
      LEFT JOIN store_listings l ON l.id = w.listing_id
      LEFT JOIN search_targets t ON t.product_id = w.product_id AND t.store_id = w.store_id
      LEFT JOIN store_listings pl ON pl.id = coalesce(l.id, t.found_listing_id)
      LEFT JOIN store_prices sp ON sp.listing_id = w.listing_id
     WHERE i.id = :item AND sl.user_id = :user
     ORDER BY w.store
    """
)


@router.get("/{watch_id}/stores", summary="A product watch at each of its stores",
            responses={404: {"description": "no such product watch"}})
def stores(watch_id: WatchId, request: Request, user: CurrentUser) -> list[dict]:
    """found (with its listing, price and stock), candidate (a page that matches by title waits for
    confirmation), pending (not searched yet), not_found (searched, not there yet; searched again
    later), unsearchable (the store has no search page or sitemap), failed (its search page did
    not answer; tried again)."""
    with app_state(request).engine.connect() as conn:
        rows = conn.execute(STORES_SQL, {"item": watch_id, "user": user.user_id}).all()
        if not rows:
            owned = conn.execute(sa.text(
                "SELECT 1 FROM shopping_list_items i JOIN shopping_lists sl ON sl.id = i.list_id "
                "WHERE i.id = :i AND sl.user_id = :u AND i.product_id IS NOT NULL"),
                {"i": watch_id, "u": user.user_id}).first()
            if owned is None:
                raise HTTPException(404, "You have no product watch with that id.")
    return [{"store": r.store, "state": r.state, "message": state_words(r.state, r.store), "rule": r.state_rule,
             "listing_id": r.listing_id, "url": r.url,
             "price": None if r.price is None else str(r.price),
             "currency": r.currency.strip() if r.currency else None, "availability": r.availability,
             "last_searched_at": r.last_searched_at.isoformat() if r.last_searched_at else None,
             "next_search_at": r.next_search_at.isoformat() if r.next_search_at and r.state != "found" else None}
            for r in rows]
