"""Bounces and complaints: SES events -> email_suppressions.

Two ways in, one handler:
  * ``poll_queue`` — beat polls the SQS queue an SNS topic feeds (SES configuration set ->
    SNS -> SQS). The queue's policy lets only that topic write, so messages are trusted as
    they come; the envelope may be an SNS Notification or raw delivery of the SES event.
  * ``handle_sns_http`` — SNS posting straight to the HTTP service. Anyone can post there, so
    every message's SNS signature is verified against the signing certificate, fetched only
    from an SNS host (``sns.<region>.amazonaws.com``) over https.
A permanent bounce or a complaint suppresses the address; a transient bounce does not.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy.engine import Connection

from pricehound.config import get_settings
from pricehound.db import get_engine

log = logging.getLogger("pricehound.alerts.bounces")

SNS_CERT_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
MAX_CERT_BYTES = 64 * 1024


class SnsMessageRefused(ValueError):
    """The message is not a genuine SNS message (bad signature, foreign certificate, malformed)."""


@dataclass(frozen=True)
class Suppression:
    email: str
    reason: str  # bounce | complaint
    detail: str


# -- SES events ---------------------------------------------------------------------------------

def suppressions_from_ses_event(event: dict[str, Any]) -> list[Suppression]:
    """Addresses a SES event says never to mail again (event publishing or identity notifications)."""
    kind = event.get("eventType") or event.get("notificationType")
    found: list[Suppression] = []
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        for recipient in bounce.get("bouncedRecipients") or []:
            detail = " ".join(str(recipient.get(k) or "") for k in ("status", "diagnosticCode")).strip()
            found.append(Suppression(str(recipient.get("emailAddress", "")),
                                     "bounce", f"{bounce.get('bounceSubType', '')} {detail}".strip()))
    elif kind == "Complaint":
        complaint = event.get("complaint") or {}
        for recipient in complaint.get("complainedRecipients") or []:
            found.append(Suppression(str(recipient.get("emailAddress", "")), "complaint",
                                     str(complaint.get("complaintFeedbackType") or "complaint")))
    return [s for s in found if "@" in s.email]


def _bare_address(raw: str) -> str:
    from email.utils import parseaddr

    return parseaddr(raw)[1].strip().lower()


def suppress(conn: Connection, entries: Iterable[Suppression]) -> int:
    """Add addresses to email_suppressions in one statement; returns how many were new."""
    rows = {}
    for entry in entries:
        address = _bare_address(entry.email)
        if address:
            rows.setdefault(address, entry)
    if not rows:
        return 0
    return conn.execute(sa.text(
        """
        INSERT INTO email_suppressions (email, reason, detail)
        SELECT * FROM unnest(CAST(:emails AS text[]), CAST(:reasons AS text[]), CAST(:details AS text[]))
        ON CONFLICT (email) DO NOTHING
        """), {"emails": list(rows), "reasons": [e.reason for e in rows.values()],
               "details": [e.detail[:500] for e in rows.values()]}).rowcount


def ses_event_from_body(body: str) -> dict[str, Any]:
    """The SES event inside an SQS body: an SNS envelope, or raw message delivery."""
    outer = json.loads(body)
    if isinstance(outer, dict) and outer.get("Type") == "Notification" and "Message" in outer:
        inner = json.loads(outer["Message"])
        return inner if isinstance(inner, dict) else {}
    return outer if isinstance(outer, dict) else {}


# -- SQS polling --------------------------------------------------------------------------------

def _sqs_client() -> Any:
    import boto3

    from alerts.ses import _client_config

    settings = get_settings()
    return boto3.session.Session().client("sqs", region_name=settings.ses_region,
                                          endpoint_url=settings.ses_endpoint_url, config=_client_config())


def poll_queue(queue_url: str, *, max_batches: int = 10, wait_seconds: int = 1, client: Any = None) -> int:
    """Drain up to max_batches x 10 messages; returns how many addresses were newly suppressed."""
    sqs = client or _sqs_client()
    added = 0
    for _ in range(max_batches):
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        messages = reply.get("Messages") or []
        if not messages:
            break
        entries: list[Suppression] = []
        for message in messages:
            try:
                entries += suppressions_from_ses_event(ses_event_from_body(message["Body"]))
            except (ValueError, TypeError, KeyError) as exc:
                # a poison message would come back forever: log it and let it go
                log.warning("unreadable SES event message %s dropped: %s", message.get("MessageId"), exc)
        with get_engine().begin() as conn:
            added += suppress(conn, entries)
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    if added:
        log.info("suppressed %d address(es) from SES bounce/complaint events", added)
    return added


# -- SNS over HTTP ------------------------------------------------------------------------------

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def string_to_sign(message: dict[str, Any]) -> bytes:
    """SNS's canonical form: 'Key\\nvalue\\n' for each signed field present, in order."""
    fields = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else SUBSCRIPTION_FIELDS
    parts = []
    for name in fields:
        if name in message and message[name] is not None:
            parts.append(f"{name}\n{message[name]}\n")
    return "".join(parts).encode("utf-8")


