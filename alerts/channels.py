"""A user's channels: email (the account's address), signed webhooks and Apprise URLs.

A webhook or Apprise channel receives alerts only once it is verified by a test message:

- webhook: a signed ``test`` payload answered with a 2xx verifies it at once;
- Apprise: a successful notify carries a six-digit code, and the user confirms it
  (``pricehound channels confirm``, ``POST /v1/channels/{id}/confirm``, the manage page), since a
  service accepting a message does not prove the person reads that channel.

Each channel routes the alert kinds the user wants on it (``alert_kinds``). The account's email
gets every kind unless the user has an ``email`` channel row saying otherwise (or disabling it).
A channel that fails ``PRICEHOUND_CHANNEL_MAX_FAILURES`` deliveries in a row is disabled, its
pending alerts are suppressed, and its owner gets an email saying so.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts import targets
from alerts.outbox import ALERT_KINDS, queue_transactional_email
from pricehound import clock, urls
from pricehound.catalog import InputError
from pricehound.config import Settings, get_settings

log = logging.getLogger("pricehound.alerts.channels")

KINDS = ("email", "webhook", "apprise")
WEBHOOK_SECRET_PREFIX = "whsec_"
MAX_CHANNELS_PER_USER = 20


@dataclass(frozen=True)
class Channel:
    id: int
    user_id: int
    kind: str
    label: str | None
    target: str | None
    alert_kinds: tuple[str, ...]
    status: str
    verified_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    created_at: datetime

    def shown_target(self) -> str:
        """The target with secrets masked: an Apprise URL's tokens are credentials."""
        if self.target is None:
            return "(account email)"
        if self.kind == "apprise":
            scheme, _, rest = self.target.partition("://")
            return f"{scheme}://{rest[:4]}***" if len(rest) > 4 else f"{scheme}://***"
        # a webhook's path often carries a token of its own (chat and automation services)
        parts = urlsplit(self.target)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" + ("/***" if parts.path not in ("", "/") else "/")

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "target": self.shown_target(),
                "alert_kinds": list(self.alert_kinds), "status": self.status,
                "verified_at": self.verified_at.isoformat() if self.verified_at else None,
                "consecutive_failures": self.consecutive_failures, "last_error": self.last_error,
                "created_at": self.created_at.isoformat()}


def _from_row(r: Any) -> Channel:
    return Channel(int(r.id), int(r.user_id), r.kind, r.label, r.target, tuple(r.alert_kinds), r.status,
                   r.verified_at, int(r.consecutive_failures), r.last_error, r.created_at)


def parse_kinds(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """'price_drop,sold_out' or a list -> checked alert kinds; 'all' or None -> every kind;
    'none' -> no alert goes there (a channel kept but paused)."""
    if value is None:
        return list(ALERT_KINDS)
    items = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if v and v.strip()]
    if items == ["all"]:
        return list(ALERT_KINDS)
    if items == ["none"]:
        return []
    unknown = [v for v in items if v not in ALERT_KINDS]
    if unknown or not items:
        raise InputError(f"alert kinds are a comma-separated subset of {', '.join(ALERT_KINDS)} (or all); "
                         f"got {', '.join(unknown) or 'nothing'}")
    return list(dict.fromkeys(items))


def add_channel(conn: Connection, user_id: int, kind: str, target: str | None = None, *, label: str | None = None,
                alert_kinds: str | list[str] | None = None, settings: Settings | None = None) -> tuple[Channel, str | None]:
    """Add a channel (unverified); returns it and, for a webhook, its signing secret (shown once).

    An ``email`` channel names no target: it routes the account's own address. Refuses a target
    the address guard refuses, one the user already has, and more than MAX_CHANNELS_PER_USER."""
    settings = settings or get_settings()
    if kind not in KINDS:
        raise InputError(f"a channel is one of {', '.join(KINDS)}, got {kind!r}")
    kinds = parse_kinds(alert_kinds)
    if label is not None and len(label) > 200:
        raise InputError("a channel label is at most 200 characters")
    secret = None
    status = "unverified"
    try:
        if kind == "email":
            if target:
                raise InputError("an email channel is the account's own address; give no target")
            stored = None
            status = "verified"  # the account address was verified by its own double opt-in
        elif kind == "webhook":
            stored = targets.check_webhook_url(target or "", allow_private=settings.channel_allow_private)
            secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
        else:
            stored = targets.check_apprise_url(target or "", allow_private=settings.channel_allow_private)
    except urls.UnsafeURL as exc:
        raise InputError(f"refusing this {kind} target: {exc}") from None
    count = conn.execute(sa.text("SELECT count(*) FROM user_channels WHERE user_id = :u"), {"u": int(user_id)}).scalar_one()
    if count >= MAX_CHANNELS_PER_USER:
        raise InputError(f"a user has at most {MAX_CHANNELS_PER_USER} channels; remove one first")
    row = conn.execute(sa.text(
        """
        INSERT INTO user_channels (user_id, kind, label, target, secret, alert_kinds, status, verified_at)
        SELECT u.id, :kind, :label, :target, :secret, CAST(:kinds AS text[]), :status,
               CASE WHEN :status = 'verified' THEN pricehound_now() END
          FROM users u WHERE u.id = :user_id
        ON CONFLICT DO NOTHING
        RETURNING *
        """), {"user_id": int(user_id), "kind": kind, "label": label, "target": stored, "secret": secret,
               "kinds": kinds, "status": status}).one_or_none()
    if row is None:
        exists = conn.execute(sa.text("SELECT 1 FROM users WHERE id = :u"), {"u": int(user_id)}).one_or_none()
        if exists is None:
            raise InputError(f"no user {user_id}")
        raise InputError(f"this user already has that {kind} channel; `channels list` shows it")
    return _from_row(row), secret


def list_channels(conn: Connection, user_id: int) -> list[Channel]:
    return [_from_row(r) for r in conn.execute(sa.text(
        "SELECT * FROM user_channels WHERE user_id = :u ORDER BY id"), {"u": int(user_id)})]


def get_channel(conn: Connection, user_id: int, channel_id: int) -> Channel:
    row = conn.execute(sa.text("SELECT * FROM user_channels WHERE id = :id AND user_id = :u"),
                       {"id": int(channel_id), "u": int(user_id)}).one_or_none()
    if row is None:
        raise InputError(f"no channel {channel_id} for this user; `channels list` shows them")
    return _from_row(row)


def remove_channel(conn: Connection, user_id: int, channel_id: int) -> Channel:
    """Delete the channel and what it still owed (alerts already sent to it go with it)."""
    channel = get_channel(conn, user_id, channel_id)
    conn.execute(sa.text("DELETE FROM user_channels WHERE id = :id"), {"id": channel.id})
    return channel


def route(conn: Connection, user_id: int, channel_id: int, alert_kinds: str | list[str]) -> Channel:
    """Which alert kinds go to this channel from now on."""
    kinds = parse_kinds(alert_kinds)
    row = conn.execute(sa.text(
        "UPDATE user_channels SET alert_kinds = CAST(:k AS text[]), updated_at = pricehound_now() "
        "WHERE id = :id AND user_id = :u RETURNING *"), {"k": kinds, "id": int(channel_id), "u": int(user_id)}).one_or_none()
    if row is None:
        raise InputError(f"no channel {channel_id} for this user; `channels list` shows them")
    return _from_row(row)


# -- verification -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestResult:
    channel: Channel
    delivered: bool
    needs_code: bool
    error: str | None = None


def _test_payload(channel: Channel, code: str | None, settings: Settings) -> dict[str, Any]:
    return {"type": "test", "channel_id": channel.id, "sent_at": clock.now().isoformat(),
            "message": "pricehound test message: alerts will arrive here once this channel is verified.",
            "code": code, "manage_url": settings.public_url}


def send_test(engine: sa.engine.Engine, user_id: int, channel_id: int, *, settings: Settings | None = None) -> TestResult:
    """Send the channel its test message now and record the outcome (no transaction is held open
    across the network call). A webhook answering 2xx is verified; an Apprise channel then waits
    for its code; a failure leaves the channel unverified with the reason."""
    settings = settings or get_settings()
    with engine.connect() as conn:
        channel = get_channel(conn, user_id, channel_id)
        secret = conn.execute(sa.text("SELECT secret FROM user_channels WHERE id = :id"), {"id": channel.id}).scalar_one()
    if channel.kind == "email":
        return TestResult(channel, True, False)
    code = f"{secrets.randbelow(1_000_000):06d}" if channel.kind == "apprise" else None
    error = None
    try:
        if channel.kind == "webhook":
            targets.post_webhook(channel.target or "", secret, _test_payload(channel, None, settings),
                                 delivery=f"test-{channel.id}-{secrets.token_hex(4)}", event="test",
                                 timeout=settings.channel_timeout, allow_private=settings.channel_allow_private,
                                 user_agent=settings.crawler_user_agent)
        else:
            targets.apprise_notify(channel.target or "", "pricehound: confirm this channel",
                                   f"Your pricehound confirmation code is {code}. Enter it to start getting alerts here.",
                                   allow_private=settings.channel_allow_private, timeout=settings.channel_timeout)
    except targets.TargetError as exc:
        error = str(exc)[:1000]
    with engine.begin() as conn:
        if error is not None:
            row = conn.execute(sa.text(
                "UPDATE user_channels SET last_error = :e, updated_at = pricehound_now() WHERE id = :id RETURNING *"),
                {"e": error, "id": channel.id}).one()
            return TestResult(_from_row(row), False, False, error)
        if channel.kind == "webhook":
            row = conn.execute(sa.text(
                """
                UPDATE user_channels SET status = 'verified', verified_at = pricehound_now(), verify_code = NULL,
                       consecutive_failures = 0, last_error = NULL, disabled_at = NULL, updated_at = pricehound_now()
                 WHERE id = :id RETURNING *
                """), {"id": channel.id}).one()
            return TestResult(_from_row(row), True, False)
        row = conn.execute(sa.text(
            """
            UPDATE user_channels SET status = CASE WHEN status = 'verified' THEN status ELSE 'testing' END,
                   verify_code = :code, last_error = NULL, updated_at = pricehound_now()
             WHERE id = :id RETURNING *
            """), {"id": channel.id, "code": code}).one()
        return TestResult(_from_row(row), True, _from_row(row).status != "verified")


def confirm(conn: Connection, user_id: int, channel_id: int, code: str) -> Channel:
    """The code the test message carried: the channel is verified and alerts flow to it."""
    channel = get_channel(conn, user_id, channel_id)
    if channel.status == "verified":
        return channel
    row = conn.execute(sa.text(
        """
        UPDATE user_channels SET status = 'verified', verified_at = pricehound_now(), verify_code = NULL,
               consecutive_failures = 0, last_error = NULL, disabled_at = NULL, updated_at = pricehound_now()
         WHERE id = :id AND status = 'testing' AND verify_code IS NOT NULL AND verify_code = :code
        RETURNING *
        """), {"id": channel.id, "code": (code or "").strip()}).one_or_none()
    if row is None:
        raise InputError("that code does not match the last test message; send a new test and use its code")
    return _from_row(row)


# -- delivery outcomes ----------------------------------------------------------------------------

RECORD_SQL = """
WITH v AS (
    SELECT channel_id, bool_or(ok) AS any_ok, count(*) FILTER (WHERE NOT ok) AS failures,
           max(error) FILTER (WHERE NOT ok) AS error
      FROM unnest(CAST(:channel_ids AS bigint[]), CAST(:oks AS boolean[]), CAST(:errors AS text[])) AS x(channel_id, ok, error)
     GROUP BY channel_id
)
UPDATE user_channels c
   SET consecutive_failures = CASE WHEN v.any_ok AND v.failures = 0 THEN 0 ELSE c.consecutive_failures + v.failures END,
       last_error = CASE WHEN v.failures > 0 THEN v.error ELSE c.last_error END,
       status = CASE WHEN c.status = 'verified' AND v.failures > 0
                          AND c.consecutive_failures + v.failures >= :max_failures THEN 'disabled' ELSE c.status END,
       disabled_at = CASE WHEN c.status = 'verified' AND v.failures > 0
                               AND c.consecutive_failures + v.failures >= :max_failures THEN pricehound_now()
                          ELSE c.disabled_at END,
       updated_at = pricehound_now()
  FROM v
 WHERE c.id = v.channel_id
RETURNING c.id, c.user_id, c.kind, c.label, c.target, c.status, c.last_error, c.consecutive_failures,
          extract(epoch FROM c.disabled_at) AS disabled_epoch,
          c.disabled_at = pricehound_now() AND c.status = 'disabled' AS just_disabled
"""


def record_outcomes(engine: sa.engine.Engine, outcomes: list[tuple[int, bool, str | None]], max_failures: int) -> list[int]:
    """Count each channel's deliveries (one statement): a success resets its failure streak, a
    failure extends it; a verified channel whose streak reaches ``max_failures`` is disabled, its
    pending alerts suppressed and its owner emailed. Returns the notification ids of those emails."""
    if not outcomes:
        return []
    with engine.begin() as conn:
        rows = conn.execute(sa.text(RECORD_SQL), {
            "channel_ids": [c for c, _, _ in outcomes], "oks": [ok for _, ok, _ in outcomes],
            "errors": [e for _, _, e in outcomes], "max_failures": int(max_failures)}).all()
        disabled = [r for r in rows if r.just_disabled]
        emails = []
        for r in disabled:
            conn.execute(sa.text(
                """
                UPDATE notifications SET status = 'suppressed', last_error = 'channel disabled after repeated failures',
                       updated_at = pricehound_now()
                 WHERE channel_id = :id AND status = 'pending'
                """), {"id": r.id})
            payload = {"channel_kind": r.kind, "channel_label": r.label or "",
                       "channel_target": Channel(r.id, r.user_id, r.kind, r.label, r.target, (), r.status, None, 0,
                                                 None, clock.now()).shown_target(),
                       "failures": int(r.consecutive_failures), "error": r.last_error or ""}
            emails.append(queue_transactional_email(conn, int(r.user_id), "channel_disabled", payload,
                                                    f"channel-disabled:{r.id}:{r.disabled_epoch}"))
            log.warning("channel %s of user %s disabled after %s failures: %s", r.id, r.user_id,
                        r.consecutive_failures, r.last_error)
    return emails
