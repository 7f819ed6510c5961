"""The hand-assembled MIME message parses cleanly, round-trips non-ASCII and forbids injection."""

from __future__ import annotations

import email
from email import policy

from alerts import mime


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def test_non_ascii_subject_name_and_bodies_round_trip_without_defects():
    env = mime.Envelope("pricehound <alerts@pricehound.example>", "ann@example.com", "Ann Müller",
                        "Prix en baisse : Bouilloire € 80 → maintenant, " * 3, "Texte € 80\n" * 5,
                        "<p>héllo €</p>\n" * 5, "https://x.test/unsubscribe?token=" + "a" * 300)
    raw = mime.build(env)
    raw.decode("ascii")  # 7-bit clean
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    msg = parse(raw)
    assert all(not part.defects for part in msg.walk())
    assert msg["Subject"] == mime.header_safe(env.subject, mime.SUBJECT_MAX)
    assert msg["To"] == "Ann Müller <ann@example.com>"
    assert msg["List-Unsubscribe"] == f"<{env.list_unsubscribe}>"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == env.text
    assert msg.get_body(("html",)).get_content().replace("\r\n", "\n") == env.html


def test_control_characters_cannot_start_new_headers():
    env = mime.Envelope("pricehound <alerts@pricehound.example>", "ann@example.com\r\nBcc: x@evil.example",
                        "Ann\nCc: y@evil.example", "Hi\r\nBcc: z@evil.example", "text", "<p>html</p>")
    msg = parse(mime.build(env))
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert msg["Subject"] == "Hi Bcc: z@evil.example"
    assert msg.get_body(("plain",)).get_content().strip() == "text"
