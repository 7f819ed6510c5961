"""Which errors a task retries: the transient ones, where the same call may succeed later.

A lost database or broker connection, a server restart, a deadlock or serialisation failure
(psycopg2 reports both as OperationalError). Anything else is a bug or bad data: retrying it
would only repeat the failure, so it fails the task at once and shows in the log.
"""

from __future__ import annotations

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

__all__ = ["TRANSIENT_ERRORS"]
