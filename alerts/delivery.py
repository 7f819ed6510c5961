"""One message, one channel: how it is rendered, rate-limited and handed over.

- email: the MIME message, through SES (as before) or SMTP (``PRICEHOUND_EMAIL_TRANSPORT``);
- webhook: a signed JSON document listing the alerts (``targets.post_webhook``);
- apprise: the email's subject as title and its text as body (``targets.apprise_notify``).

Each channel kind has its own cluster-wide rate limit (a GCRA key in Redis per kind). What the
provider returns (SES MessageId, the SMTP Message-ID, the webhook/Apprise delivery id, which is
the message's digest key) is what the outbox records on the sent rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alerts import links, mime, ratelimit, render, ses, smtp, targets
from pricehound import clock
from pricehound.config import Settings
from pricehound.redisconn import get_redis

if TYPE_CHECKING:
    from alerts.send import Message

RATE_KEYS = {"email": ratelimit.KEY, "webhook": "pricehound:webhook:send-gcra",
             "apprise": "pricehound:apprise:send-gcra"}
PAYLOAD_VERSION = 1


@dataclass
class Job:
    """A rendered message ready to go: ``send()`` returns the provider's id or raises."""

    send: Callable[[], str]
    raw: bytes | None = None  # the MIME bytes of an email (written as .eml when asked)


def rate(settings: Settings, channel: str) -> Decimal:
    if channel == "webhook":
        return settings.webhook_max_send_rate
    if channel == "apprise":
        return settings.apprise_max_send_rate
    if settings.email_transport == "smtp":
        return settings.smtp_max_send_rate
    return ses.max_send_rate(settings)


def limiter(settings: Settings, channel: str) -> ratelimit.SendRateLimiter:
    """The channel kind's cluster-wide limit (webhooks and Apprise reserve their slot in one call)."""
    cls = ratelimit.SendRateLimiter if channel == "email" else ratelimit.ReservingRateLimiter
    return cls(get_redis(settings), rate(settings, channel), key=RATE_KEYS[channel])


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


PAYLOAD_FIELDS = ("notification_id", "kind", "event_id", "item_id", "title", "store", "url", "old_price", "new_price",
                  "currency", "old_availability", "new_availability", "occurred_at", "target_price", "lowest_30d",
                  "lowest_90d", "percent", "cheaper_than", "omnibus", "evidence", "gone", "dispute_url", "unsubscribe_url")


def webhook_payload(message: Message, alerts: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """The JSON a webhook receives: every alert of the message with money as decimal strings."""
    return {"type": "alerts", "version": PAYLOAD_VERSION, "delivery": message.key, "channel_id": message.channel_id,
            "sent_at": clock.now().isoformat(), "digest": len(alerts) > 1,
            "manage_url": links.manage_url(message.user_id, settings),
            "alerts": [{k: _plain(a.get(k)) for k in PAYLOAD_FIELDS} for a in alerts]}


def prepare(message: Message, context: dict[int, dict[str, Any]], settings: Settings) -> Job:
    """Render the message for its channel (raises on a row that cannot be rendered)."""
    from alerts.send import alert_items, render_message

    channel = message.channel
    if channel == "email":
        raw = mime.build(render_message(message, context, settings))
        if settings.email_transport == "smtp":
            return Job(functools.partial(smtp.send_raw, raw, settings), raw)
        return Job(lambda: ses.send_raw(raw, settings), raw)
    target = message.rows[0].get("target") or ""
    alerts = alert_items(message, context, settings)
    if channel == "webhook":
        payload = webhook_payload(message, alerts, settings)
        secret = message.rows[0].get("secret") or ""

        def post() -> str:
            return targets.post_webhook(target, secret, payload, delivery=message.key, event="alerts",
                                        timeout=settings.channel_timeout,
                                        allow_private=settings.channel_allow_private,
                                        user_agent=settings.crawler_user_agent).delivery
        return Job(post)
    common = {"user_name": message.name, "public_url": settings.public_url,
              "manage_url": links.manage_url(message.user_id, settings),
              "unsubscribe_all_url": links.unsubscribe_url(message.user_id, None, settings)}
    subject, text = render.render_alerts_text(alerts, common)

    def notify() -> str:
        targets.apprise_notify(target, subject, text, allow_private=settings.channel_allow_private,
                               timeout=settings.channel_timeout)
        return message.key
    return Job(notify)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, targets.TargetError):
        return exc.transient
    if isinstance(exc, ratelimit.RateLimitTimeout):
        return True
    import smtplib

    if isinstance(exc, smtplib.SMTPException):
        return smtp.is_transient(exc)
    return ses.is_transient(exc)


def error_text(exc: BaseException) -> str:
    if isinstance(exc, targets.TargetError):
        return str(exc)[:1000]
    import smtplib

    if isinstance(exc, smtplib.SMTPException):
        return smtp.error_text(exc)
    return ses.error_text(exc)
