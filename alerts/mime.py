"""The MIME message: multipart/alternative (text, then HTML), with headers that cannot be forged.

Every header value passes through ``header_safe`` first: CR, LF and other control characters
are how a product title would smuggle in a Bcc: line, so they become spaces before the email
library sees them. Built with the email package's compat32 classes: the policy-based
EmailMessage re-parses every header through the header registry, which cost several times
more than the rest of the send path put together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import charset as email_charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
SUBJECT_MAX = 180

# Plain ASCII bodies go as they are (7bit); anything else as UTF-8 in base64, which the
# standard library encodes in C (its quoted-printable encoder is pure Python and slow).
_UTF8_BASE64 = email_charset.Charset("utf-8")
_UTF8_BASE64.body_encoding = email_charset.BASE64
MAX_7BIT_LINE = 900


def _body(text: str, subtype: str) -> MIMEText:
    if text.isascii() and all(len(line) <= MAX_7BIT_LINE for line in text.splitlines()):
        return MIMEText(text, subtype, "us-ascii")
    return MIMEText(text, subtype, _UTF8_BASE64)


def header_safe(value: str, limit: int = 500) -> str:
    """One line: control characters become single spaces, runs of spaces collapse."""
    return " ".join(_CONTROL.sub(" ", value or "").split())[:limit]


def _header_text(value: str) -> str | Header:
    """ASCII stays as it is; anything else becomes an RFC 2047 encoded word."""
    return value if value.isascii() else Header(value, "utf-8")


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
    msg = MIMEMultipart("alternative")
    sender_name, sender_addr = parseaddr(envelope.sender)
    domain = sender_addr.rpartition("@")[2] or "pricehound.invalid"
    msg["From"] = formataddr((header_safe(sender_name), sender_addr), charset="utf-8")
    msg["To"] = formataddr((header_safe(envelope.to_name or ""), header_safe(envelope.to_email, 254)), charset="utf-8")
    msg["Subject"] = _header_text(header_safe(envelope.subject, SUBJECT_MAX))
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=domain)
    if envelope.list_unsubscribe:
        msg["List-Unsubscribe"] = f"<{header_safe(envelope.list_unsubscribe, 2000)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.attach(_body(envelope.text, "plain"))
    msg.attach(_body(envelope.html, "html"))
    return msg.as_bytes()
