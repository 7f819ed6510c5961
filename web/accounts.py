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
# Every link that signs in (verify, login, manage) works once: its jti goes into
# used_link_tokens in the transaction that opens the session. Opening a link (GET) only shows a
# page whose button posts, so a mail scanner or a link preview uses nothing up and signs no one in.

SIGN_IN_PURPOSES = ("verify", "login", "manage")
ALREADY_USED = "This link was already used. Ask for a new one: sign in with your email address."


class LinkRefused(Exception):
    """The link cannot be used; the message tells the person what to do."""

    def __init__(self, message: str, *, used_by: int | None = None) -> None:
        super().__init__(message)
        self.used_by = used_by  # the user whose link it was, when it was valid but already used


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
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**63:
        raise LinkRefused("This link is not valid. Ask for a new one.")
    return user_id


def _jti(claims: dict) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 64:
        raise LinkRefused("This link is not valid. Ask for a new one.")
    return jti


def link_claims(engine: Engine, settings: Settings, purpose: str, token: str | None) -> dict:
    """The claims of a link that may still be used, without using it up (for the page a GET shows).
    A used link raises LinkRefused with ``used_by`` set."""
    claims = _claims(settings, purpose, token)
    user_id = _user_id(claims)
    with engine.connect() as conn:
        used = conn.execute(sa.text("SELECT 1 FROM used_link_tokens WHERE jti = :jti"),
                            {"jti": _jti(claims)}).scalar_one_or_none()
    if used:
        raise LinkRefused(ALREADY_USED, used_by=user_id)
    return claims


def use_link(conn, claims: dict, purpose: str) -> None:
    """Use up a link in the caller's transaction; LinkRefused if it was used before."""
    expires = claims.get("exp") or (clock.timestamp() + 366 * 86400)
    row = conn.execute(
        sa.text(
            """
            WITH purged AS (DELETE FROM used_link_tokens WHERE expires_at < pricehound_now() - interval '1 day')
            INSERT INTO used_link_tokens (jti, purpose, user_id, expires_at)
            SELECT :jti, :purpose, u.id, to_timestamp(:exp) FROM users u WHERE u.id = :user_id
            ON CONFLICT (jti) DO NOTHING
            RETURNING jti
            """
        ),
        {"jti": _jti(claims), "purpose": purpose, "user_id": _user_id(claims), "exp": float(expires)},
    ).one_or_none()
    if row is None:
        raise LinkRefused(ALREADY_USED, used_by=_user_id(claims))


def redeem(engine: Engine, settings: Settings, redis_client, purpose: str, token: str | None) -> tuple[int, str]:
    """Check a verify, login or manage link, use it up and open a session: (user id, cookie value).

    Every such link works once; a verify link also confirms the address. Disabled or deleted
    users get no session. ``redis_client`` is unused (kept for callers)."""
    from web.security import open_session

    if purpose not in SIGN_IN_PURPOSES:
        raise LinkRefused("This link is not valid. Ask for a new one.")
    claims = _claims(settings, purpose, token)
    user_id = _user_id(claims)
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
        use_link(conn, claims, purpose)
        session = open_session(conn, user_id)
    log.info("%s link redeemed: session opened for user %s", purpose, user_id)
    return user_id, session


def email_of(engine: Engine, user_id: int) -> str | None:
    """The address of an active user (to prefill the sign-in page after a used link)."""
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT email FROM users WHERE id = :id AND status = 'active'"),
                            {"id": user_id}).scalar_one_or_none()
