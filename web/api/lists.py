"""A signed-in user's shopping lists (watches name their list when they are added)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import Field, StringConstraints

from pricehound import catalog, lists, tokens
from web.api.models import Email, ListIn, ListOut, Strict, Text
from web.deps import CurrentUser, WatchId, app_state
from web.watchdata import list_lists

router = APIRouter(prefix="/v1/lists", tags=["lists"])


@router.get("", response_model=list[ListOut], summary="Your shopping lists")
def list_(request: Request, user: CurrentUser) -> list[ListOut]:
    with app_state(request).engine.connect() as conn:
        return [ListOut.of(r) for r in list_lists(conn, user.user_id)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ListOut, summary="Make a shopping list",
             responses={409: {"description": "you already have a list with that name"}})
def create(body: ListIn, request: Request, user: CurrentUser) -> ListOut:
    with app_state(request).engine.begin() as conn:
        row = conn.execute(
            sa.text(
                """
                INSERT INTO shopping_lists (user_id, name) VALUES (:user_id, :name)
                ON CONFLICT (user_id, name) DO NOTHING
                RETURNING id, name, created_at
                """
            ),
            {"user_id": user.user_id, "name": body.name},
        ).one_or_none()
    if row is None:
        raise HTTPException(409, f"You already have a list called {body.name!r}.")
    return ListOut(id=row.id, name=row.name, watches=0, created_at=row.created_at)


# -- one list: totals, quantities, bought items, sharing --------------------------------------------

NO_LIST = "You have no list with that id."


class ListPatch(Strict):
    description: Annotated[str, StringConstraints(max_length=lists.MAX_DESCRIPTION), Text] | None = None
    stores: Annotated[list[Annotated[str, StringConstraints(max_length=63), Text]], Field(max_length=100)] | None = Field(
        None, description="store slugs the totals may buy from; null or [] for any store")


class ItemPatch(Strict):
    quantity: Annotated[int, Field(ge=1, le=lists.MAX_QUANTITY)] | None = None
    bought: bool | None = None


class ShareIn(Strict):
    email: Email


class LinkIn(Strict):
    days: Annotated[int, Field(ge=1, le=lists.MAX_SHARE_LINK_DAYS)] = lists.SHARE_LINK_DAYS


def _owned(conn, user_id: int, list_id: int) -> int:
    try:
        return lists.owned_list(conn, user_id, list_id)
    except catalog.InputError:
        raise HTTPException(404, NO_LIST) from None


@router.get("/{list_id}", summary="One list with its items and totals (yours, or shared with you)",
            responses={404: {"description": "no such list you may read"}})
def read(list_id: WatchId, request: Request, user: CurrentUser) -> dict:
    """Totals are per currency: the cheapest mix of the list's stores (each item at its cheapest
    in-stock offer) and the single cheapest store that has every item (else the one with most)."""
    with app_state(request).engine.connect() as conn:
        if not lists.readable_by(conn, list_id, user.user_id):
            raise HTTPException(404, NO_LIST)
        return lists.view(conn, list_id).as_json()


@router.patch("/{list_id}", summary="Describe a list, or name the stores it buys from",
              responses={404: {"description": "no such list"}, 422: {"description": "unknown store"}})
def change(list_id: WatchId, body: ListPatch, request: Request, user: CurrentUser) -> dict:
    with app_state(request).engine.begin() as conn:
        _owned(conn, user.user_id, list_id)
        if "description" in body.model_fields_set:
            lists.describe(conn, list_id, body.description)
        if "stores" in body.model_fields_set:
            lists.set_stores(conn, list_id, body.stores or None)
        return lists.view(conn, list_id).as_json()


@router.patch("/{list_id}/items/{item_id}", summary="Change an item's quantity, or tick it off as bought",
              responses={404: {"description": "no such item on that list"}})
def change_item(list_id: WatchId, item_id: WatchId, body: ItemPatch, request: Request, user: CurrentUser) -> dict:
    with app_state(request).engine.begin() as conn:
        _owned(conn, user.user_id, list_id)
        on_list = conn.execute(sa.text("SELECT 1 FROM shopping_list_items WHERE id = :i AND list_id = :l"),
                               {"i": item_id, "l": list_id}).first()
        if on_list is None:
            raise HTTPException(404, "That list has no item with that id.")
        lists.set_item(conn, user.user_id, item_id, quantity=body.quantity, bought=body.bought)
        return lists.view(conn, list_id).as_json()


@router.post("/{list_id}/shares", status_code=status.HTTP_202_ACCEPTED,
             summary="Share a list read-only with another user by email")
def share(list_id: WatchId, body: ShareIn, request: Request, user: CurrentUser) -> dict:
    """Always 202: whether the address has an account is not told (no user enumeration); the
    list is shared if it has."""
    with app_state(request).engine.begin() as conn:
        _owned(conn, user.user_id, list_id)
        try:
            with conn.begin_nested():
                lists.share_with(conn, list_id, body.email)
        except catalog.InputError:
            pass
    return {"status": "accepted", "message": "The list is shared with that address if it has a pricehound account."}


@router.delete("/{list_id}/shares", status_code=status.HTTP_204_NO_CONTENT, summary="Stop sharing with a user")
def unshare(list_id: WatchId, request: Request, user: CurrentUser,
            email: str = Query(..., min_length=3, max_length=254)) -> Response:
    with app_state(request).engine.begin() as conn:
        _owned(conn, user.user_id, list_id)
        try:
            lists.unshare(conn, list_id, email)
        except catalog.InputError as exc:
            raise HTTPException(422, str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{list_id}/link", summary="A signed read-only link to the list")
def link(list_id: WatchId, request: Request, user: CurrentUser, body: LinkIn | None = None) -> dict:
    state = app_state(request)
    days = (body or LinkIn()).days
    with state.engine.begin() as conn:
        _owned(conn, user.user_id, list_id)
        token = lists.share_token(conn, list_id, state.settings.signing_secret, days=days)
    return {"url": lists.share_url(state.settings.public_url, token), "days": days}


@router.delete("/{list_id}/link", status_code=status.HTTP_204_NO_CONTENT,
               summary="Revoke every read-only link to the list given out so far")
def revoke(list_id: WatchId, request: Request, user: CurrentUser) -> Response:
    with app_state(request).engine.begin() as conn:
        _owned(conn, user.user_id, list_id)
        lists.revoke_links(conn, list_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


shared_router = APIRouter(tags=["lists"])


@shared_router.get("/v1/shared-lists", summary="A list shared by a signed link (read-only, no sign-in)",
                   responses={404: {"description": "the link is not valid, expired or revoked"}})
def shared_json(request: Request, token: str = Query(..., max_length=4096)) -> dict:
    state = app_state(request)
    with state.engine.connect() as conn:
        try:
            return lists.open_share_link(conn, token, state.settings.verifying_secrets).as_json()
        except tokens.TokenError:
            raise HTTPException(404, "This share link is not valid, has expired or was revoked.") from None


@shared_router.get("/lists/shared", include_in_schema=False)
def shared_page(request: Request, token: str = Query("", max_length=4096)) -> Response:
    from web.pages import render

    state = app_state(request)
    with state.engine.connect() as conn:
        try:
            v = lists.open_share_link(conn, token, state.settings.verifying_secrets)
        except tokens.TokenError:
            return render(request, "error.html", {
                "status": 404, "title": "This shared list cannot be shown",
                "message": "The link is not valid, has expired or was revoked. Ask its owner for a new one."},
                status_code=404)
    return render(request, "shared_list.html", {"list": v})
