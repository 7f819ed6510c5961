"""Verification and sign-in emails go out through the alerts outbox, like every other email.

The row is written in the caller's transaction (so a rolled-back sign-up sends nothing) and the
send task is enqueued only after commit. If enqueueing fails the row stays pending and the
outbox sweeper sends it later: the email is late, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

log = logging.getLogger("pricehound.web.mailer")

Enqueue = Callable[[Sequence[int]], Any]


class LinkMailer:
    """Queues the emails that carry a link (verify, login) and hands them to the send queue."""

    def __init__(self, enqueue: Enqueue | None = None) -> None:
        self._enqueue = enqueue

    def queue(self, conn: Connection, *, user_id: int, kind: str, link: str, dedupe_key: str) -> int:
        """Owe the user a ``verify`` or ``login`` email carrying ``link`` (in this transaction)."""
        from alerts import outbox

        return int(outbox.queue_transactional_email(conn, user_id, kind, {"link": link}, dedupe_key))

    def queue_partner_confirmation(self, conn: Connection, *, user_id: int, item_id: int, partner: str,
                                   product_url: str, link: str) -> int:
        """Owe the user the email that names the partner and carries the link confirming one watch
        (sent as a verify-kind email, so it reaches an unconfirmed address too)."""
        from alerts import outbox

        return int(outbox.queue_transactional_email(conn, user_id, "verify", {"link": link, "partner": partner,
                                                                                "product_url": product_url},
                                                    f"partner-watch:{item_id}"))

    def send(self, notification_ids: Sequence[int]) -> None:
        """Enqueue the send task for rows already committed; a failure only delays them."""
        ids = [int(i) for i in notification_ids if i is not None]
        if not ids:
            return
        try:
            if self._enqueue is not None:
                self._enqueue(ids)
            else:
                from alerts import outbox

                outbox.enqueue_send(ids)
        except Exception as exc:  # the outbox sweeper re-enqueues pending rows
            log.warning("could not enqueue emails %s now (%s); the outbox sweeper will send them", ids, exc)
