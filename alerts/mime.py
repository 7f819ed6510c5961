"""The MIME message: multipart/alternative (text, then HTML), with headers that cannot be forged.

Every header value passes through ``header_safe`` first: CR, LF and other control characters
are how a product title would smuggle in a Bcc: line, so they become spaces before the email
library ever sees them (it would refuse them, which would fail the mail instead of sending it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid, parseaddr

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
SUBJECT_MAX = 180


def header_safe(value: str, limit: int = 500) -> str:
    """One line: control characters become single spaces, runs of spaces collapse."""
    return " ".join(_CONTROL.sub(" ", value or "").split())[:limit]


@dataclass(frozen=True)
class Envelope:
    sender: str
    to_email: str
    to_name: str | None
    subject: str
    text: str
    html: str
    list_unsubscribe: str | None = None


def build(envelope: Envelope) -> bytes:
    """The message as SES's Raw content wants it."""
    msg = EmailMessage(policy=SMTP)
    sender_name, sender_addr = parseaddr(envelope.sender)
    domain = sender_addr.rpartition("@")[2] or "pricehound.invalid"
    msg["From"] = formataddr((header_safe(sender_name), sender_addr))
    msg["To"] = formataddr((header_safe(envelope.to_name or ""), header_safe(envelope.to_email, 254)))
    msg["Subject"] = header_safe(envelope.subject, SUBJECT_MAX)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=domain)
    if envelope.list_unsubscribe:
        msg["List-Unsubscribe"] = f"<{header_safe(envelope.list_unsubscribe, 2000)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(envelope.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(envelope.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()
