"""Which errors a task retries: the transient ones, where the same call may succeed later.

A lost database or broker connection, a server restart, a deadlock or serialisation failure
(psycopg2 reports both as OperationalError). Anything else is a bug or bad data: retrying it
would only repeat the failure, so it fails the task at once and shows in the log.
"""

from __future__ import annotations

import random
from typing import Any

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)



def retry_policy(*, max_retries: int = 3, backoff_max: int = 300) -> dict[str, Any]:
    """Celery task options of the one retry policy: the transient errors above, retried with
    exponential backoff from 2 s, full jitter (so many workers do not retry in step), capped at
    ``backoff_max`` seconds, at most ``max_retries`` times. Every task takes its options here."""
    return {"autoretry_for": TRANSIENT_ERRORS, "retry_backoff": 2, "retry_backoff_max": int(backoff_max),
            "retry_jitter": True, "max_retries": int(max_retries)}


def backoff(retries: int, base: float = 2.0, cap: float = 300.0) -> float:
    """The same backoff for a task that retries by hand (SES throttling): exponential, full jitter."""
    return random.uniform(base, min(cap, base * 2 ** retries))


__all__ = ["TRANSIENT_ERRORS", "backoff", "retry_policy"]
