"""The MIME message: multipart/alternative (text, then HTML), with headers that cannot be forged.

Every header value passes through ``header_safe`` first: CR, LF and other control characters
are how a product title would smuggle in a Bcc: line, so they become spaces before anything
else sees them. The message has one fixed shape, so it is assembled directly: the email
package's generators re-fold every header through Python-level code and cost more than the
rest of the send path together (about 1.3 ms a message against 0.4 ms to render it).
"""

from __future__ import annotations

import base64
import random
import re
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
# Unicode direction controls (marks, embeddings, overrides, isolates): in a subject or a name
# they make a mail client show text in another order than it was written ("gpj.exe").
DIRECTION_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SUBJECT_MAX = 180
MAX_7BIT_LINE = 900
CRLF = "\r\n"
# Boundaries need to be unique, not secret: os.urandom is a system call per message, and
# system calls are what a busy (or sandboxed) worker pays most for.
_boundaries = random.Random()


def header_safe(value: str, limit: int = 500) -> str:
    """One line: control characters become single spaces, runs of spaces collapse, direction
    controls are dropped."""
    return " ".join(_CONTROL.sub(" ", DIRECTION_CONTROLS.sub("", value or "")).split())[:limit]


def strip_direction_controls(value: str) -> str:
    return DIRECTION_CONTROLS.sub("", value)


def _encoded(name: str, value: str) -> str:
    """ASCII as it is; anything else as RFC 2047 encoded words, folded onto continuation lines."""
    if value.isascii() and "=?" not in value:
        return value
    # Text that merely looks like an encoded word ("=?utf-8?q?...=0D=0ABcc:...?=", from a product
    # title) is encoded itself, so a reader decodes it back to that literal text and never to
    # the CR/LF it spells.
    return Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def _address(name: str | None, address: str) -> str:
    display, mailbox = header_safe(name or ""), header_safe(address, 254)
    if "=?" in display:  # a name spelling an encoded word goes encoded, as literal text
        return f"{Header(display, 'utf-8').encode(linesep=CRLF)} <{mailbox}>"
    return formataddr((display, mailbox), charset="utf-8")


def _part(text: str, subtype: str) -> str:
    """One body part: plain ASCII goes as 7bit, anything else as UTF-8 in base64."""
    lines = text.splitlines()
    if text.isascii() and all(len(line) <= MAX_7BIT_LINE for line in lines):
        encoding, body = "7bit", CRLF.join(lines) + CRLF
    else:
        encoding = "base64"
        body = base64.encodebytes(text.encode("utf-8")).decode("ascii").replace("\n", CRLF)
    return (f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
            f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}")


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
    """The message as SES's Raw content wants it (CRLF line ends, 7-bit clean)."""
    sender_name, sender_addr = parseaddr(envelope.sender)
    domain = sender_addr.rpartition("@")[2] or "pricehound.invalid"
    parts = [_part(envelope.text, "plain"), _part(envelope.html, "html")]
    boundary = f"=_pricehound_{_boundaries.getrandbits(96):024x}"
    while any(boundary in p for p in parts):  # never in practice; cheap to be sure
        boundary = f"=_pricehound_{_boundaries.getrandbits(96):024x}"
    headers = [
        f"From: {_address(sender_name, sender_addr)}",
        f"To: {_address(envelope.to_name, envelope.to_email)}",
        f"Subject: {_encoded('Subject', header_safe(envelope.subject, SUBJECT_MAX))}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {make_msgid(domain=domain)}",
    ]
    if envelope.list_unsubscribe:
        headers.append(f"List-Unsubscribe: <{header_safe(envelope.list_unsubscribe, 900)}>")
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    headers += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"']
    body = "".join(f"--{boundary}{CRLF}{part}" for part in parts) + f"--{boundary}--{CRLF}"
    return (CRLF.join(headers) + CRLF + CRLF + body).encode("ascii")
