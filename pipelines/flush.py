"""One flush of observations into PostgreSQL: one transaction, a fixed handful of set-based
statements whatever the batch size, never a statement per row.

The batch is loaded into a temporary table together with each listing's state before the
flush (its price row, status and counters, read under a row lock), and every later statement
works from that snapshot:

    load      COPY -> crawl_input -> crawl_batch, joined to store_listings/store_prices (old state)
    prices    upsert store_prices for ok rows (changed_at only when something changed)
    history   append price_history_log where price, currency or availability changed
    events    price_drop / price_rise / sold_out / back_in_stock / removed / reappeared
    listings  identity, timestamps, status and the removed/failure counters
    frontier  release the lease, schedule the next crawl
    run       add to crawl_runs counters

Kinds: ``ok``, ``removed``, ``failed`` (from the spider) and ``dropped`` (refused by validation;
only counted and scheduled, and an absurd price is remembered as the listing's suspect price).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from spiders.items import Observation

DROPPED = "dropped"


class Row(NamedTuple):
    """One observation as the writer loads it (the column order of crawl_batch)."""

    listing_id: int
    kind: str
    reason: str | None
    price: Decimal | None
    currency: str | None
    regular_price: Decimal | None
    availability: str
    title: str | None
    sku: str | None
    gtin: str | None
    image_url: str | None
    observed_at: datetime
    suspect: bool


def row_from_observation(obs: Observation) -> Row:
    ok = obs.kind == "ok"
    return Row(
        int(obs.listing_id), obs.kind, _text(obs.reason, 200),
        obs.price if ok else None, obs.currency if ok else None, obs.regular_price if ok else None,
        obs.availability if ok else "unknown",
        _text(obs.title, 500) if ok else None, _text(obs.sku, 100) if ok else None,
        obs.gtin if ok else None, _text(obs.image_url, 2048) if ok else None,
        obs.observed_at, False,
    )


def row_from_dropped(obs: Observation, reason: str, suspect_price: Decimal | None = None,
                     suspect_currency: str | None = None) -> Row:
    """A refused observation: counted and scheduled; an absurd price is kept as the suspect."""
    suspect = suspect_price is not None and suspect_currency is not None
    return Row(
        int(obs.listing_id), DROPPED, _text(f"dropped:{reason}", 200),
        suspect_price if suspect else None, suspect_currency if suspect else None, None, "unknown",
        None, None, None, None, obs.observed_at, suspect,
    )


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return str(value).replace("\x00", "")[:limit]


@dataclass
class FlushResult:
    event_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


CREATE_INPUT = sa.text(
    """
    CREATE TEMP TABLE IF NOT EXISTS crawl_input (
        listing_id bigint, kind text, reason text, price numeric(12,2), currency text,
        regular_price numeric(12,2), availability text, title text, sku text, gtin text,
        image_url text, observed_at timestamptz, suspect boolean
    ) ON COMMIT DELETE ROWS
    """
)
COPY_INPUT = "COPY crawl_input FROM STDIN"

CREATE_BATCH = sa.text(
    """
    CREATE TEMP TABLE IF NOT EXISTS crawl_batch (
        listing_id bigint NOT NULL, kind text NOT NULL, reason text,
        price numeric(12,2), currency char(3), regular_price numeric(12,2), availability text NOT NULL,
        title text, sku text, gtin text, image_url text, observed_at timestamptz NOT NULL,
        suspect boolean NOT NULL,
        old_price numeric(12,2), old_currency char(3), old_availability text, old_status text NOT NULL,
        had_price boolean NOT NULL, changed boolean NOT NULL, new_status text NOT NULL,
        new_removed integer NOT NULL, new_failures integer NOT NULL,
        confirms_removal boolean NOT NULL, reappears boolean NOT NULL
    ) ON COMMIT DELETE ROWS
    """
)

LOAD_BATCH = sa.text(
    """
    INSERT INTO crawl_batch
    SELECT u.listing_id, u.kind, u.reason, u.price, u.currency, u.regular_price, u.availability,
           u.title, u.sku, u.gtin, u.image_url, u.observed_at, u.suspect,
           p.price, p.currency, p.availability, l.status,
           p.listing_id IS NOT NULL,
           -- a change: the first price row, or a newer read whose price/currency/stock differs
           u.kind = 'ok' AND (p.listing_id IS NULL
                              OR (u.observed_at >= p.observed_at
                                  AND (p.price, p.currency, p.availability)
                                      IS DISTINCT FROM (u.price, u.currency, u.availability))),
           CASE WHEN u.kind = 'ok' THEN 'active'
                WHEN u.kind = 'removed' AND l.consecutive_removed + 1 >= :removed_after THEN 'removed'
                ELSE l.status END,
           CASE u.kind WHEN 'ok' THEN 0 WHEN 'removed' THEN l.consecutive_removed + 1
                       ELSE l.consecutive_removed END,
           CASE WHEN u.kind IN ('ok', 'removed') THEN 0 ELSE l.consecutive_failures + 1 END,
           u.kind = 'removed' AND l.status = 'active' AND l.consecutive_removed + 1 >= :removed_after,
           u.kind = 'ok' AND l.status = 'removed'
      FROM crawl_input u
      JOIN store_listings l ON l.id = u.listing_id
      LEFT JOIN store_prices p ON p.listing_id = u.listing_id
       FOR UPDATE OF l
    """
)

UPSERT_PRICES = sa.text(
    """
    INSERT INTO store_prices AS sp (listing_id, price, currency, regular_price, availability,
                                    observed_at, changed_at)
    SELECT listing_id, price, currency, regular_price, availability, observed_at, observed_at
      FROM crawl_batch WHERE kind = 'ok'
    ON CONFLICT (listing_id) DO UPDATE
       SET price = excluded.price, currency = excluded.currency,
           regular_price = excluded.regular_price, availability = excluded.availability,
           observed_at = excluded.observed_at,
           changed_at = CASE WHEN (sp.price, sp.currency, sp.availability)
                                  IS DISTINCT FROM (excluded.price, excluded.currency, excluded.availability)
                             THEN excluded.observed_at ELSE sp.changed_at END
     WHERE excluded.observed_at >= sp.observed_at
    """
)

APPEND_HISTORY = sa.text(
    """
    INSERT INTO price_history_log (listing_id, observed_at, price, currency, regular_price,
                                   availability, crawl_run_id)
    SELECT listing_id, observed_at, price, currency, regular_price, availability, :run_id
      FROM crawl_batch WHERE changed
    """
)

INSERT_EVENTS = sa.text(
    """
    INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, old_availability,
                              new_availability, crawl_run_id, occurred_at)
    SELECT b.listing_id, e.kind, b.old_price, b.price, coalesce(b.currency, b.old_currency),
           b.old_availability, CASE WHEN e.kind = 'removed' THEN NULL ELSE b.availability END,
           :run_id, b.observed_at
      FROM (SELECT * FROM crawl_batch WHERE changed OR confirms_removal OR reappears) b
     CROSS JOIN LATERAL (VALUES
           ('price_drop', b.changed AND b.old_price IS NOT NULL AND b.price IS NOT NULL
                          AND b.old_currency = b.currency AND b.price < b.old_price),
           ('price_rise', b.changed AND b.old_price IS NOT NULL AND b.price IS NOT NULL
                          AND b.old_currency = b.currency AND b.price > b.old_price),
           ('sold_out', b.changed AND b.had_price AND b.old_availability IN ('in_stock', 'preorder')
                        AND b.availability = 'out_of_stock'),
           ('back_in_stock', b.changed AND b.had_price AND b.old_availability = 'out_of_stock'
                             AND b.availability IN ('in_stock', 'preorder')),
           ('removed', b.confirms_removal),
           ('reappeared', b.reappears)) AS e(kind, happened)
     WHERE e.happened
     ORDER BY b.listing_id, e.kind
    RETURNING id
    """
)

UPDATE_LISTINGS = sa.text(
    """
    UPDATE store_listings l
       SET title = CASE WHEN b.kind = 'ok' THEN coalesce(b.title, l.title) ELSE l.title END,
           sku = CASE WHEN b.kind = 'ok' THEN coalesce(b.sku, l.sku) ELSE l.sku END,
           gtin = CASE WHEN b.kind = 'ok' THEN coalesce(b.gtin, l.gtin) ELSE l.gtin END,
           image_url = CASE WHEN b.kind = 'ok' THEN coalesce(b.image_url, l.image_url) ELSE l.image_url END,
           first_seen_at = CASE WHEN b.kind = 'ok' THEN coalesce(l.first_seen_at, b.observed_at)
                                ELSE l.first_seen_at END,
           last_seen_at = CASE WHEN b.kind = 'ok' THEN b.observed_at ELSE l.last_seen_at END,
           last_crawled_at = b.observed_at,
           status = b.new_status,
           consecutive_removed = b.new_removed,
           consecutive_failures = b.new_failures,
           last_failure_reason = CASE WHEN b.kind IN ('failed', 'dropped') THEN b.reason
                                      WHEN b.kind = 'ok' THEN NULL ELSE l.last_failure_reason END,
           suspect_price = CASE WHEN b.suspect THEN b.price WHEN b.kind = 'ok' THEN NULL
                                ELSE l.suspect_price END,
           suspect_currency = CASE WHEN b.suspect THEN b.currency WHEN b.kind = 'ok' THEN NULL
                                   ELSE l.suspect_currency END
      FROM crawl_batch b
     WHERE l.id = b.listing_id
    """
)

# Failures come back later, not sooner: Scrapy already retried transient errors inside the run,
# so a page still failing is most likely a store that is down or pushing back; doubling the
# interval per consecutive failure (up to the store's longest) keeps pressure off it while a
# single failure keeps the listing's normal rhythm. A confirmed removal is checked rarely (the
# store's longest interval) in case it reappears.
UPDATE_FRONTIER = sa.text(
    """
    UPDATE user_crawler_priorities f
       SET last_crawled_at = b.observed_at,
           next_due_at = now() + CASE
               WHEN b.new_status = 'removed' THEN s.max_interval
               WHEN b.kind IN ('failed', 'dropped') THEN
                   least(s.max_interval, crawl_interval(f.priority, s.min_interval, s.max_interval)
                                         * power(2, least(b.new_failures, 10) - 1))
               ELSE crawl_interval(f.priority, s.min_interval, s.max_interval) END,
           lease_until = CASE WHEN f.crawl_run_id IS NULL OR f.crawl_run_id = :run_id
                              THEN NULL ELSE f.lease_until END,
           leased_by = CASE WHEN f.crawl_run_id IS NULL OR f.crawl_run_id = :run_id
                            THEN NULL ELSE f.leased_by END,
           crawl_run_id = CASE WHEN f.crawl_run_id = :run_id THEN NULL ELSE f.crawl_run_id END,
           updated_at = now()
      FROM crawl_batch b, stores s
     WHERE f.listing_id = b.listing_id AND s.id = f.store_id
    """
)

COUNT_BATCH = sa.text(
    """
    SELECT count(*) FILTER (WHERE kind = 'ok') AS ok,
           count(*) FILTER (WHERE changed) AS changed,
           count(*) FILTER (WHERE kind = 'removed') AS removed,
           count(*) FILTER (WHERE kind = 'failed') AS failed,
           count(*) FILTER (WHERE kind = 'dropped') AS dropped,
           count(*) FILTER (WHERE confirms_removal) AS confirmed_removed
      FROM crawl_batch
    """
)

ADD_TO_RUN = sa.text(
    """
    UPDATE crawl_runs
       SET ok = ok + :ok, changed = changed + :changed, removed = removed + :removed,
           failed = failed + :failed, dropped = dropped + :dropped
     WHERE id = :run_id
    """
)


def _last_per_listing(rows: Iterable[Row]) -> list[Row]:
    """One row per listing (the last); a listing is observed once per run, but be safe."""
    by_listing: dict[int, Row] = {}
    for row in rows:
        by_listing[row.listing_id] = row
    return list(by_listing.values())


def _copy_field(value: object) -> str:
    """One value in COPY's text format (the data stream, never SQL)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if any(ch in text for ch in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_rows(conn: Connection, rows: Sequence[Row]) -> None:
    """Stream the batch into crawl_input with COPY, on the transaction's own connection."""
    buffer = io.StringIO()
    buffer.writelines("\t".join(map(_copy_field, row)) + "\n" for row in rows)
    buffer.seek(0)
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.copy_expert(COPY_INPUT, buffer)