def is_sns_cert_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(SNS_CERT_HOST.match(parts.hostname or "")) and parts.path.endswith(".pem")


@functools.lru_cache(maxsize=32)
def _fetch_certificate(url: str) -> x509.Certificate:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (scheme/host checked first)
        data = response.read(MAX_CERT_BYTES + 1)
    if len(data) > MAX_CERT_BYTES:
        raise SnsMessageRefused("signing certificate too large")
    return x509.load_pem_x509_certificate(data)


class SnsVerifier:
    """Checks an SNS message's signature; ``cert_url_allowed`` decides which hosts may sign."""

    def __init__(self, cert_url_allowed: Callable[[str], bool] = is_sns_cert_url):
        self.cert_url_allowed = cert_url_allowed

    def verify(self, message: dict[str, Any]) -> None:
        cert_url = str(message.get("SigningCertURL") or message.get("SigningCertUrl") or "")
        if not cert_url or not self.cert_url_allowed(cert_url):
            raise SnsMessageRefused(f"signing certificate URL not allowed: {cert_url[:200]!r}")
        version = str(message.get("SignatureVersion", ""))
        algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)  # noqa: S303 (SNS v1 is SHA1)
        if algorithm is None:
            raise SnsMessageRefused(f"unknown SignatureVersion {version!r}")
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        except ValueError:
            raise SnsMessageRefused("signature is not base64") from None
        try:
            certificate = _fetch_certificate(cert_url)
        except (OSError, ValueError) as exc:
            raise SnsMessageRefused(f"signing certificate unavailable: {exc}") from None
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SnsMessageRefused("signing certificate is not RSA")
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise SnsMessageRefused("bad signature") from None


def handle_sns_http(body: bytes | str, verifier: SnsVerifier | None = None) -> tuple[int, str]:
    """What the HTTP service's SNS endpoint answers: (status code, one-line text).

    200 when handled (a subscription is confirmed, a bounce or complaint suppressed), 400 for
    a body that is not an SNS message, 403 for a message whose signature does not hold.
    """
    verifier = verifier or SnsVerifier()
    try:
        message = json.loads(body)
        if not isinstance(message, dict) or "Type" not in message:
            raise ValueError("not an SNS message")
    except ValueError as exc:
        return 400, f"bad request: {exc}"
    try:
        verifier.verify(message)
    except SnsMessageRefused as exc:
        log.warning("refused SNS message %s: %s", message.get("MessageId"), exc)
        return 403, f"refused: {exc}"
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        url = str(message.get("SubscribeURL", ""))
        host = urlsplit(url).hostname or ""
        if not (urlsplit(url).scheme == "https" and SNS_CERT_HOST.match(host)) and not verifier.cert_url_allowed(url):
            return 400, "subscribe URL is not an SNS URL"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (host checked above)
            response.read(MAX_CERT_BYTES)
        log.info("confirmed SNS subscription to %s", message.get("TopicArn"))
        return 200, "subscribed"
    if kind != "Notification":
        return 200, "ignored"
    try:
        event = json.loads(message.get("Message") or "{}")
    except ValueError:
        return 400, "notification message is not JSON"
    entries = suppressions_from_ses_event(event if isinstance(event, dict) else {})
    with get_engine().begin() as conn:
        added = suppress(conn, entries)
    if added:
        log.info("suppressed %d address(es) from an SNS notification", added)
    return 200, f"suppressed {added}"
