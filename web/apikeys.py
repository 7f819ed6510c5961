"""Partner API keys: created once and shown once, stored only as a SHA-256, revocable.

A key is ``phk_<prefix>_<secret>``: the 8-character prefix tells ops which key is which
(``pricehound apikeys list``) and the 256-bit secret makes the stored hash useless to anyone
who copies the table. Lookup is by hash, so checking a key costs one indexed read.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound.catalog import InputError
from web.security import hash_secret

KEY_PREFIX = "phk_"
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Partner:
    """The partner behind an authenticated API request."""

    key_id: int
    name: str
    prefix: str


def create_key(conn: Connection, name: str) -> tuple[ApiKey, str]:
    """A new key for the named partner: (its record, the key itself, which is never stored)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 200:
        raise InputError("an API key needs a name of 1 to 200 characters (the partner it is for)")
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = conn.execute(
        sa.text("INSERT INTO api_keys (name, prefix, key_hash) VALUES (:name, :prefix, :key_hash) RETURNING *"),
        {"name": name, "prefix": prefix, "key_hash": hash_secret(key)},
    ).one()
    return _from_row(row), key


def authenticate(conn: Connection, key: str) -> Partner | None:
    """The partner holding this key, or None when it is unknown or revoked. Notes the use."""
    if not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    row = conn.execute(
        sa.text(
            """
            WITH k AS (SELECT id, name, prefix, last_used_at FROM api_keys
                        WHERE key_hash = :key_hash AND revoked_at IS NULL),
                 touched AS (
                    -- at most once a minute, so a busy partner does not queue on one row lock
                    UPDATE api_keys a SET last_used_at = pricehound_now() FROM k
                     WHERE a.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < pricehound_now() - interval '1 minute'))
            SELECT id, name, prefix FROM k
            """
        ),
        {"key_hash": hash_secret(key)},
    ).one_or_none()
    return None if row is None else Partner(int(row.id), row.name, row.prefix)


def revoke_key(conn: Connection, prefix: str) -> ApiKey:
    """Revoke the key with this prefix (idempotent); InputError when there is none."""
    prefix = (prefix or "").strip().lower().removeprefix(KEY_PREFIX).split("_")[0]
    row = conn.execute(
        sa.text(
            """
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, pricehound_now())
             WHERE prefix = :prefix RETURNING *
            """
        ),
        {"prefix": prefix},
    ).one_or_none()
    if row is None:
        raise InputError(f"no API key with prefix {prefix!r}; `pricehound apikeys list` shows them")
    return _from_row(row)


def list_keys(conn: Connection) -> list[ApiKey]:
    return [_from_row(r) for r in conn.execute(sa.text("SELECT * FROM api_keys ORDER BY created_at, id"))]


def _from_row(row: sa.Row) -> ApiKey:
    return ApiKey(int(row.id), row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)
