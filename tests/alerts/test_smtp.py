"""Email through SMTP instead of SES (PRICEHOUND_EMAIL_TRANSPORT=smtp), against a small SMTP
server on 127.0.0.1: delivered with its Message-ID recorded, 4xx retried, 5xx failed."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from alerts import evaluate, send, smtp

from .conftest import add_event


@dataclass
class Mailbox:
    port: int = 0
    rcpt_reply: str = "250 ok"
    messages: list[bytes] = field(default_factory=list)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox()

    class Handler(socketserver.StreamRequestHandler):
        def say(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.say("220 test SMTP")
            while line := self.rfile.readline():
                verb = line.decode(errors="replace").strip().split(" ")[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.say("250 test")
                elif verb == "RCPT":
                    self.say(box.rcpt_reply)
                elif verb == "DATA":
                    self.say("354 go on")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk
                    box.messages.append(data)
                    self.say("250 queued")
                elif verb == "QUIT":
                    self.say("221 bye")
                    return
                else:
                    self.say("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        smtp.reset()
        server.shutdown()
        server.server_close()


@pytest.fixture()
def mailbox(alert_env, monkeypatch):
    from pricehound.config import get_settings

    with smtp_server() as box:
        for key, value in {"PRICEHOUND_EMAIL_TRANSPORT": "smtp", "PRICEHOUND_SMTP_HOST": "127.0.0.1",
                           "PRICEHOUND_SMTP_PORT": str(box.port), "PRICEHOUND_SMTP_SECURITY": "none"}.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield box
    get_settings.cache_clear()


def test_alerts_go_through_smtp_with_their_message_id_and_4xx_is_retried_5xx_failed(db, catalogue, mailbox):
    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    ids = evaluate.evaluate_events(db, [event], cooldown_seconds=0, window_seconds=0).notification_ids
    mailbox.rcpt_reply = "451 try later"
    first = send.send_notifications(ids)
    assert first.retry_ids == ids and not mailbox.messages
    mailbox.rcpt_reply = "250 ok"
    second = send.send_notifications(ids, ignore_send_after=True)
    assert second.sent == ids and len(mailbox.messages) == 1
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT status, provider_message_id FROM notifications")).one()
    assert row.status == "sent" and row.provider_message_id in mailbox.messages[0].decode()
    assert b"Subject:" in mailbox.messages[0] and b"ann@example.com" in mailbox.messages[0]

    mailbox.rcpt_reply = "550 no such mailbox"
    with db.begin() as conn:
        again = add_event(conn, catalogue.listing_id, "price_drop", "20.00", "10.00")
    more = evaluate.evaluate_events(db, [again], cooldown_seconds=0, window_seconds=0).notification_ids
    assert send.send_notifications(more).failed == more
