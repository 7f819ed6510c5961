"""A local SES v2 stand-in for the demo: accepts SendEmail, CreateEmailIdentity and GetAccount as boto3 sends them
(REST-JSON over HTTP on 127.0.0.1) and keeps nothing but a count. The demo reads the emails from
the .eml files the send path writes, so this is all it needs; a plain install has no moto."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path.rstrip("/") == "/v2/email/outbound-emails":
            with self.server.lock:
                self.server.sent += 1
            self._answer(200, {"MessageId": f"local-{uuid.uuid4().hex}"})
        elif self.path.rstrip("/") == "/v2/email/identities":  # CreateEmailIdentity: verified at once
            self._answer(200, {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": True})
        else:
            self._answer(404, {"message": "not supported by the local SES stand-in"})

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/v2/email/account":
            self._answer(200, {"SendQuota": {"Max24HourSend": 100000.0, "MaxSendRate": 20.0,
                                             "SentLast24Hours": float(self.server.sent)},
                               "SendingEnabled": True, "ProductionAccessEnabled": True})
        else:
            self._answer(404, {"message": "not supported by the local SES stand-in"})

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sent = 0
    lock = threading.Lock()


class LocalSES:
    """start(), get_host_and_port(), stop(): the same shape as moto's ThreadedMotoServer."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def sent(self) -> int:
        return self._server.sent

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
