"""The JSON API under /v1 (documented in OpenAPI at /docs) and /healthz."""
