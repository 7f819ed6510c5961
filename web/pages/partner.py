"""The link in a partner's confirmation email: a page naming the partner and the product, whose
button turns the watch on. Opening the link changes nothing; the button works once."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from web import accounts
from web.deps import app_state
from web.pages import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("pricehound.web.partner")

MAX_TOKEN = 4096
PURPOSE = "partner_watch"


def _pending(request: Request, token: str) -> tuple[dict, sa.Row]:
    """The link's claims and the watch it confirms; LinkRefused when either is not usable."""
    state = app_state(request)
    claims = accounts.link_claims(state.engine, state.settings, PURPOSE, token)
    data = claims["d"]
    item_id = data.get("w") if isinstance(data, dict) else None
    if not isinstance(item_id, int) or isinstance(item_id, bool) or not 0 < item_id < 2**63:
        raise accounts.LinkRefused("This link is not valid. Ask for a new one.")
    with state.engine.connect() as conn:
        row = conn.execute(sa.text(
            """
            SELECT i.id, i.active, coalesce(l.title, l.url) AS product, k.name AS partner
              FROM shopping_list_items i JOIN shopping_lists sl ON sl.id = i.list_id
              JOIN store_listings l ON l.id = i.listing_id
              LEFT JOIN api_keys k ON k.id = i.partner_key_id
             WHERE i.id = :item AND sl.user_id = :user AND i.partner_key_id IS NOT NULL
            """), {"item": item_id, "user": data["u"]}).one_or_none()
    if row is None:
        raise accounts.LinkRefused("This watch no longer exists.")
    return claims, row


def _refused(request: Request, exc: accounts.LinkRefused) -> Response:
    return render(request, "error.html", {"status": 400, "title": "This link cannot be used",
                                          "message": str(exc), "offer_signin": True}, status_code=400)


@router.get("/partner/confirm")
def confirm_page(request: Request, token: str = Query("", max_length=MAX_TOKEN)) -> Response:
    try:
        _claims, row = _pending(request, token)
    except accounts.LinkRefused as exc:
        return _refused(request, exc)
    return render(request, "link_confirm.html", {
        "title": "Confirm a price alert", "action": "/partner/confirm", "token": token,
        "text": f"{row.partner or 'A partner site'} asked pricehound to email you about {row.product}. "
                "Press the button to start these alerts.",
        "button": "Start these alerts", "button_id": "confirm-watch"})


@router.post("/partner/confirm")
def confirm(request: Request, token: str = Form("", max_length=MAX_TOKEN)) -> Response:
    """Turns the watch on and confirms the address (the link reached its mailbox); works once."""
    state = app_state(request)
    try:
        claims, row = _pending(request, token)
        with state.engine.begin() as conn:
            accounts.use_link(conn, claims, PURPOSE)
            conn.execute(sa.text(
                "UPDATE shopping_list_items SET active = true, confirmed_at = pricehound_now(), "
                "updated_at = pricehound_now() WHERE id = :id AND confirmed_at IS NULL"), {"id": row.id})
            conn.execute(sa.text(
                "UPDATE users SET verified_at = coalesce(verified_at, pricehound_now()) WHERE id = :u"),
                {"u": claims["d"]["u"]})
    except accounts.LinkRefused as exc:
        return _refused(request, exc)
    log.info("partner watch %s confirmed by its owner", row.id)
    return render(request, "link_done.html", {"title": "Alert started",
                                              "text": f"You will hear about {row.product}."})
