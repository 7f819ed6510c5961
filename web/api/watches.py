"""A signed-in user's watches: list, add, change, delete, and the price history of each."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from pricehound import catalog, products
from web import activity
from web.api.models import HistoryOut, HistoryPointOut, WatchIn, WatchOut, WatchPage, WatchPatch
from web.deps import MAX_ID, CurrentUser, WatchId, app_state
from web.productdata import best_offer, store_statuses
from web.watchdata import MAX_PAGE, get_watch, list_watches, price_history

router = APIRouter(prefix="/v1/watches", tags=["watches"])

NOT_FOUND = "You have no watch with that id."


@router.get("", response_model=WatchPage, summary="List your watches, a page at a time")
def list_(request: Request, user: CurrentUser,
          after: int = Query(0, ge=0, le=MAX_ID, description="return watches with ids above this (keyset paging)"),
          limit: int = Query(50, ge=1, le=MAX_PAGE),
          list_id: int | None = Query(None, ge=1, le=MAX_ID, description="only this shopping list"),
          active: bool | None = Query(None, description="only active (true) or paused (false) watches")) -> Response:
    with app_state(request).engine.connect() as conn:
        rows = list_watches(conn, user.user_id, after=after, limit=limit, list_id=list_id, active=active)
    page = WatchPage.model_construct(watches=[WatchOut.of(r) for r in rows],
                                     next_after=rows[-1].id if len(rows) == limit else None)
    # built from our own rows, so serialised once here rather than re-validated by FastAPI
    return Response(page.model_dump_json(), media_type="application/json")


def _out(conn, row) -> WatchOut:
    """A watch; a product watch with its stores side by side, priced at its best in-stock offer."""
    if row.product_id is None:
        return WatchOut.of(row)
    stores = store_statuses(conn, row.id)
    out = WatchOut.of(row, stores)
    best = best_offer(stores)
    if best is not None:
        out.price, out.currency, out.availability, out.store = best.price, best.currency, best.availability, best.store
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WatchOut,
             summary="Watch a product page, or a product at several stores",
             responses={422: {"description": "the URL is on no known store, or fails the safety rules; an "
                                             "unknown store or a bad GTIN"}})
def create(body: WatchIn, request: Request, user: CurrentUser) -> WatchOut:
    """`{"url": ...}` watches one page; `{"product": "name" | "#ID", "gtin": ..., "stores": [...]}`
    watches a product at those stores (omitted: any store), following every listing linked to it.
    A store that has no listing of the product yet shows "not found at <store> yet". Adding what
    you already watch in that list updates it instead."""
    state = app_state(request)
    if body.url is None:
        with state.engine.begin() as conn:
            pw = products.add_product_watch(
                conn, user_id=user.user_id, product=body.product, gtin=body.gtin, stores=body.stores,
                target_price=body.target_price, min_drop_percent=body.min_drop_percent, notify=body.notify,
                list_name=body.list)
            activity.record(conn, user.user_id, "add", [s.listing_id for s in store_statuses(conn, pw.id)])
            row = get_watch(conn, user.user_id, pw.id)
            assert row is not None
            return _out(conn, row)
    with state.engine.begin() as conn:
        watch = catalog.add_watch(conn, email=user.email, url=body.url, target_price=body.target_price,
                                  min_drop_percent=body.min_drop_percent, notify=body.notify,
                                  list_name=body.list or catalog.DEFAULT_LIST_NAME)
        activity.record(conn, user.user_id, "add", [watch.listing_id])
        row = get_watch(conn, user.user_id, watch.id)
    assert row is not None
    return WatchOut.of(row)


@router.get("/{watch_id}", response_model=WatchOut, summary="One watch",
            responses={404: {"description": "no such watch"}})
def read(watch_id: WatchId, request: Request, user: CurrentUser) -> WatchOut:
    with app_state(request).engine.begin() as conn:
        row = get_watch(conn, user.user_id, watch_id)
        if row is None:
            raise HTTPException(404, NOT_FOUND)
        activity.record(conn, user.user_id, "view", [row.listing_id], once_per=activity.VIEW_WINDOW)
        return _out(conn, row)


@router.patch("/{watch_id}", response_model=WatchOut, summary="Change a watch",
              responses={404: {"description": "no such watch"}, 422: {"description": "invalid value"}})
def update(watch_id: WatchId, body: WatchPatch, request: Request, user: CurrentUser) -> WatchOut:
    """Only the fields sent change; `"target_price": null` clears the target."""
    sent = body.model_fields_set
    changes = {name: getattr(body, name) for name in ("target_price", "min_drop_percent", "notify", "active")
               if name in sent}
    for name in ("min_drop_percent", "notify", "active"):
        if name in changes and changes[name] is None:
            raise HTTPException(422, f"{name} cannot be null")
    with app_state(request).engine.begin() as conn:
        if not catalog.update_watch(conn, user_id=user.user_id, item_id=watch_id, **changes):
            raise HTTPException(404, NOT_FOUND)
        row = get_watch(conn, user.user_id, watch_id)
    assert row is not None
    return WatchOut.of(row)


@router.delete("/{watch_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Stop watching",
               responses={404: {"description": "no such watch"}})
def delete(watch_id: WatchId, request: Request, user: CurrentUser) -> Response:
    with app_state(request).engine.begin() as conn:
        removed, listing_id = catalog.remove_watch(conn, user_id=user.user_id, item_id=watch_id)
        if not removed:
            raise HTTPException(404, NOT_FOUND)
        activity.record(conn, user.user_id, "remove", [listing_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{watch_id}/history", response_model=HistoryOut, summary="A watch's price history",
            responses={404: {"description": "no such watch"}})
def history(watch_id: WatchId, request: Request, user: CurrentUser,
            days: int = Query(90, ge=1, le=3650)) -> HistoryOut:
    """Every change of price or availability in the window, oldest first, led by the state
    already in effect when the window opened."""
    with app_state(request).engine.begin() as conn:
        row = get_watch(conn, user.user_id, watch_id)
        if row is None:
            raise HTTPException(404, NOT_FOUND)
        points = price_history(conn, [row.listing_id], days).get(row.listing_id, []) if row.listing_id else []
        activity.record(conn, user.user_id, "view", [row.listing_id], once_per=activity.VIEW_WINDOW)
    return HistoryOut(watch_id=watch_id, listing_id=row.listing_id, days=days,
                      points=[HistoryPointOut.of(p) for p in points])
