"""One-click unsubscribe (RFC 8058). GET confirms with a button; POST acts at once.

The POST needs no cookie, session or CSRF token: the signed token in the link authorises it,
as mail clients send it without any (`List-Unsubscribe=One-Click` in the form body).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pricehound import tokens
from web import unsubscribe as actions
from web.deps import app_state
from web.pages import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("pricehound.web.unsubscribe")

MAX_TOKEN = 4096


def _claims(request: Request, token: str | None) -> tuple[int, int | None] | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        data = tokens.verify("unsubscribe", token, app_state(request).settings.verifying_secrets).get("d")
    except tokens.TokenError:
        return None
    if not isinstance(data, dict):
        return None
    user_id, item_id = data.get("u"), data.get("w")
    if not isinstance(user_id, int) or not (item_id is None or isinstance(item_id, int)):
        return None
    return user_id, item_id


def _invalid(request: Request) -> Response:
    return render(request, "error.html", {
        "status": 400, "title": "This unsubscribe link cannot be used",
        "message": "The link is not valid or has expired. Use the link in a newer email, "
                   "or sign in to manage your alerts.", "offer_signin": True}, status_code=400)


@router.get("/unsubscribe")
def confirm(request: Request) -> Response:
    token = request.query_params.get("token", "")
    claims = _claims(request, token)
    if claims is None:
        return _invalid(request)
    user_id, item_id = claims
    with app_state(request).engine.connect() as conn:
        target = actions.describe(conn, user_id, item_id)
    return render(request, "unsubscribe.html", {"token": token, "item_id": item_id, "target": target})


@router.post("/unsubscribe")
async def unsubscribe(request: Request) -> Response:
    form = await request.form()
    token = request.query_params.get("token") or str(form.get("token") or "")
    claims = _claims(request, token)
    if claims is None:
        return _invalid(request)
    user_id, item_id = claims
    state = app_state(request)
    # the database work is short and synchronous: off the event loop
    def act() -> int:
        with state.engine.begin() as conn:
            if item_id is None:
                return actions.unsubscribe_everything(conn, user_id)
            return actions.unsubscribe_watch(conn, user_id, item_id)

    changed = await run_in_threadpool(act)
    log.info("unsubscribe: user %s from %s (%s watch(es) stopped)", user_id,
             "everything" if item_id is None else f"watch {item_id}", changed)
    return render(request, "unsubscribed.html", {"item_id": item_id})
