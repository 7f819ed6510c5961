"""What the alert stage owed, and to whom: outbox rows and the watchers an event did not reach.

Read-only views for operators (``pricehound alerts evaluate``, ``pricehound crawl --wait``,
``pricehound explain``). ``owed`` lists notification rows with their watch, user and delivery
state; ``not_told`` lists, for given events, the watches of the changed listing that got no row,
with the first reason that is certain (not evaluated yet, watch paused, user disabled, address
unverified or suppressed). Anything else is the watch's own rules or its cool-down, which the
evaluation statement decides; that is said as such, with the cool-down row when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Owed:
    """One outbox row: what kind of alert, for which watch and user, and what became of it."""

    notification_id: int
    kind: str
    status: str
    item_id: int | None
    user_id: int
    email: str
    event_id: int | None
    listing_id: int | None
    event_kind: str | None
    send_after: datetime | None
    sent_at: datetime | None
    attempts: int
    last_error: str | None

    def state(self) -> str:
        """'sent at 12:01:05', 'pending, due 12:02:00', 'failed: <error>' ..."""
        if self.status == "sent" and self.sent_at:
            return f"sent at {self.sent_at:%Y-%m-%d %H:%M:%S}"
        if self.status == "pending" and self.send_after:
            return f"pending, due {self.send_after:%Y-%m-%d %H:%M:%S}"
        if self.last_error:
            return f"{self.status}: {self.last_error.splitlines()[0][:120]}"
        return self.status

    def as_json(self) -> dict[str, Any]:
        return _json(asdict(self))


@dataclass(frozen=True)
class NotTold:
    """A watch of a changed listing that got no outbox row for the event, and why."""

    event_id: int
    event_kind: str
    item_id: int
    user_id: int
    email: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return _json(asdict(self))


def _json(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, datetime):
            v = v.isoformat()
        elif isinstance(v, Decimal):
            v = str(v)
        out[k] = v
    return out


_OWED_COLUMNS = """
    n.id AS notification_id, n.kind, n.status, n.item_id, n.user_id, u.email, n.event_id,
    e.listing_id, e.kind AS event_kind, n.send_after, n.sent_at, n.attempts, n.last_error
"""

OWED_BY_ID = sa.text(
    "SELECT " + _OWED_COLUMNS + """
      FROM notifications n
      JOIN users u ON u.id = n.user_id
      LEFT JOIN price_events e ON e.id = n.event_id
     WHERE n.id = ANY (CAST(:ids AS bigint[]))
     ORDER BY n.user_id, n.id
    """  # noqa: S608 - joined from constant fragments, never from input
)

# The watches an event can reach, found from the event's side (a listing watch, or a product
# watch of the listing's product), so the outbox is read by its item index, never scanned.
_WATCHES_OF_EVENTS = """
    ev AS (
        SELECT e.id, e.kind, e.listing_id, e.occurred_at, e.evaluated_at, l.product_id, l.store_id
          FROM price_events e JOIN store_listings l ON l.id = e.listing_id
         WHERE e.id = ANY (CAST(:ids AS bigint[]))
    ), watches AS (
        SELECT ev.id AS event_id, w.* FROM ev JOIN shopping_list_items w ON w.listing_id = ev.listing_id
        UNION ALL
        SELECT ev.id, w.* FROM ev JOIN shopping_list_items w ON w.product_id = ev.product_id
         WHERE ev.product_id IS NOT NULL
           AND (w.preferred_store_ids IS NULL OR ev.store_id = ANY (w.preferred_store_ids))
    )
