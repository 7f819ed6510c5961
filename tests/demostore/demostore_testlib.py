"""A tiny HTTP client for the demo store tests (no redirects followed)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        charset = self.headers.get_content_charset() or "utf-8"
        return self.body.decode(charset)

    def json(self):
        return json.loads(self.body)


def fetch(url: str, method: str = "GET", body=None, timeout: float = 30.0) -> Response:
    """One request, no redirects followed."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        data = None
        headers = {"User-Agent": "pricehound-tests"}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path or "/", body=data, headers=headers)
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()
