"""Server-rendered pages (Jinja2) for the links in emails: verify, sign in, manage, unsubscribe."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from web import security
from web.deps import app_state


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """A page, with a CSRF token for its forms (and the per-browser CSRF cookie if it needed one)."""
    state = app_state(request)
    ctx: dict[str, Any] = {"csrf_token": lambda: security.csrf_token(request, None, state.settings)}
    ctx.update(context or {})
    response = state.templates.TemplateResponse(request, template, ctx, status_code=status_code)
    security.attach_csrf_cookie(request, response, state.settings)
    return response
