"""Keep the last few observations of each listing: what the page read as, and which rules said so.

``store_prices`` holds only the current state and ``price_history_log`` only changes, so neither
says what the last crawls actually saw (a failure, a refused price, the same price read by a
different rule). ``listing_observations`` does, for ``pricehound explain`` and ``pricehound crawl
--wait``: a ring of :data:`OBSERVATION_SLOTS` slots per listing, written with each flush in one
set-based statement (arrays in, no statement per row), so it never needs pruning.

Recording is diagnostics: it runs in a savepoint of the flush's transaction, and if it fails the
flush still commits what users are told about.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pipelines.flush import Row
from spiders.items import Observation

log = logging.getLogger("pricehound.writer")

#: observations kept per listing
OBSERVATION_SLOTS = 5


@dataclass(frozen=True)
class Note:
    """What an observation says beyond the row the writer stores: how it was read."""

    rules: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    status_code: int | None = None


def note_for(item: Observation) -> Note:
    """The note of a spider's Observation: its rules, source and HTTP status."""
    return Note(rules=dict(item.rules), source=item.source, status_code=item.status_code)


# Each listing's next slot follows the slot of its newest observation (by seq); a listing seen for
# the first time starts at 0. A listing appears once per batch (the caller keeps the last).
RECORD = sa.text(
    """
    WITH o AS (
        SELECT *
          FROM unnest(CAST(:listing_ids AS bigint[]), CAST(:kinds AS text[]), CAST(:reasons AS text[]),
                      CAST(:prices AS numeric[]), CAST(:currencies AS text[]), CAST(:availability AS text[]),
                      CAST(:observed_at AS timestamptz[]), CAST(:status_codes AS integer[]),
                      CAST(:sources AS text[]), CAST(:rules AS jsonb[]))
               AS o(listing_id, kind, reason, price, currency, availability, observed_at, status_code,
                    source, rules)
    )
    INSERT INTO listing_observations AS x (listing_id, slot, seq, crawl_run_id, observed_at, kind, reason,
                                           price, currency, availability, status_code, source, rules)
    SELECT o.listing_id, coalesce((last.slot + 1) % :slots, 0), nextval('listing_observations_seq'),
           :run_id, o.observed_at, o.kind, o.reason, o.price, o.currency, o.availability, o.status_code,
           o.source, o.rules
      FROM o
      JOIN store_listings l ON l.id = o.listing_id
      LEFT JOIN LATERAL (SELECT slot FROM listing_observations p WHERE p.listing_id = o.listing_id
                          ORDER BY p.seq DESC LIMIT 1) last ON true
    ON CONFLICT (listing_id, slot) DO UPDATE
       SET seq = excluded.seq, crawl_run_id = excluded.crawl_run_id, observed_at = excluded.observed_at,
           kind = excluded.kind, reason = excluded.reason, price = excluded.price,
           currency = excluded.currency, availability = excluded.availability,
           status_code = excluded.status_code, source = excluded.source, rules = excluded.rules
    """
)


def record(conn: Connection, rows: Sequence[Row], notes: Mapping[int, Note] | None = None, *,
           run_id: int | None, slots: int = OBSERVATION_SLOTS) -> int:
    """Record one batch (the last row per listing) in the caller's transaction; one statement.
    Returns how many were recorded."""
    by_listing: dict[int, Row] = {}
    for row in rows:
        by_listing[row.listing_id] = row
    if not by_listing:
        return 0
    notes = notes or {}
    batch = list(by_listing.values())
    empty = Note()
    picked = [notes.get(r.listing_id) or empty for r in batch]
    params = {
        "listing_ids": [r.listing_id for r in batch],
        "kinds": [r.kind for r in batch],
        "reasons": [r.reason for r in batch],
        "prices": [r.price for r in batch],
        "currencies": [r.currency for r in batch],
        "availability": [r.availability for r in batch],
        "observed_at": [r.observed_at for r in batch],
        "status_codes": [n.status_code for n in picked],
        "sources": [n.source for n in picked],
        "rules": [json.dumps(dict(n.rules), sort_keys=True) for n in picked],
        "run_id": run_id, "slots": int(slots),
    }
    return conn.execute(RECORD, params).rowcount


def record_quietly(conn: Connection, rows: Sequence[Row], notes: Mapping[int, Note] | None = None, *,
                   run_id: int | None) -> int:
    """:func:`record` in a savepoint: a failure is logged and leaves the flush's writes alone."""
    try:
        with conn.begin_nested():
            return record(conn, rows, notes, run_id=run_id)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("could not record %d observations for explain (%s)", len(rows),
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return 0


__all__ = ["OBSERVATION_SLOTS", "Note", "note_for", "record", "record_quietly"]
