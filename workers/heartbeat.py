"""The beat scheduler with a heartbeat (``beat_scheduler`` in celeryconfig.py).

Celery's persistent scheduler, which also writes pricehound's heartbeat (pricehound/heartbeat.py)
on each tick of beat's loop, at most once every few seconds. It is written by beat's own loop,
so a beat that is stuck, not just dead, stops the heartbeat too.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from celery.beat import PersistentScheduler

log = logging.getLogger("pricehound.beat")

#: seconds between heartbeats at most (each tick is a few seconds apart anyway)
EVERY = 5.0


class HeartbeatScheduler(PersistentScheduler):
    """PersistentScheduler + heartbeat."""

    _last_beat = 0.0
    _redis: Any = None

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_beat >= EVERY:
            self._last_beat = now
            self._write()
        return min(interval, EVERY)

    def _write(self) -> None:
        from pricehound import heartbeat

        try:
            if self._redis is None:
                from pricehound.redisconn import get_redis

                self._redis = get_redis()
            heartbeat.beat(self._redis, where=f"{socket.gethostname()}:{os.getpid()}")
        except Exception as exc:  # noqa: BLE001 - a missed heartbeat shows in the health check
            log.warning("beat heartbeat not written: %s: %s", type(exc).__name__, exc)
