"""The manage page's channels section (/manage/channels): add a webhook or Apprise channel,
send its test message, confirm its code, route alert kinds, remove it; and set the time zone,
quiet hours, daily cap and digest schedule. Every form is CSRF-protected."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from alerts import channels, noise
from alerts.outbox import ALERT_KINDS
from pricehound.catalog import MAX_ID, InputError
from web import security
from web.deps import app_state, optional_user
from web.pages import render

router = APIRouter(include_in_schema=False)

MESSAGES = {
    "verified": "Channel verified: alerts flow to it.",
    "code_sent": "Test message sent. Enter the code it carries to start alerts there.",
    "routed": "Alert kinds saved.",
    "removed": "Channel removed.",
    "noise": "Settings saved.",
}


def _signin() -> Response:
    return RedirectResponse("/signin?next=/manage/channels", status_code=303)


def page(request: Request, user: security.SessionUser, *, msg: str = "", error: str | None = None,
         secret: str | None = None, status_code: int = 200) -> Response:
    with app_state(request).engine.connect() as conn:
        found = channels.list_channels(conn, user.user_id)
        prefs = noise.describe(noise.get_prefs(conn, user.user_id))
    return render(request, "channels.html", {
        "user": user, "channels": found, "prefs": prefs, "alert_kinds": ALERT_KINDS, "digests": noise.DIGESTS,
        "message": MESSAGES.get(msg), "error": error, "secret": secret}, status_code=status_code)


def _user(request: Request, csrf_token: str) -> security.SessionUser | None:
    security.check_csrf(request, app_state(request).settings, csrf_token)
    return optional_user(request)


@router.get("/manage/channels")
def show(request: Request, msg: str = Query("", max_length=32)) -> Response:
    user = optional_user(request)
    return _signin() if user is None else page(request, user, msg=msg)


@router.post("/manage/channels")
def add(request: Request, csrf_token: str = Form("", max_length=128), kind: str = Form("", max_length=16),
        target: str = Form("", max_length=2048), label: str = Form("", max_length=200),
        kinds: Annotated[list[str] | None, Form()] = None) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    state = app_state(request)
    try:
        with state.engine.begin() as conn:
            channel, secret = channels.add_channel(conn, user.user_id, kind, target.strip() or None,
                                                   label=label.strip() or None, alert_kinds=kinds or None,
                                                   settings=state.settings)
    except InputError as exc:
        return page(request, user, error=str(exc), status_code=422)
    return page(request, user, secret=secret, msg="") if secret else RedirectResponse(
        f"/manage/channels#channel-{channel.id}", status_code=303)


@router.post("/manage/channels/{channel_id}/test")
def test(request: Request, channel_id: int = Path(ge=1, le=MAX_ID), csrf_token: str = Form("", max_length=128)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        state = app_state(request)
        result = channels.send_test(state.engine, user.user_id, channel_id, settings=state.settings)
    except InputError as exc:
        return page(request, user, error=str(exc), status_code=422)
    if not result.delivered:
        return page(request, user, error=f"The test message failed: {result.error}", status_code=422)
    return RedirectResponse(f"/manage/channels?msg={'code_sent' if result.needs_code else 'verified'}",
                            status_code=303)


@router.post("/manage/channels/{channel_id}/confirm")
def confirm(request: Request, channel_id: int = Path(ge=1, le=MAX_ID), csrf_token: str = Form("", max_length=128),
            code: str = Form("", max_length=12)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        with app_state(request).engine.begin() as conn:
            channels.confirm(conn, user.user_id, channel_id, code)
    except InputError as exc:
        return page(request, user, error=str(exc), status_code=422)
    return RedirectResponse("/manage/channels?msg=verified", status_code=303)


@router.post("/manage/channels/{channel_id}/route")
def route(request: Request, channel_id: int = Path(ge=1, le=MAX_ID), csrf_token: str = Form("", max_length=128),
          kinds: Annotated[list[str] | None, Form()] = None) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        with app_state(request).engine.begin() as conn:
            channels.route(conn, user.user_id, channel_id, kinds or "none")
    except InputError as exc:
        return page(request, user, error=str(exc), status_code=422)
    return RedirectResponse("/manage/channels?msg=routed", status_code=303)


@router.post("/manage/channels/{channel_id}/remove")
def remove(request: Request, channel_id: int = Path(ge=1, le=MAX_ID), csrf_token: str = Form("", max_length=128)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        with app_state(request).engine.begin() as conn:
            channels.remove_channel(conn, user.user_id, channel_id)
    except InputError as exc:
        return page(request, user, error=str(exc), status_code=422)
    return RedirectResponse("/manage/channels?msg=removed", status_code=303)


@router.post("/manage/noise")
def set_noise(request: Request, csrf_token: str = Form("", max_length=128), time_zone: str = Form("UTC", max_length=64),
              quiet: str = Form("", max_length=16), daily_cap: str = Form("", max_length=8),
              digest: str = Form("immediate", max_length=16), digest_hour: str = Form("8", max_length=4)) -> Response:
    user = _user(request, csrf_token)
    if user is None:
        return _signin()
    try:
        cap = int(daily_cap) if daily_cap.strip() else None
        hour = int(digest_hour)
    except ValueError:
        return page(request, user, error="The daily cap and the digest hour are whole numbers.", status_code=422)
    try:
        with app_state(request).engine.begin() as conn:
            noise.set_prefs(conn, user.user_id, time_zone=time_zone.strip(), quiet=quiet or "off", daily_cap=cap,
                            digest=digest, digest_hour=hour)
    except InputError as exc:
        return page(request, user, error=str(exc), status_code=422)
    return RedirectResponse("/manage/channels?msg=noise", status_code=303)
