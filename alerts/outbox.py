"""The outbox: one ``notifications`` row per message owed, and the hand-off to the send task.

Everything that mails a user writes a row here inside its own transaction and, only after that
transaction commits, calls ``enqueue_send``: a worker can then never see an id that was rolled
back, and a lost broker message only delays a mail (the sweeper re-enqueues pending rows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import tasknames
from pricehound.catalog import InputError
from pricehound.kinds import ALERT_KINDS, TRANSACTIONAL_KINDS

__all__ = ["ALERT_KINDS", "TRANSACTIONAL_KINDS"]

log = logging.getLogger("pricehound.alerts.outbox")

SEND_TASK = tasknames.SEND_NOTIFICATIONS
SEND_CHUNK = 100


def queue_transactional_email(conn: Connection, user_id: int, kind: str, payload: dict[str, Any] | None,
                              dedupe_key: str) -> int:
    """Owe ``user_id`` one ``verify``, ``login`` or ``channel_disabled`` email; returns the notification id.

    Idempotent on ``dedupe_key``: calling again with the same key returns the existing row's id
    and writes nothing. ``payload`` may carry ``link``; without one the mail carries a freshly
    signed verify/login link built at send time. Call ``enqueue_send([id])`` after commit.
    """
    if kind not in TRANSACTIONAL_KINDS:
        raise InputError(f"transactional email kind must be one of {', '.join(TRANSACTIONAL_KINDS)}, got {kind!r}")
    if not dedupe_key or len(dedupe_key) > 500:
        raise InputError("a transactional email needs a dedupe key of at most 500 characters")
    row = conn.execute(
        sa.text(
            """
            INSERT INTO notifications (user_id, kind, dedupe_key, payload)
            VALUES (:user_id, :kind, :dedupe_key, CAST(:payload AS jsonb))
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING id
            """
        ),
        {"user_id": int(user_id), "kind": kind, "dedupe_key": dedupe_key, "payload": json.dumps(payload or {})},
    ).one_or_none()
    if row is not None:
        return int(row.id)
    return int(conn.execute(sa.text("SELECT id FROM notifications WHERE dedupe_key = :k"),
                            {"k": dedupe_key}).scalar_one())


def chunks(ids: Iterable[int], size: int = SEND_CHUNK, user_ids: Sequence[int] | None = None) -> list[list[int]]:
    """Task-sized lists of ids. With ``user_ids`` (in step with ``ids``, grouped by user) a
    user's rows never straddle two chunks: two tasks claiming one user's batch at the same
    moment would split it into two emails."""
    ordered = [int(i) for i in ids]
    if user_ids is None:
        return [ordered[i:i + size] for i in range(0, len(ordered), size)]
    out: list[list[int]] = []
    current: list[int] = []
    previous_user = None
    for notification_id, user_id in zip(ordered, user_ids, strict=True):
        if len(current) >= size and user_id != previous_user:
            out.append(current)
            current = []
        current.append(notification_id)
        previous_user = user_id
    if current:
        out.append(current)
    return out


def enqueue_send(notification_ids: Sequence[int], countdown: float | None = None,
                 user_ids: Sequence[int] | None = None) -> int:
    """Send the send task for these rows: at once, or inside ``db.transaction()`` once the
    transaction that wrote them has committed (workers.base.enqueue_by_name).

    Returns how many task messages it sends. Safe to call twice: the task claims each row once.
    """
    from workers.base import enqueue_by_name

    sent = 0
    for chunk in chunks(notification_ids, user_ids=user_ids):
        enqueue_by_name(SEND_TASK, [chunk], countdown=countdown if countdown and countdown > 0 else None)
        sent += 1
    if sent:
        log.debug("enqueued %d send task(s) for %d notification(s)", sent, len(notification_ids))
    return sent
