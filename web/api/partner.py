"""Server-to-server: a partner site creates watches for its users with an API key.

A partner key creates new watches only. Each one stays inactive until its owner confirms it
through a signed link in an email that names the partner; confirming also confirms the address.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, status

from alerts import links
from pricehound import catalog
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


CREATED_MESSAGE = ("Watch created but inactive: we emailed {email} a link naming {partner}. Nothing is "
                   "sent about this product until they confirm it through that link.")


class AlreadyWatched(Exception):
    """The user already watches this product; a partner never changes an existing watch."""


def create_inactive_watch(conn, who: apikeys.Partner, body: PartnerWatchIn, address: str) -> catalog.Watch:
    """A new watch, inactive until its owner confirms it; AlreadyWatched when the user already has
    one on this listing (in any list, active or stopped), which is left exactly as it is."""
    target = catalog.parse_money(body.target_price, "target price")
    drop = catalog.parse_percent(body.min_drop_percent)
    kinds = catalog.parse_notify(body.notify)
    user_id = catalog.add_user(conn, email=address)
    store = catalog.store_for_url(conn, body.url)
    listing_id = catalog.ensure_listing(conn, store, body.url)
    existing = conn.execute(sa.text(
        "SELECT 1 FROM shopping_list_items i JOIN shopping_lists l ON l.id = i.list_id "
        "WHERE l.user_id = :u AND i.listing_id = :listing LIMIT 1"), {"u": user_id, "listing": listing_id}).first()
    if existing:
        raise AlreadyWatched()
    list_id = catalog.ensure_list(conn, user_id, body.list or catalog.DEFAULT_LIST_NAME)
    row = conn.execute(sa.text(
        """
        INSERT INTO shopping_list_items (list_id, listing_id, target_price, min_drop_percent, notify_kinds,
                                         active, partner_key_id)
        VALUES (:list_id, :listing_id, :target, :drop, :kinds, false, :key_id)
        RETURNING id, (SELECT url FROM store_listings WHERE id = :listing_id) AS url
        """), dict(list_id=list_id, listing_id=listing_id, target=target, drop=drop, kinds=kinds,
                   key_id=who.key_id)).one()
    return catalog.Watch(id=int(row.id), user_id=user_id, listing_id=listing_id, store_slug=store.slug, url=row.url)


@router.post("/watches", status_code=status.HTTP_201_CREATED, response_model=PartnerWatchOut,
             summary="Create a new, inactive watch for one of your users",
             responses={401: {"description": "missing, unknown or revoked API key"},
                        409: {"description": "the user already watches this product; it is left unchanged"},
                        422: {"description": "bad email, or a URL on no known store or failing the safety rules"},
                        429: {"description": "too many requests for this key"}})
def create_watch(body: PartnerWatchIn, request: Request,
                 who: Annotated[apikeys.Partner, Depends(partner)]) -> PartnerWatchOut:
    """Creates new watches only: never changes, reactivates or widens one the user already has.
    Every watch made here stays inactive until the user confirms it through a link emailed to
    them that names the partner, whether or not they had an account."""
    state = app_state(request)
    address = catalog.parse_email(body.email)
    with state.engine.begin() as conn:
        try:
            watch = create_inactive_watch(conn, who, body, address)
        except AlreadyWatched:  # leaving the block with the exception rolls everything back
            raise HTTPException(409, "This person already watches this product. Only they can change "
                                     "that watch; nothing was changed.") from None
        conn.execute(sa.text("UPDATE users SET name = coalesce(name, :name) WHERE id = :id"),
                     {"id": watch.user_id, "name": body.name or None})
        activity.record(conn, watch.user_id, "add", [watch.listing_id])
        notification_id = state.mailer.queue_partner_confirmation(
            conn, user_id=watch.user_id, item_id=watch.id, partner=who.name, product_url=watch.url,
            link=links.partner_watch_url(watch.user_id, watch.id, state.settings))
    state.mailer.send([notification_id])
    return PartnerWatchOut(id=watch.id, url=watch.url, store=watch.store_slug, active=False,
                           message=CREATED_MESSAGE.format(email=address, partner=who.name))
