"""What every request handler needs: the app's shared state and the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import redis
from fastapi import Depends, HTTPException, Path, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from pricehound.catalog import MAX_ID
from pricehound.config import Settings
from web import security
from web.mailer import LinkMailer
from web.ratelimit import Limit, RateLimiter, RateLimits


@dataclass
class AppState:
    """Built once by create_app; shared by every request of the process."""

    settings: Settings
    engine: Engine
    redis: redis.Redis
    limiter: RateLimiter
    limits: RateLimits
    mailer: LinkMailer
    templates: Jinja2Templates


class RateLimited(Exception):
    """A rate limit refused the request; answered 429 with Retry-After."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


class ServiceUnavailable(Exception):
    """Redis or PostgreSQL is unreachable; answered 503 without details."""


def app_state(request: Request) -> AppState:
    return request.app.state.pricehound


def enforce(state: AppState, limit: Limit, subject: str) -> None:
    """Count one hit; raise RateLimited when over the limit, ServiceUnavailable when Redis is down
    (failing closed: an email endpoint must not become unlimited because Redis went away)."""
    try:
        decision = state.limiter.hit(limit, subject)
    except redis.RedisError as exc:
        raise ServiceUnavailable("rate limiter unavailable") from exc
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_token(request: Request) -> str | None:
    return request.cookies.get(security.session_cookie_name(app_state(request).settings))


def optional_user(request: Request) -> security.SessionUser | None:
    """The signed-in user, or None. Looked up once per request."""
    if hasattr(request.state, "user"):
        return request.state.user
    token = session_token(request)
    user = None
    if token:
        with app_state(request).engine.connect() as conn:
            user = security.load_session(conn, token)
    request.state.user = user
    return user


def api_user(request: Request) -> security.SessionUser:
    """The signed-in user of an API request; 401 without a session, 403 for a cross-site write."""
    user = optional_user(request)
    if user is None:
        raise HTTPException(401, "Sign in first: POST /v1/login sends a sign-in link.")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not security.same_origin_or_absent(
            request, app_state(request).settings):
        raise HTTPException(403, "Cross-site requests are not allowed.")
    return user


CurrentUser = Annotated[security.SessionUser, Depends(api_user)]

# An id in a path: positive and within PostgreSQL's bigint, so a larger one is 422, not a 500.
WatchId = Annotated[int, Path(ge=1, le=MAX_ID)]
