"""Signed, expiring tokens for links in emails (verify, log in, manage, unsubscribe).

A token is ``base64url(json).base64url(hmac_sha256)`` over the purpose, an expiry and a small
payload. The purpose is inside the MAC, so a token made for one link never works for another;
there is no database id in clear that could be enumerated without the MAC. One-time use (login
links) is enforced by the caller, which remembers a token's ``jti`` until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

from pricehound import clock


class TokenError(ValueError):
    """The token is forged, malformed, for another purpose, or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode("ascii"), hashlib.sha256).digest())


def sign(purpose: str, data: dict[str, Any], secret: str, *, max_age: int | None,
         now: float | None = None) -> str:
    """A token for ``purpose`` carrying ``data``, valid for ``max_age`` seconds (None: no expiry)."""
    issued = int(now if now is not None else clock.timestamp())
    claims = {"p": purpose, "d": data, "iat": issued, "jti": secrets.token_urlsafe(9)}
    if max_age is not None:
        claims["exp"] = issued + int(max_age)
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, body)}"


def verify(purpose: str, token: str, secret: str | Sequence[str], *,
           now: float | None = None) -> dict[str, Any]:
    """The claims of a valid token (``d`` payload, ``jti``, ``iat``, ``exp``); TokenError otherwise.

    ``secret`` may be several keys (the current one and rotated-out ones still accepted): a
    token signed with any of them verifies."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        raise TokenError("malformed token")
    body, mac = token.split(".")
    keys = (secret,) if isinstance(secret, str) else tuple(secret)
    if not any(hmac.compare_digest(mac, _mac(key, body)) for key in keys):
        raise TokenError("invalid signature")
    try:
        claims = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        raise TokenError("malformed token") from None
    if claims.get("p") != purpose:
        raise TokenError("token is for another purpose")
    exp = claims.get("exp")
    if exp is not None and (now if now is not None else clock.timestamp()) > exp:
        raise TokenError("token expired")
    return claims