"""

OWED_FOR_EVENTS = sa.text(
    "WITH " + _WATCHES_OF_EVENTS + " SELECT " + _OWED_COLUMNS + """
      FROM (SELECT DISTINCT id FROM watches) w
      JOIN notifications n ON n.item_id = w.id
      JOIN users u ON u.id = n.user_id
      JOIN price_events e ON e.id = n.event_id
     WHERE n.event_id = ANY (CAST(:ids AS bigint[]))
     ORDER BY n.user_id, n.id
    """  # noqa: S608 - joined from constant fragments, never from input
)

NOT_TOLD = sa.text(
    "WITH " + _WATCHES_OF_EVENTS + """
    SELECT w.event_id, ev.kind AS event_kind, w.id AS item_id, u.id AS user_id, u.email,
           CASE
             WHEN ev.evaluated_at IS NULL THEN 'not evaluated yet'
             WHEN ev.occurred_at < ev.evaluated_at - CAST(:max_age AS interval) THEN 'event too old to tell'
             WHEN NOT w.active THEN 'watch paused'
             WHEN u.status <> 'active' THEN 'user disabled'
             WHEN u.verified_at IS NULL THEN 'address not verified'
             WHEN EXISTS (SELECT 1 FROM email_suppressions s WHERE s.email = lower(u.email))
               THEN 'address suppressed'
             ELSE 'the watch''s rules (notify kinds, target, minimum drop) or its cool-down'
                  || coalesce((SELECT ' (last ' || a.kind || ' alert at '
                                      || to_char(a.last_alerted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
                                      || ' UTC)'
                                 FROM alert_state a
                                WHERE a.item_id = w.id AND a.last_event_id IS DISTINCT FROM ev.id
                                  AND a.last_alerted_at > ev.occurred_at - CAST(:cooldown AS interval)
                                ORDER BY a.last_alerted_at DESC LIMIT 1), '')
           END AS reason
      FROM watches w
      JOIN ev ON ev.id = w.event_id
      JOIN shopping_lists sl ON sl.id = w.list_id
      JOIN users u ON u.id = sl.user_id
     WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.item_id = w.id AND n.event_id = ev.id)
     ORDER BY w.event_id, w.id
    """  # noqa: S608 - joined from constant fragments, never from input
)


def owed(conn: Connection, notification_ids: Sequence[int]) -> list[Owed]:
    """These outbox rows, by user."""
    if not notification_ids:
        return []
    return [Owed(**r._mapping) for r in conn.execute(OWED_BY_ID, {"ids": [int(i) for i in notification_ids]})]


def owed_for_events(conn: Connection, event_ids: Sequence[int]) -> list[Owed]:
    """Every outbox row these events made, by user."""
    if not event_ids:
        return []
    return [Owed(**r._mapping) for r in conn.execute(OWED_FOR_EVENTS, {"ids": [int(i) for i in event_ids]})]


def not_told(conn: Connection, event_ids: Sequence[int], *, cooldown_seconds: float) -> list[NotTold]:
    """The watches these events reached no one through, with the reason."""
    if not event_ids:
        return []
    from datetime import timedelta

    from alerts.evaluate import MAX_EVENT_AGE

    rows = conn.execute(NOT_TOLD, {"ids": [int(i) for i in event_ids], "max_age": MAX_EVENT_AGE,
                                   "cooldown": timedelta(seconds=cooldown_seconds)})
    return [NotTold(**r._mapping) for r in rows]


def render_owed(items: Sequence[Owed], indent: str = "  ") -> list[str]:
    """One line per outbox row: kind, watch, user, state."""
    lines = []
    for o in items:
        about = f"event {o.event_id} ({o.event_kind}, listing {o.listing_id})" if o.event_id else "no event"
        lines.append(f"{indent}{o.kind:<15} watch {o.item_id if o.item_id is not None else '-':<6} "
                     f"{o.email:<30} {o.state()}  [{about}]")
    return lines


def render_not_told(items: Sequence[NotTold], indent: str = "  ") -> list[str]:
    return [f"{indent}event {n.event_id} ({n.event_kind}) watch {n.item_id} {n.email}: {n.reason}" for n in items]


__all__ = ["NotTold", "Owed", "not_told", "owed", "owed_for_events", "render_not_told", "render_owed"]
