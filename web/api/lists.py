"""A signed-in user's shopping lists (watches name their list when they are added)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, status

from web.api.models import ListIn, ListOut
from web.deps import CurrentUser, app_state
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
