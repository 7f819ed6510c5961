"""The ASGI app: `web.app:create_app()` (what `pricehound serve` runs under uvicorn)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from pricehound import __version__
from pricehound.config import Settings, get_settings
from pricehound.db import check_schema, get_engine
from pricehound.redisconn import get_redis
from web import errors
from web.api import (
    auth,
    channels,
    health,
    lists,
    metrics,
    partner,
    products,
    sns,
    watch_stores,
    watches,
)
from web.deps import AppState
from web.mailer import Enqueue, LinkMailer
from web.pages import admin, apidocs, disputes, links, manage, unsubscribe
from web.pages import channels as channel_pages
from web.pages import lists as list_pages
from web.pages import partner as partner_pages
from web.ratelimit import RateLimiter, RateLimits
from web.security import SecurityHeadersMiddleware

HERE = Path(__file__).resolve().parent
log = logging.getLogger("pricehound.web")

DESCRIPTION = """
Sign up, verify, watch products and manage alerts.

* **Sign-up and sign-in** (`/v1/signup`, `/v1/login`) email a link and always answer 202.
  The link opens a session cookie; the other endpoints need it.
* **Watches** are product-page URLs on a known store, with a target price, a minimum drop
  percent and the kinds of alert wanted. Money is a decimal string with its ISO currency.
* **Partners** create watches for their users with `Authorization: Bearer phk_...`; those users
  verify their address before any alert is sent.
* Every error is JSON: `{"error": "<code>", "message": "<what to change>"}`.
"""


def create_app(settings: Settings | None = None, *, rate_limits: RateLimits | None = None,
               enqueue_send: Enqueue | None = None) -> FastAPI:
    """Build the app for these settings (default: from the environment).

    ``enqueue_send`` replaces how queued emails are handed to the send queue (default:
    ``alerts.outbox.enqueue_send``)."""
    settings = settings or get_settings()
    settings.signing_secret  # noqa: B018 - refuses a published, short or predictable secret at start
    app = FastAPI(title="pricehound", version=__version__, description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    engine = get_engine(settings)
    check_schema(engine)  # refuses a database a newer release migrated, before serving anything
    redis_client = get_redis(settings)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.pricehound = AppState(
        settings=settings, engine=engine, redis=redis_client,
        limiter=RateLimiter(redis_client), limits=rate_limits or RateLimits(),
        mailer=LinkMailer(enqueue_send), templates=templates,
    )
    errors.install(app)
    for router in (health.router, auth.router, watches.router, lists.router, partner.router,
                   links.router, manage.router, unsubscribe.router, sns.router, partner_pages.router,
                   disputes.router, channels.router, channel_pages.router, metrics.router, admin.router,
                   apidocs.router, products.router, lists.shared_router, watch_stores.router,
                   list_pages.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(SecurityHeadersMiddleware, https=settings.public_url.lower().startswith("https://"))
    return app
