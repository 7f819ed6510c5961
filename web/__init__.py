"""The HTTP service: sign up, verify, watch, manage and unsubscribe (`pricehound serve`).

A FastAPI app built by ``web.app.create_app``: a JSON API under /v1 (OpenAPI at /docs),
server-rendered pages for the links in emails, and /healthz for orchestrators.
"""
