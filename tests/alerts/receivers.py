"""Local receivers for channel tests: a webhook endpoint that checks our HMAC signature, and an
endpoint Apprise's json:// and form:// targets post to. Both on 127.0.0.1, port 0."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.localhttp import base_url, http_server


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Receiver:
    url: str
    secret: str | None = None
    status: int = 200
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.json() for r in self.got]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Records every POST; when ``secret`` is set, checks the signature (``signature_ok``)."""
    from alerts import targets
    from pricehound import clock

    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            ok = None
            if state.secret is not None:
                ok = targets.verify_signature(state.secret, headers.get("x-pricehound-timestamp", ""), body,
                                              headers.get("x-pricehound-signature", ""), now=clock.timestamp())
            with state.lock:
                state.got.append(Received(self.path, headers, body, ok))
            status = state.status if ok is not False else 401
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    with http_server(Handler, ThreadingHTTPServer) as server:
        state.url = base_url(server)
        yield state
