"""'This is wrong': the signed link in every alert email. GET shows the alert and one button;
POST records the dispute (idempotent). The token authorises it: no session, cookie or CSRF token,
as for one-click unsubscribe. GET records nothing, because mail scanners open every link."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from alerts import disputes
from pricehound import tokens
from web.deps import app_state
from web.pages import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("pricehound.web.disputes")

MAX_TOKEN = 4096


def _claims(request: Request, token: str | None) -> tuple[int, int] | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        data = tokens.verify(disputes.PURPOSE, token, app_state(request).settings.signing_secret).get("d")
    except tokens.TokenError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("n"), int):
        return None
    return data["u"], data["n"]


def _invalid(request: Request) -> Response:
    return render(request, "error.html", {
        "status": 400, "title": "This link cannot be used",
        "message": "The link is not valid or has expired.", "offer_signin": True}, status_code=400)


@router.get("/wrong")
def confirm(request: Request) -> Response:
    token = request.query_params.get("token", "")
    claims = _claims(request, token)
    if claims is None:
        return _invalid(request)
    with app_state(request).engine.connect() as conn:
        alert = disputes.describe(conn, *claims)
    if alert is None:
        return _invalid(request)
    return render(request, "dispute.html", {"token": token, "alert": alert, "recorded": False})


@router.post("/wrong")
async def record(request: Request) -> Response:
    form = await request.form()
    token = request.query_params.get("token") or str(form.get("token") or "")
    claims = _claims(request, token)
    if claims is None:
        return _invalid(request)
    state = app_state(request)

    def act():
        with state.engine.begin() as conn:
            return disputes.record(conn, *claims), disputes.describe(conn, *claims)

    recorded, alert = await run_in_threadpool(act)
    if not recorded or alert is None:
        return _invalid(request)
    log.info("dispute: user %s says notification %s is wrong", *claims)
    return render(request, "dispute.html", {"token": token, "alert": alert, "recorded": True})
