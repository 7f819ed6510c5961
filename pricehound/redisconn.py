"""The Redis client for locks, rate limits and queue depths (Celery has its own connection)."""

from __future__ import annotations

import functools
import os

import redis

from pricehound.config import Settings, get_settings


def redis_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    from pricehound import embedded

    return embedded.redis_url(settings.data_dir)


@functools.lru_cache(maxsize=8)
def _client(url: str, pid: int) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5,
                                health_check_interval=30, retry_on_timeout=True)


def get_redis(settings: Settings | None = None) -> redis.Redis:
    """One client per URL per process (a forked child gets its own)."""
    return _client(redis_url(settings), os.getpid())
