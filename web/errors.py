"""Every error is a clear message: JSON for the API, a small page for the pages, never a trace.

Unexpected exceptions are logged with their traceback for ops and answered with a plain 500.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus

import sqlalchemy.exc
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from pricehound.catalog import InputError
from web.deps import RateLimited, ServiceUnavailable

log = logging.getLogger("pricehound.web")

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid_input", 429: "rate_limited", 500: "internal_error", 503: "unavailable",
}
PAGE_PATHS = ("/verify", "/login", "/logout", "/signin", "/manage", "/unsubscribe", "/partner/confirm")


def wants_page(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/v1/", "/healthz", "/openapi")):
        return False
    return path == "/" or path.startswith(PAGE_PATHS) or "text/html" in request.headers.get("accept", "")


def error_response(request: Request, status: int, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    if wants_page(request):
        state = request.app.state.pricehound
        return state.templates.TemplateResponse(
            request, "error.html", {"status": status, "title": HTTPStatus(status).phrase, "message": message},
            status_code=status, headers=headers)
    body = {"error": CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_")), "message": message}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        text = str(err.get("msg", "invalid value"))
        if err.get("type") == "json_invalid":
            text = "the request body is not valid JSON"
        parts.append(f"{where}: {text}" if where else text)
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing here."
        elif exc.status_code == 405 and message == "Method Not Allowed":
            message = f"{request.method} is not allowed here."
        return error_response(request, exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, _validation_message(exc))

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> Response:
        return error_response(request, 422, str(exc))

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        seconds = max(1, math.ceil(exc.retry_after))
        return error_response(request, 429, f"Too many requests; try again in {seconds} seconds.",
                              {"Retry-After": str(seconds)})

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, exc: ServiceUnavailable) -> Response:
        log.warning("%s %s: %s (%s)", request.method, request.url.path, exc, exc.__cause__)
        return error_response(request, 503, "The service is briefly unavailable; try again shortly.",
                              {"Retry-After": "5"})

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    async def database_down(request: Request, exc: sqlalchemy.exc.OperationalError) -> Response:
        log.error("%s %s: database unavailable: %s", request.method, request.url.path,
                  str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
        return error_response(request, 503, "The service is briefly unavailable; try again shortly.",
                              {"Retry-After": "5"})

    @app.exception_handler(sqlalchemy.exc.DataError)
    async def unstorable_value(request: Request, exc: sqlalchemy.exc.DataError) -> Response:
        # a value PostgreSQL refuses (out of range, bad encoding) is the request's fault: the
        # validation in front should have caught it, so it is logged for a fix, but answered 422
        log.warning("%s %s: value refused by PostgreSQL: %s", request.method, request.url.path,
                    str(exc.orig).strip().splitlines()[0] if exc.orig else exc)
        return error_response(request, 422, "A value in the request is out of range or cannot be stored.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(request, 500, "Something went wrong on our side; it has been logged.")


__all__ = ["install", "error_response", "wants_page", "HTTPException"]
