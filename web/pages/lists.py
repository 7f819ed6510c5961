"""The lists page: each of your shopping lists with its totals (cheapest mix, single cheapest
store), quantities, bought items and sharing; and the lists others shared with you (read-only).
Every form is CSRF-protected, as on the manage page."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from pricehound import catalog, lists
from web import security
from web.deps import WatchId, app_state, optional_user
from web.pages import render

router = APIRouter(include_in_schema=False)

MESSAGES = {"saved": "Saved.", "shared": "Shared with that address, if it has a pricehound account.",
            "revoked": "Every share link given out so far no longer works."}


def _signin() -> Response:
    return RedirectResponse("/signin?next=/manage/lists", status_code=303)


def lists_page(request: Request, user: security.SessionUser, *, msg: str = "", link: str | None = None,
               error: str | None = None, status_code: int = 200) -> Response:
    with app_state(request).engine.connect() as conn:
        own = [lists.view(conn, i) for i in conn.execute(sa.text(
            "SELECT id FROM shopping_lists WHERE user_id = :u ORDER BY name"), {"u": user.user_id}).scalars()]
        shared = [lists.view(conn, i) for i, *_ in lists.shared_with_me(conn, user.user_id)]
    return render(request, "lists.html", {"own": own, "shared": shared, "message": MESSAGES.get(msg),
                                          "link": link, "error": error}, status_code=status_code)


@router.get("/manage/lists")
def page(request: Request, msg: str = Query("", max_length=32)) -> Response:
    user = optional_user(request)
    return _signin() if user is None else lists_page(request, user, msg=msg)


def _user(request: Request, csrf_token: str) -> security.SessionUser | None:
    security.check_csrf(request, app_state(request).settings, csrf_token)
    return optional_user(request)


def _done(msg: str) -> Response:
    return RedirectResponse(f"/manage/lists?msg={msg}", status_code=303)


@router.post("/manage/lists/{list_id}/items/{item_id}")
def change_item(request: Request, list_id: WatchId, item_id: WatchId, csrf_token: str = Form("", max_length=128),
                quantity: str = Form("", max_length=8), bought: str = Form("", max_length=8)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        qty = int(quantity) if quantity.strip() else None
    except ValueError:
        return lists_page(request, user, error="A quantity is a whole number.", status_code=422)
    try:
        with app_state(request).engine.begin() as conn:
            lists.set_item(conn, user.user_id, item_id, quantity=qty,
                           bought={"yes": True, "no": False}.get(bought))
    except catalog.InputError as exc:
        return lists_page(request, user, error=str(exc), status_code=422)
    return _done("saved")


@router.post("/manage/lists/{list_id}/describe")
def describe(request: Request, list_id: WatchId, csrf_token: str = Form("", max_length=128),
             description: str = Form("", max_length=lists.MAX_DESCRIPTION)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        with app_state(request).engine.begin() as conn:
            lists.describe(conn, lists.owned_list(conn, user.user_id, list_id), description)
    except catalog.InputError as exc:
        return lists_page(request, user, error=str(exc), status_code=422)
    return _done("saved")


@router.post("/manage/lists/{list_id}/share")
def share(request: Request, list_id: WatchId, csrf_token: str = Form("", max_length=128),
          email: str = Form("", max_length=254)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    with app_state(request).engine.begin() as conn:
        try:
            owned = lists.owned_list(conn, user.user_id, list_id)
            with conn.begin_nested():
                lists.share_with(conn, owned, email)
        except catalog.InputError:
            pass  # the same answer whether or not the address has an account
    return _done("shared")


@router.post("/manage/lists/{list_id}/link")
def link(request: Request, list_id: WatchId, csrf_token: str = Form("", max_length=128)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    state = app_state(request)
    try:
        with state.engine.begin() as conn:
            token = lists.share_token(conn, lists.owned_list(conn, user.user_id, list_id), state.settings.signing_secret)
    except catalog.InputError as exc:
        return lists_page(request, user, error=str(exc), status_code=422)
    return lists_page(request, user, link=lists.share_url(state.settings.public_url, token))


@router.post("/manage/lists/{list_id}/revoke")
def revoke(request: Request, list_id: WatchId, csrf_token: str = Form("", max_length=128)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        with app_state(request).engine.begin() as conn:
            lists.revoke_links(conn, lists.owned_list(conn, user.user_id, list_id))
    except catalog.InputError as exc:
        return lists_page(request, user, error=str(exc), status_code=422)
    return _done("revoked")
