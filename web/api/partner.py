"""Server-to-server: a partner site creates watches for its users with an API key.

The user is created unverified if new and is sent a verification email (at most one a day from
partner traffic); nothing else is mailed to them until they confirm their address.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, status

from alerts import links
from pricehound import catalog, clock
from web import activity, apikeys
from web.api.models import PartnerWatchIn, PartnerWatchOut
from web.deps import app_state, enforce

router = APIRouter(prefix="/v1/partner", tags=["partner"])


def partner(request: Request) -> apikeys.Partner:
    """The partner named by `Authorization: Bearer phk_...`; 401 for a missing, unknown or revoked key."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(401, "Send your API key as `Authorization: Bearer phk_...`.",
                            headers={"WWW-Authenticate": "Bearer"})
    state = app_state(request)
    with state.engine.begin() as conn:
        found = apikeys.authenticate(conn, key.strip())
    if found is None:
        raise HTTPException(401, "This API key is not valid or has been revoked.",
                            headers={"WWW-Authenticate": "Bearer"})
    enforce(state, state.limits.partner_per_key, found.prefix)
    return found


@router.post("/watches", status_code=status.HTTP_201_CREATED, response_model=PartnerWatchOut,
             summary="Create a watch for one of your users",
             responses={401: {"description": "missing, unknown or revoked API key"},
                        422: {"description": "bad email, or a URL on no known store or failing the safety rules"},
                        429: {"description": "too many requests for this key"}})
def create_watch(body: PartnerWatchIn, request: Request,
                 who: Annotated[apikeys.Partner, Depends(partner)]) -> PartnerWatchOut:
    state = app_state(request)
    address = catalog.parse_email(body.email)
    notification_id = None
    with state.engine.begin() as conn:
        user_id = catalog.add_user(conn, email=address)
        verified = conn.execute(
            sa.text("UPDATE users SET name = coalesce(name, :name) WHERE id = :id "
                    "RETURNING verified_at IS NOT NULL"),
            {"id": user_id, "name": (body.name or None)},
        ).scalar_one()
        watch = catalog.add_watch(conn, email=address, url=body.url, target_price=body.target_price,
                                  min_drop_percent=body.min_drop_percent, notify=body.notify,
                                  list_name=body.list or catalog.DEFAULT_LIST_NAME)
        activity.record(conn, user_id, "add", [watch.listing_id])
        if not verified:
            day = clock.now().date().isoformat()
            notification_id = state.mailer.queue(
                conn, user_id=user_id, kind="verify", link=links.verify_url(user_id, state.settings),
                dedupe_key=f"verify:{user_id}:partner:{day}")
    if notification_id is not None:
        state.mailer.send([notification_id])
    return PartnerWatchOut(id=watch.id, url=watch.url, store=watch.store_slug,
                           message="Watch created. Alerts start once the user confirms their address.")
