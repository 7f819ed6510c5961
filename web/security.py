"""Sessions, CSRF protection, security headers and redirect targets.

Sessions are server-side rows (web_sessions) keyed by the SHA-256 of a random cookie value, so
signing out or disabling a user ends the session at once and a database copy opens nothing.
The cookie is HttpOnly and SameSite=Lax (Secure, with the __Host- prefix, when the public URL
is https).

CSRF: every form carries a token that is an HMAC of the browser's session cookie (or, before
sign-in, of a random per-browser cookie): a signed double-submit token. A page on another site
can neither read the cookie nor compute the HMAC, and the token needs no storage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import HTTPException, Request, Response
from sqlalchemy.engine import Connection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pricehound.config import Settings

SESSION_TTL = timedelta(days=14)
DEFAULT_NEXT = "/manage"


def _secure(settings: Settings) -> bool:
    return settings.public_url.lower().startswith("https://")


def session_cookie_name(settings: Settings) -> str:
    return "__Host-ph_session" if _secure(settings) else "ph_session"


def csrf_cookie_name(settings: Settings) -> str:
    return "__Host-ph_csrf" if _secure(settings) else "ph_csrf"


def hash_secret(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


# -- sessions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionUser:
    """The signed-in user behind a request."""

    user_id: int
    email: str
    name: str | None


def open_session(conn: Connection, user_id: int, ttl: timedelta = SESSION_TTL) -> str:
    """A new session for the user; returns the cookie value (shown to nobody else, stored hashed).

    Also clears this user's expired sessions, so the table stays the size of live sessions
    without a sweeper."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        sa.text(
            """
            WITH purged AS (DELETE FROM web_sessions WHERE user_id = :user_id AND expires_at < pricehound_now())
            INSERT INTO web_sessions (token_hash, user_id, expires_at)
            VALUES (:token_hash, :user_id, pricehound_now() + :ttl)
            """
        ),
        {"token_hash": hash_secret(token), "user_id": user_id, "ttl": ttl},
    )
    return token


def load_session(conn: Connection, token: str) -> SessionUser | None:
    """The active user holding this session cookie, or None (unknown, expired or disabled)."""
    if not token or len(token) > 128:
        return None
    row = conn.execute(
        sa.text(
            """
            SELECT u.id, u.email, u.name
              FROM web_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = :token_hash AND s.expires_at > pricehound_now() AND u.status = 'active'
            """
        ),
        {"token_hash": hash_secret(token)},
    ).one_or_none()
    return None if row is None else SessionUser(int(row.id), row.email, row.name)


def close_session(conn: Connection, token: str) -> None:
    conn.execute(sa.text("DELETE FROM web_sessions WHERE token_hash = :h"), {"h": hash_secret(token)})


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(session_cookie_name(settings), token, max_age=int(SESSION_TTL.total_seconds()),
                        path="/", httponly=True, samesite="lax", secure=_secure(settings))


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(session_cookie_name(settings), path="/", httponly=True, samesite="lax",
                           secure=_secure(settings))


# -- CSRF ---------------------------------------------------------------------------------------

def _csrf_for(settings: Settings, binding: str) -> str:
    return hmac.new(settings.signing_secret.encode(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request, response: Response | None, settings: Settings) -> str:
    """The token a form on this page must send back. Before sign-in it is bound to a random
    per-browser cookie, set on ``response`` when the browser has none yet."""
    binding = request.cookies.get(session_cookie_name(settings)) or request.cookies.get(csrf_cookie_name(settings))
    if not binding:
        binding = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = binding
        if response is not None:
            attach_csrf_cookie(request, response, settings)
    return _csrf_for(settings, binding)


def attach_csrf_cookie(request: Request, response: Response, settings: Settings) -> None:
    """Set the per-browser CSRF cookie minted while rendering, if any."""
    value = getattr(request.state, "new_csrf_cookie", None)
    if value:
        response.set_cookie(csrf_cookie_name(settings), value, path="/", httponly=True, samesite="lax",
                            secure=_secure(settings))


def check_csrf(request: Request, settings: Settings, submitted: str | None) -> None:
    """Refuse a form post whose token does not match this browser's cookie (403)."""
    candidates = [request.cookies.get(session_cookie_name(settings)), request.cookies.get(csrf_cookie_name(settings))]
    for binding in candidates:
        if binding and submitted and hmac.compare_digest(submitted, _csrf_for(settings, binding)):
            return
    raise HTTPException(403, "This form has expired or did not come from this site. Reload the page and try again.")


def same_origin_or_absent(request: Request, settings: Settings) -> bool:
    """Whether a state-changing API request comes from our own pages (or from no browser page).

    Browsers send Origin on cross-site requests; a request with none is not a browser's
    cross-site request. The only origin allowed is the configured public URL's: the request's
    own Host header is chosen by whoever sends it, so it proves nothing."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin.rstrip("/").lower() == _origin_of(settings.public_url)


def _origin_of(url: str) -> str:
    """scheme://host[:port] as a browser sends it in Origin (default ports left out)."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


# -- redirects ----------------------------------------------------------------------------------

def safe_next(raw: str | None, default: str = DEFAULT_NEXT) -> str:
    """A same-site path to go to after sign-in; anything that could leave the site becomes default.

    Only a path is accepted: "/x" but never "//host", "/\\host", "https://host" or a path with
    control characters (browsers drop tabs and newlines, which would turn "/\\t/host" into
    "//host")."""
    if not raw or len(raw) > 512 or not raw.startswith("/"):
        return default
    if raw.startswith(("//", "/\\")) or "\\" in raw or any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw


# -- headers ------------------------------------------------------------------------------------

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# Swagger UI (at /docs) is served by the app (web/pages/apidocs.py): the page policy, plus
# fetching /openapi.json and trying the API from the page.
DOCS_CSP = PAGE_CSP + "; connect-src 'self'"


class SecurityHeadersMiddleware:
    """Adds the security headers to every response (plain ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path == "/docs" else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [
                    (b"content-security-policy", csp.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
                ]
                if not path.startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                if self.https:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