def flush_rows(conn: Connection, rows: Sequence[Row], *, run_id: int | None,
               removed_after: int = 2) -> FlushResult:
    """Write one batch inside the caller's transaction; return new event ids and counts."""
    rows = _last_per_listing(rows)
    if not rows:
        return FlushResult()
    conn.execute(CREATE_INPUT)
    conn.execute(CREATE_BATCH)
    copy_rows(conn, rows)
    conn.execute(LOAD_BATCH, {"removed_after": int(removed_after)})
    conn.execute(UPSERT_PRICES)
    conn.execute(APPEND_HISTORY, {"run_id": run_id})
    event_ids = [int(r.id) for r in conn.execute(INSERT_EVENTS, {"run_id": run_id})]
    conn.execute(UPDATE_LISTINGS)
    conn.execute(UPDATE_FRONTIER, {"run_id": run_id})
    counts = dict(conn.execute(COUNT_BATCH).one()._mapping)
    if run_id is not None:
        conn.execute(ADD_TO_RUN, {"run_id": run_id, **{k: counts[k] for k in
                                                      ("ok", "changed", "removed", "failed", "dropped")}})
    conn.execute(sa.text("TRUNCATE crawl_input, crawl_batch"))
    return FlushResult(event_ids=event_ids, counts={k: int(v) for k, v in counts.items()})
