"""Sign-up and sign-in by email: one path whether or not the address is known.

Both endpoints do the same work for every address: upsert the user, read their state, queue
one email. A verified user gets a one-time sign-in link; anyone else gets a verification link
(which also signs them in). Nothing in the response, and almost nothing in the timing, tells a
caller whether the address had an account: no user enumeration.
"""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from alerts import links
from pricehound import catalog, clock, tokens
from pricehound.config import Settings
from web.mailer import LinkMailer

log = logging.getLogger("pricehound.web.accounts")



def send_access_link(engine: Engine, settings: Settings, mailer: LinkMailer, *, email: str,
                     name: str | None = None) -> None:
    """Email the address a way in: a verification link, or a sign-in link once verified.

    A name is kept only for an account that has none yet, so nobody can rename someone else's
    account by signing up with their address."""
    address = catalog.parse_email(email)
    clean_name = (name or "").strip()[:200] or None
    with engine.begin() as conn:
        user_id = catalog.add_user(conn, email=address)
        state = conn.execute(
            sa.text(
                """
                UPDATE users SET name = coalesce(name, :name) WHERE id = :id
                RETURNING verified_at IS NOT NULL AS verified, status
                """
            ),
            {"id": user_id, "name": clean_name},
        ).one()
        if state.status != "active":
            log.info("access link not sent: user %s is %s", user_id, state.status)
            return
        if state.verified:
            kind, link = "login", links.login_url(user_id, settings)
        else:
            kind, link = "verify", links.verify_url(user_id, settings)
        notification_id = mailer.queue(conn, user_id=user_id, kind=kind, link=link,
                                       dedupe_key=f"{kind}:{user_id}:{secrets.token_hex(8)}")
    log.info("%s link queued for user %s (notification %s)", kind, user_id, notification_id)
    mailer.send([notification_id])


# -- redeeming the links ------------------------------------------------------------------------

USED_LOGIN_KEY = "pricehound:login-used:"


class LinkRefused(Exception):
    """The link cannot be used; the message tells the person what to do."""


def _claims(settings: Settings, purpose: str, token: str | None) -> dict:
    try:
        return tokens.verify(purpose, token or "", settings.verifying_secrets)
    except tokens.TokenError as exc:
        if "expired" in str(exc):
            raise LinkRefused("This link has expired. Ask for a new one.") from None
        raise LinkRefused("This link is not valid. Check that it was copied whole, or ask for a new one.") from None


def _user_id(claims: dict) -> int:
    data = claims.get("d")
    user_id = data.get("u") if isinstance(data, dict) else None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise LinkRefused("This link is not valid. Ask for a new one.")
    return user_id


def peek_login(settings: Settings, redis_client, token: str | None) -> int:
    """The user a sign-in link is for, without using it up (for the confirmation page)."""
    claims = _claims(settings, "login", token)
    if redis_client.exists(USED_LOGIN_KEY + str(claims.get("jti"))):
        raise LinkRefused("This sign-in link was already used. Ask for a new one.")
    return _user_id(claims)


def redeem(engine: Engine, settings: Settings, redis_client, purpose: str, token: str | None) -> tuple[int, str]:
    """Check a verify, login or manage link and open a session: (user id, session cookie value).

    A login link works once (its jti is remembered in Redis until it would have expired); a
    verify link also confirms the address. Disabled or deleted users get no session."""
    from web.security import open_session

    claims = _claims(settings, purpose, token)
    user_id = _user_id(claims)
    if purpose == "login":
        ttl = max(60, int(claims.get("exp", 0) - clock.timestamp()) + 60)
        if not redis_client.set(USED_LOGIN_KEY + str(claims.get("jti")), user_id, nx=True, ex=ttl):
            raise LinkRefused("This sign-in link was already used. Ask for a new one.")
    with engine.begin() as conn:
        found = conn.execute(
            sa.text(
                """
                UPDATE users SET verified_at = CASE WHEN :verify THEN coalesce(verified_at, pricehound_now())
                                                    ELSE verified_at END
                 WHERE id = :id AND status = 'active'
                RETURNING id
                """
            ),
            {"id": user_id, "verify": purpose == "verify"},
        ).one_or_none()
        if found is None:
            raise LinkRefused("This link is not valid any more. Sign up again to get a new one.")
        session = open_session(conn, user_id)
    log.info("%s link redeemed: session opened for user %s", purpose, user_id)
    return user_id, session
