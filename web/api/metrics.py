"""/metrics: Prometheus figures of the whole cluster, read at scrape time (pricehound/metrics.py).

Not part of the public API: it names stores and shows how busy the system is. Keep it off the
public network, or set PRICEHOUND_METRICS_TOKEN and give Prometheus the token as a bearer
credential (``authorization: {credentials: ...}`` in the scrape config).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from web.deps import app_state

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from pricehound import metrics as figures

    state = app_state(request)
    token = state.settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return JSONResponse({"error": "unauthorized", "message": "Send the metrics token as a bearer credential."},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = figures.registry(state.engine, state.redis)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
