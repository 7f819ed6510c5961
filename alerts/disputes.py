"""Disputes: a reader's signed "this is wrong" on an alert, recorded against its event.

The link in each alert email carries a token naming the notification and its owner (nothing a
stranger could count through). Opening it shows one button; pressing it records the dispute
(idempotent: one per notification). Ops see the counts per store in ``pricehound status``; the
event and the notification stay as they were, so the disputed reading can be looked at.
The link does not record on GET: mail scanners open every link in a message, and a dispute
count they inflate would hide the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PURPOSE = "dispute"


@dataclass(frozen=True)
class Disputed:
    """What the dispute page shows: the alert being disputed."""

    kind: str
    title: str | None
    store: str
    occurred_at: object


def describe(conn: Connection, user_id: int, notification_id: int) -> Disputed | None:
    row = conn.execute(sa.text(
        """
        SELECT n.kind, coalesce(l.title, l.url) AS title, s.name AS store, e.occurred_at
          FROM notifications n
          JOIN price_events e ON e.id = n.event_id
          JOIN store_listings l ON l.id = e.listing_id
          JOIN stores s ON s.id = l.store_id
         WHERE n.id = :n AND n.user_id = :u
        """), {"n": notification_id, "u": user_id}).one_or_none()
    return None if row is None else Disputed(row.kind, row.title, row.store, row.occurred_at)


def record(conn: Connection, user_id: int, notification_id: int) -> bool:
    """Record the dispute; False when the notification is not this user's (or has no event)."""
    row = conn.execute(sa.text(
        """
        INSERT INTO event_disputes (notification_id, event_id, user_id, store_id)
        SELECT n.id, n.event_id, n.user_id, l.store_id
          FROM notifications n
          JOIN price_events e ON e.id = n.event_id
          JOIN store_listings l ON l.id = e.listing_id
         WHERE n.id = :n AND n.user_id = :u
        ON CONFLICT (notification_id) DO UPDATE SET notification_id = excluded.notification_id
        RETURNING id
        """), {"n": notification_id, "u": user_id}).one_or_none()
    return row is not None


def per_store(conn: Connection) -> dict[str, int]:
    """Disputes per store slug, most first."""
    rows = conn.execute(sa.text(
        """
        SELECT s.slug, count(*) AS n FROM event_disputes d JOIN stores s ON s.id = d.store_id
         GROUP BY s.slug ORDER BY n DESC, s.slug
        """))
    return {r.slug: int(r.n) for r in rows}


def render(counts: dict[str, int]) -> str:
    if not counts:
        return "disputed alerts: none"
    return "disputed alerts (readers said \"this is wrong\"; see event_disputes):\n" + "\n".join(
        f"  {slug}: {n}" for slug, n in counts.items())
