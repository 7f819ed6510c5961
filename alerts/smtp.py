"""Email through an SMTP server, for operators without SES (``PRICEHOUND_EMAIL_TRANSPORT=smtp``).

The same MIME message the SES path builds is handed to the server with smtplib; the message's
own Message-ID is what the outbox records (SMTP has no provider id). A 4xx reply, a dropped
connection or a timeout is transient (the row is retried with backoff like SES throttling); a
5xx reply for the recipient is a permanent rejection. One connection per process and thread is
kept open between sends and reopened when the server closed it.
"""

from __future__ import annotations

import email.parser
import email.policy
import smtplib
import ssl
import threading
from email.utils import parseaddr

from pricehound.config import ConfigError, Settings

_local = threading.local()


def _connect(settings: Settings) -> smtplib.SMTP:
    if not settings.smtp_host:
        raise ConfigError("PRICEHOUND_EMAIL_TRANSPORT=smtp needs PRICEHOUND_SMTP_HOST")
    timeout = 30
    if settings.smtp_security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                                context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        if settings.smtp_security == "starttls":
            server.starttls(context=ssl.create_default_context())
    if settings.smtp_user:
        server.login(settings.smtp_user, settings.smtp_password or "")
    return server


def _server(settings: Settings) -> smtplib.SMTP:
    key = (settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.smtp_user)
    server = getattr(_local, "server", None)
    if server is None or getattr(_local, "key", None) != key:
        server = _connect(settings)
        _local.server, _local.key = server, key
    return server


def reset() -> None:
    server = getattr(_local, "server", None)
    _local.server = None
    if server is not None:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            pass


def send_raw(raw: bytes, settings: Settings) -> str:
    """Hand one MIME message to the SMTP server; returns its Message-ID."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    sender = parseaddr(str(headers.get("From", "")))[1] or parseaddr(settings.ses_sender)[1]
    recipient = parseaddr(str(headers.get("To", "")))[1]
    message_id = str(headers.get("Message-ID", "")).strip("<> ")
    for attempt in (1, 2):
        server = _server(settings)
        try:
            server.sendmail(sender, [recipient], raw)
            return message_id
        except smtplib.SMTPServerDisconnected:
            _local.server = None
            if attempt == 2:
                raise
    return message_id  # pragma: no cover - the loop returns or raises


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | ConnectionError | TimeoutError
                      | OSError)


def error_text(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"[:1000]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "SMTP refused: " + "; ".join(f"{code} {msg!r}" for code, msg in exc.recipients.values())[:900]
    return f"{type(exc).__name__}: {exc}"[:1000]
