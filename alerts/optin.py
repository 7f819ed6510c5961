"""Double opt-in: a new address gets one verification email; alerts start once its link is followed.

``request_verification`` owes the user a verify email (one per user per day, however often
they sign up again); ``confirm`` is what ``GET /verify?token=...`` does with the token.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.outbox import queue_transactional_email
from pricehound import clock, tokens
from pricehound.catalog import InputError
from pricehound.config import Settings, get_settings


def request_verification(conn: Connection, user_id: int, now: float | None = None) -> int | None:
    """The verify notification's id, or None when the user is verified already. Enqueue after commit."""
    verified = conn.execute(sa.text("SELECT verified_at IS NOT NULL FROM users WHERE id = :u"),
                            {"u": int(user_id)}).scalar_one_or_none()
    if verified is None:
        raise InputError(f"no user {user_id}")
    if verified:
        return None
    day = int((now if now is not None else clock.timestamp()) // 86400)
    return queue_transactional_email(conn, int(user_id), "verify", {}, f"verify:{int(user_id)}:{day}")


def confirm(conn: Connection, token: str, settings: Settings | None = None) -> int:
    """Mark the token's user verified (idempotent); returns the user id. TokenError if invalid."""
    settings = settings or get_settings()
    claims = tokens.verify("verify", token, settings.verifying_secrets)
    user_id = int(claims["d"]["u"])
    row = conn.execute(sa.text(
        "UPDATE users SET verified_at = coalesce(verified_at, pricehound_now()) WHERE id = :u RETURNING id"),
        {"u": user_id}).one_or_none()
    if row is None:
        raise tokens.TokenError("no such user")
    return user_id
