"""The manage page: each watch with its price, availability, 90-day low and a small chart, and
forms to change the target, pause, resume or delete (all CSRF-protected)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from pricehound import catalog, clock, products
from web import activity, security
from web import unsubscribe as unsubscribe_actions
from web.charts import Chart, step_chart
from web.deps import MAX_ID, WatchId, app_state, optional_user
from web.pages import render
from web.productdata import best_offer, record_search, store_statuses
from web.watchdata import (
    WatchRow,
    count_watches,
    list_watches,
    price_history,
    unsubscribed_from_everything,
)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
CHART_DAYS = 90
MESSAGES = {
    "saved": "Target price saved.",
    "paused": "Paused: no emails about this product until you resume it.",
    "resumed": "Resumed.",
    "deleted": "Removed from your watches.",
    "email_resumed": "Emails are on again for your active watches.",
    "watching": "Watching the product at the stores you chose; stores where it is not found yet say so.",
}
SEARCH_RESULTS = 10


@dataclass(frozen=True)
class WatchView:
    watch: WatchRow
    chart: Chart | None
    stores: list | None = None  # a product watch: each store side by side
    best: object = None  # a product watch: its best in-stock offer


def _signin_redirect() -> Response:
    return RedirectResponse("/signin?next=/manage", status_code=303)


def _manage_url(msg: str, watch_id: int | None = None) -> str:
    return f"/manage?msg={msg}" + (f"#watch-{watch_id}" if watch_id else "")


def manage_page(request: Request, user: security.SessionUser, *, after: int = 0, msg: str = "",
                error: str | None = None, status_code: int = 200, query: str = "") -> Response:
    state = app_state(request)
    now = clock.now()
    found: list[products.Product] | None = None
    with state.engine.begin() as conn:
        if query:
            found = products.search(conn, query, limit=SEARCH_RESULTS)
            record_search(conn, user.user_id, query, found)
        shops = [s for s in catalog.list_stores(conn) if s.active]
        watches = list_watches(conn, user.user_id, after=after, limit=PAGE_SIZE)
        total = count_watches(conn, user.user_id)
        listing_ids = [w.listing_id for w in watches if w.listing_id is not None]
        history = price_history(conn, listing_ids, CHART_DAYS)
        unsubscribed_at = unsubscribed_from_everything(conn, user.email)
        activity.record(conn, user.user_id, "view", listing_ids, once_per=activity.VIEW_WINDOW)
        stores_of = {w.id: store_statuses(conn, w.id) for w in watches if w.product_id is not None}
    views = []
    for w in watches:
        samples = [(p.observed_at, p.price, p.availability) for p in history.get(w.listing_id or 0, [])]
        if w.price is not None and w.observed_at is not None and not samples:
            samples = [(w.observed_at, w.price, w.availability)]
        chart = step_chart(samples, now, currency=w.currency or "", target=w.target_price,
                           low_90d=w.lowest_90d) if samples else None
        stores = stores_of.get(w.id)
        views.append(WatchView(w, chart, stores, best_offer(stores) if stores else None))
    return render(request, "manage.html", {
        "user": user, "views": views, "total": total, "after": after,
        "next_after": watches[-1].id if len(watches) == PAGE_SIZE else None,
        "message": MESSAGES.get(msg), "error": error, "unsubscribed_at": unsubscribed_at,
        "query": query, "found": found, "shops": shops,
    }, status_code=status_code)


@router.get("/manage")
def manage(request: Request, token: str = Query("", max_length=4096), after: int = Query(0, ge=0, le=MAX_ID),
           msg: str = Query("", max_length=32), q: str = Query("", max_length=200)) -> Response:
    """With ?token= (the link in alert emails) shows a button that signs in once (POST
    /manage/open); without one, needs a session."""
    if token:
        from web.pages.links import manage_link_page

        return manage_link_page(request, token)
    user = optional_user(request)
    if user is None:
        return _signin_redirect()
    if catalog.control_character(q) is not None:
        return manage_page(request, user, error="The search must not contain control characters.", status_code=422)
    return manage_page(request, user, after=after, msg=msg, query=q.strip())


def _form_user(request: Request, csrf_token: str) -> security.SessionUser | None:
    security.check_csrf(request, app_state(request).settings, csrf_token)
    return optional_user(request)


@router.post("/manage/watches/{watch_id}/target")
def change_target(request: Request, watch_id: WatchId, csrf_token: str = Form("", max_length=128),
                  target_price: str = Form("", max_length=32)) -> Response:
    user = _form_user(request, csrf_token)
    if user is None:
        return _signin_redirect()
    try:
        with app_state(request).engine.begin() as conn:
            found = catalog.update_watch(conn, user_id=user.user_id, item_id=watch_id,
                                         target_price=target_price.strip() or None)
    except catalog.InputError as exc:
        return manage_page(request, user, error=str(exc), status_code=422)
    return RedirectResponse(_manage_url("saved" if found else "", watch_id), status_code=303)


def _set_active(request: Request, watch_id: int, csrf_token: str, active: bool) -> Response:
    user = _form_user(request, csrf_token)
    if user is None:
        return _signin_redirect()
    with app_state(request).engine.begin() as conn:
        found = catalog.update_watch(conn, user_id=user.user_id, item_id=watch_id, active=active)
    return RedirectResponse(_manage_url(("resumed" if active else "paused") if found else "", watch_id),
                            status_code=303)


@router.post("/manage/watches/{watch_id}/pause")
def pause(request: Request, watch_id: WatchId, csrf_token: str = Form("", max_length=128)) -> Response:
    return _set_active(request, watch_id, csrf_token, False)


@router.post("/manage/watches/{watch_id}/resume")
def resume(request: Request, watch_id: WatchId, csrf_token: str = Form("", max_length=128)) -> Response:
    return _set_active(request, watch_id, csrf_token, True)


@router.post("/manage/watches/{watch_id}/delete")
def delete(request: Request, watch_id: WatchId, csrf_token: str = Form("", max_length=128)) -> Response:
    user = _form_user(request, csrf_token)
    if user is None:
        return _signin_redirect()
    with app_state(request).engine.begin() as conn:
        removed, listing_id = catalog.remove_watch(conn, user_id=user.user_id, item_id=watch_id)
        if removed:
            activity.record(conn, user.user_id, "remove", [listing_id])
    return RedirectResponse(_manage_url("deleted" if removed else ""), status_code=303)


@router.post("/manage/email/resume")
def resume_email(request: Request, csrf_token: str = Form("", max_length=128)) -> Response:
    """Undo an unsubscribe-from-everything: an explicit opt back in by the signed-in owner."""
    user = _form_user(request, csrf_token)
    if user is None:
        return _signin_redirect()
    with app_state(request).engine.begin() as conn:
        unsubscribe_actions.resume_email(conn, user.email)
    return RedirectResponse(_manage_url("email_resumed"), status_code=303)


@router.post("/manage/products/watch")
def watch_product(request: Request, csrf_token: str = Form("", max_length=128),
                  product: str = Form("", max_length=210), stores: Annotated[list[str] | None, Form()] = None) -> Response:
    """Watch a product (by "#ID" from the search results, or by name) at the ticked stores (none
    ticked: any store)."""
    user = _form_user(request, csrf_token)
    if user is None:
        return _signin_redirect()
    stores = [s for s in (stores or []) if s.strip()]
    if len(stores) > 50:
        return manage_page(request, user, error="Choose at most 50 stores.", status_code=422)
    try:
        with app_state(request).engine.begin() as conn:
            watch = products.add_product_watch(conn, user_id=user.user_id, product=product, stores=stores or None)
    except catalog.InputError as exc:
        return manage_page(request, user, error=str(exc), status_code=422)
    return RedirectResponse(_manage_url("watching", watch.id), status_code=303)
