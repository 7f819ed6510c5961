"""The pages behind the links in emails: verify an address, sign in, sign out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from pricehound import catalog
from web import accounts, security
from web.api.auth import ACCEPTED_MESSAGE
from web.deps import app_state, client_address, enforce, optional_user, session_token
from web.pages import render

router = APIRouter(include_in_schema=False)

MAX_TOKEN = 4096


def _refused(request: Request, exc: accounts.LinkRefused) -> Response:
    return render(request, "error.html", {"status": 400, "title": "This link cannot be used",
                                          "message": str(exc), "offer_signin": True}, status_code=400)


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/manage" if optional_user(request) else "/signin", status_code=303)


def _used_or_refused(request: Request, exc: accounts.LinkRefused) -> Response:
    """A link that was valid but already used opens the sign-in page with the address filled in;
    any other refusal explains itself."""
    if exc.used_by is None:
        return _refused(request, exc)
    state = app_state(request)
    return render(request, "signin.html", {
        "next": "/manage", "email": accounts.email_of(state.engine, exc.used_by),
        "notice": "That link was already used. We can email you a new one."})


def _confirm_page(request: Request, purpose: str, token: str, **context: str) -> Response:
    """GET on a link that signs in: a page whose button posts, so opening the link (a mail
    scanner, a link preview, a forwarded mail) uses nothing up and opens no session."""
    state = app_state(request)
    try:
        accounts.link_claims(state.engine, state.settings, purpose, token)
    except accounts.LinkRefused as exc:
        return _used_or_refused(request, exc)
    return render(request, "link_confirm.html", {"token": token, **context})


def _redeem_into(request: Request, purpose: str, token: str, response: Response) -> Response:
    state = app_state(request)
    try:
        _, cookie = accounts.redeem(state.engine, state.settings, state.redis, purpose, token)
    except accounts.LinkRefused as exc:
        return _refused(request, exc)
    security.set_session_cookie(response, state.settings, cookie)
    return response


@router.get("/verify")
def verify_page(request: Request, token: str = Query("", max_length=MAX_TOKEN)) -> Response:
    """The verification link: a button that confirms the address (and signs in) when pressed."""
    return _confirm_page(request, "verify", token, title="Confirm your address", action="/verify",
                         text="Press the button to confirm this address and start your alerts.",
                         button="Confirm my address", button_id="confirm")


@router.post("/verify")
def verify(request: Request, token: str = Form("", max_length=MAX_TOKEN)) -> Response:
    """Confirms the address and signs the person in; the link works once."""
    return _redeem_into(request, "verify", token, render(request, "verified.html"))


def manage_link_page(request: Request, token: str) -> Response:
    """GET /manage?token= (the link in alert emails): a button that signs in once."""
    return _confirm_page(request, "manage", token, title="Open your alerts", action="/manage/open",
                         text="Press the button to sign in and manage your watches. This link works once.",
                         button="Open my alerts", button_id="open-manage")


@router.post("/manage/open")
def manage_open(request: Request, token: str = Form("", max_length=MAX_TOKEN)) -> Response:
    return _redeem_into(request, "manage", token, RedirectResponse("/manage", status_code=303))


@router.get("/login")
def login_page(request: Request, token: str = Query("", max_length=MAX_TOKEN),
               next: str = Query("", max_length=512)) -> Response:  # noqa: A002 - the parameter's public name
    """Shows a sign-in button instead of signing in on GET, so a mail scanner that opens links
    cannot use up the one-time link before its owner does."""
    state = app_state(request)
    try:
        accounts.link_claims(state.engine, state.settings, "login", token)
    except accounts.LinkRefused as exc:
        return _used_or_refused(request, exc)
    return render(request, "login.html", {"token": token, "next": security.safe_next(next)})


@router.post("/login")
def login(request: Request, token: str = Form("", max_length=MAX_TOKEN),
          next: str = Form("", max_length=512)) -> Response:  # noqa: A002
    """Uses the one-time link (the token authorises the post) and opens a session."""
    state = app_state(request)
    try:
        _, cookie = accounts.redeem(state.engine, state.settings, state.redis, "login", token)
    except accounts.LinkRefused as exc:
        return _refused(request, exc)
    response = RedirectResponse(security.safe_next(next), status_code=303)
    security.set_session_cookie(response, state.settings, cookie)
    return response


@router.get("/signin")
def signin_page(request: Request, next: str = Query("", max_length=512),  # noqa: A002
                msg: str = Query("", max_length=32), email: str = Query("", max_length=254)) -> Response:
    return render(request, "signin.html", {"next": security.safe_next(next), "signed_out": msg == "signed_out",
                                           "email": email if "\x00" not in email else ""})


@router.post("/signin")
def signin(request: Request, email: str = Form("", max_length=254), csrf_token: str = Form("", max_length=128),
           next: str = Form("", max_length=512)) -> Response:  # noqa: A002
    state = app_state(request)
    security.check_csrf(request, state.settings, csrf_token)
    try:
        address = catalog.parse_email(email)
    except catalog.InputError as exc:
        return render(request, "signin.html", {"next": security.safe_next(next), "error": str(exc),
                                               "email": email}, status_code=422)
    enforce(state, state.limits.email_per_client, client_address(request))
    enforce(state, state.limits.email_per_address, address.lower())
    accounts.send_access_link(state.engine, state.settings, state.mailer, email=address)
    return render(request, "signin_sent.html", {"message": ACCEPTED_MESSAGE})


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("", max_length=128)) -> Response:
    state = app_state(request)
    security.check_csrf(request, state.settings, csrf_token)
    token = session_token(request)
    if token:
        with state.engine.begin() as conn:
            security.close_session(conn, token)
    response = RedirectResponse("/signin?msg=signed_out", status_code=303)
    security.clear_session_cookie(response, state.settings)
    return response
