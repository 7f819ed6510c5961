"""Held runs: what an operator can do with a crawl run the writer found suspect.

A suspect run (much of a store turning gone, sold out, unreadable or jumping in price at once)
confirms nothing: its readings wait on the listings (pending_* and consecutive_removed) and the
store's next run decides. When the operator knows better than the next run:

    release   apply the held readings now, as if a second reading had agreed: held prices and
              stock are written and alerted, gone readings confirm the removal
    discard   forget them: pending readings are dropped and the removed counts start again

Both act only on listings of that run that still hold something, and both are idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.flush import Row, flush_rows
from pricehound import clock


class NotHeld(LookupError):
    """No held run with that id."""


@dataclass(frozen=True)
class HeldRun:
    id: int
    store: str
    reason: str | None
    listings: int
    finished_at: object


LIST_SQL = sa.text(
    """
    SELECT r.id, s.slug AS store, r.held_reason AS reason, cardinality(r.listing_ids) AS listings, r.finished_at
      FROM crawl_runs r JOIN stores s ON s.id = r.store_id
     WHERE r.held_state = 'held'
     ORDER BY r.id
    """
)

HELD_LISTINGS = sa.text(
    """
    SELECT l.id, l.pending_price, l.pending_currency, l.pending_availability, l.pending_at, l.consecutive_removed, l.status
      FROM crawl_runs r JOIN store_listings l ON l.id = ANY (r.listing_ids)
     WHERE r.id = :run_id AND r.held_state = 'held'
       AND (l.pending_at IS NOT NULL OR (l.consecutive_removed > 0 AND l.status = 'active'))
     ORDER BY l.id
    """
)

MARK = sa.text("UPDATE crawl_runs SET held_state = :state WHERE id = :run_id AND held_state = 'held' RETURNING id")


def held_runs(conn: Connection) -> list[HeldRun]:
    return [HeldRun(**dict(r._mapping)) for r in conn.execute(LIST_SQL)]


def release(conn: Connection, run_id: int) -> list[int]:
    """Apply the run's held readings now; return the new event ids (for the alert stage)."""
    listings = conn.execute(HELD_LISTINGS, {"run_id": run_id}).all()
    if conn.execute(MARK, {"run_id": run_id, "state": "released"}).one_or_none() is None:
        raise NotHeld(f"crawl run {run_id} is not held; `pricehound runs held` lists those that are")
    at = clock.now()
    # the held reading, read again at its own time: it agrees with itself, so it is applied
    readings = [Row(int(x.id), "ok", "released", x.pending_price, x.pending_currency, None,
                    x.pending_availability, None, None, None, None, x.pending_at, False)
                for x in listings if x.pending_availability is not None]
    gone = [Row(int(x.id), "removed", "released", None, None, None, "unknown", None, None, None, None, at, False)
            for x in listings if x.pending_availability is None]
    events: list[int] = []
    if readings:
        events += flush_rows(conn, readings, run_id=None).event_ids
    if gone:  # one more gone reading, counted as the last one needed
        events += flush_rows(conn, gone, run_id=None, removed_after=1).event_ids
    return events


def discard(conn: Connection, run_id: int) -> int:
    """Drop the run's held readings; return how many listings held something."""
    listings = conn.execute(HELD_LISTINGS, {"run_id": run_id}).all()
    if conn.execute(MARK, {"run_id": run_id, "state": "discarded"}).one_or_none() is None:
        raise NotHeld(f"crawl run {run_id} is not held; `pricehound runs held` lists those that are")
    conn.execute(sa.text(
        """
        UPDATE store_listings SET pending_price = NULL, pending_currency = NULL, pending_availability = NULL,
                                  pending_at = NULL, consecutive_removed = 0
         WHERE id = ANY (:ids)
        """), {"ids": [int(x.id) for x in listings]})
    return len(listings)


def render(runs: list[HeldRun]) -> str:
    """The held runs for `pricehound status` and `pricehound runs held`."""
    if not runs:
        return "held crawl runs: none"
    lines = [f"held crawl runs: {len(runs)} (`pricehound runs release|discard RUN_ID`)"]
    lines += [f"  run {r.id} store {r.store}: {r.reason or 'suspect'}" for r in runs]
    return "\n".join(lines)
