"""Sign-up, sign-in by emailed link, and the session that link opens."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from pricehound import catalog
from web import accounts, security
from web.api.models import Accepted, LoginIn, SessionIn, SignupIn, UserOut
from web.deps import CurrentUser, app_state, client_address, enforce, session_token

router = APIRouter(prefix="/v1", tags=["account"])

ACCEPTED_MESSAGE = "If the address can receive email, a link is on its way. It may take a minute."


def _send_link(request: Request, email: str, name: str | None) -> Accepted:
    state = app_state(request)
    address = catalog.parse_email(email)  # a malformed address is 422 whether or not it exists
    enforce(state, state.limits.email_per_client, client_address(request))
    enforce(state, state.limits.email_per_address, address.lower())
    accounts.send_access_link(state.engine, state.settings, state.mailer, email=address, name=name)
    return Accepted(message=ACCEPTED_MESSAGE)


@router.post("/signup", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Sign up: emails a verification link",
             responses={422: {"description": "not an email address"}, 429: {"description": "too many requests"}})
def signup(body: SignupIn, request: Request) -> Accepted:
    """Always 202, whether or not the address already has an account (no user enumeration).
    A verified address gets a sign-in link instead of a verification link."""
    return _send_link(request, body.email, body.name)


@router.post("/login", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             summary="Sign in: emails a one-time sign-in link",
             responses={422: {"description": "not an email address"}, 429: {"description": "too many requests"}})
def login(body: LoginIn, request: Request) -> Accepted:
    """Always 202. The link is valid for 15 minutes and works once; an address that has not been
    verified gets a verification link, which signs in too."""
    return _send_link(request, body.email, None)


@router.post("/session", response_model=UserOut, summary="Exchange a sign-in link's token for a session",
             responses={400: {"description": "forged, expired or already used token"}})
def open_session(body: SessionIn, request: Request, response: Response) -> UserOut:
    """For clients that are not browsers: the token from /login?token=... opens a session whose
    cookie is set on this response. The token works once."""
    state = app_state(request)
    try:
        user_id, cookie = accounts.redeem(state.engine, state.settings, state.redis, "login", body.token)
    except accounts.LinkRefused as exc:
        raise HTTPException(400, str(exc)) from None
    security.set_session_cookie(response, state.settings, cookie)
    with state.engine.connect() as conn:
        user = security.load_session(conn, cookie)
    assert user is not None and user.user_id == user_id
    return UserOut(id=user.user_id, email=user.email, name=user.name)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
def close_session(request: Request, user: CurrentUser) -> Response:
    state = app_state(request)
    token = session_token(request)
    if token:
        with state.engine.begin() as conn:
            security.close_session(conn, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    security.clear_session_cookie(response, state.settings)
    return response


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(user: CurrentUser) -> UserOut:
    return UserOut(id=user.user_id, email=user.email, name=user.name)
