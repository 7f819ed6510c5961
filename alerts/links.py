"""Signed links in emails, built in one place so the mails and the HTTP service agree.

Each link carries a token from ``pricehound.tokens`` (HMAC with the configured secret, purpose
inside the MAC, an expiry) and nothing else: no bare database id a stranger could count through.
The HTTP service verifies them with ``pricehound.tokens.verify(<purpose>, token, secret)``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from pricehound import tokens
from pricehound.config import Settings, get_settings

DAY = 86400
# One-click unsubscribe must still work when someone digs out an old mail, so it lives long;
# a manage link only needs to outlive the mail's relevance; verify and login links are short.
UNSUBSCRIBE_MAX_AGE = 365 * DAY
MANAGE_MAX_AGE = 30 * DAY
VERIFY_MAX_AGE = 7 * DAY
LOGIN_MAX_AGE = 15 * 60


def _link(path: str, purpose: str, data: dict, max_age: int, settings: Settings | None) -> str:
    settings = settings or get_settings()
    token = tokens.sign(purpose, data, settings.signing_secret, max_age=max_age)
    return f"{settings.public_url.rstrip('/')}/{path}?{urlencode({'token': token})}"


def unsubscribe_url(user_id: int, item_id: int | None = None, settings: Settings | None = None) -> str:
    """Stop one watch (item_id) or, with item_id None, every email to this user."""
    return _link("unsubscribe", "unsubscribe", {"u": int(user_id), "w": None if item_id is None else int(item_id)},
                 UNSUBSCRIBE_MAX_AGE, settings)


def manage_url(user_id: int, settings: Settings | None = None) -> str:
    return _link("manage", "manage", {"u": int(user_id)}, MANAGE_MAX_AGE, settings)


def verify_url(user_id: int, settings: Settings | None = None) -> str:
    return _link("verify", "verify", {"u": int(user_id)}, VERIFY_MAX_AGE, settings)


def login_url(user_id: int, settings: Settings | None = None) -> str:
    return _link("login", "login", {"u": int(user_id)}, LOGIN_MAX_AGE, settings)


def partner_watch_url(user_id: int, item_id: int, settings: Settings | None = None) -> str:
    """Confirm one watch a partner site created for this user (it stays inactive until then)."""
    return _link("partner/confirm", "partner_watch", {"u": int(user_id), "w": int(item_id)}, VERIFY_MAX_AGE,
                 settings)


DISPUTE_MAX_AGE = 90 * DAY


def dispute_url(user_id: int, notification_id: int, settings: Settings | None = None) -> str:
    """'This is wrong': records a dispute on the alert's event (the page asks to confirm)."""
    return _link("wrong", "dispute", {"u": int(user_id), "n": int(notification_id)}, DISPUTE_MAX_AGE, settings)
