"""/healthz: whether this process can reach PostgreSQL and Redis (docker-compose's healthcheck)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from web.deps import app_state

router = APIRouter(tags=["health"])
log = logging.getLogger("pricehound.web.health")


@router.get("/healthz", summary="Liveness and readiness",
            responses={200: {"description": "database and Redis answer"},
                       503: {"description": "one of them does not"}})
def healthz(request: Request) -> JSONResponse:
    state = app_state(request)
    checks = {"database": "ok", "redis": "ok"}
    try:
        with state.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        log.warning("healthz: database unreachable: %s", exc)
        checks["database"] = "unreachable"
    try:
        state.redis.ping()
    except Exception as exc:
        log.warning("healthz: redis unreachable: %s", exc)
        checks["redis"] = "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unhealthy", **checks}, status_code=200 if healthy else 503)
