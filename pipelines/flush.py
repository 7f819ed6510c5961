"""One flush of observations into PostgreSQL: one transaction, a COPY and one set-based
statement whatever the batch size, never a statement per row.

    load      COPY the batch into the temporary table crawl_input (created once per connection)
    lock      one advisory lock per store, so two flushes of a store never interleave
    flush     one statement: ``b`` reads each listing's old state once (listing, price row, store
              intervals) and derives the new state; data-modifying CTEs then
                prices    upsert store_prices for ok rows (changed_at only when something changed)
                history   append price_history_log where price, currency or availability changed
                events    price_drop / price_rise / sold_out / back_in_stock / removed / reappeared
                listings  identity, status and the counters, only where something differs
                frontier  schedule the next crawl (every row; the run itself was the lease)
                run       add to the crawl_runs counters

Kinds: ``ok``, ``removed``, ``failed`` (from the spider) and ``dropped`` (refused by validation;
only counted and scheduled, and an absurd price is remembered as the listing's suspect price).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.rules import (
    DEFAULT_CONFIRM_SHARE,
    DEFAULT_SANITY_FACTOR,
    DEFAULT_SANITY_MIN_PAGES,
    DEFAULT_SANITY_SHARE,
)
from pricehound import identity
from pricehound.freshness import CHANGE_WINDOW
from spiders.items import Observation

DROPPED = "dropped"


class Row(NamedTuple):
    """One observation as the writer loads it (the column order of crawl_input)."""

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
    # what identifies the product (pricehound/identity.py); not loaded into crawl_input
    brand: str | None = None
    mpn: str | None = None


def row_from_observation(obs: Observation) -> Row:
    ok = obs.kind == "ok"
    return Row(
        int(obs.listing_id), obs.kind, _text(obs.reason, 200),
        obs.price if ok else None, obs.currency if ok else None, obs.regular_price if ok else None,
        obs.availability if ok else "unknown",
        _text(obs.title, 500) if ok else None, _text(obs.sku, 100) if ok else None,
        obs.gtin if ok else None, _text(obs.image_url, 2048) if ok else None,
        obs.observed_at, False,
        _text(obs.brand, 200) if ok else None, _text(obs.mpn, 100) if ok else None,
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
    held_run: bool = False  # the run was found suspect: its changes are held


@dataclass(frozen=True)
class Sanity:
    """When a run is suspect (see alerts/rules.py for why these defaults)."""

    min_pages: int = DEFAULT_SANITY_MIN_PAGES
    share: Decimal = DEFAULT_SANITY_SHARE
    factor: Decimal = DEFAULT_SANITY_FACTOR


CREATE_INPUT = sa.text(
    """
    CREATE TEMP TABLE IF NOT EXISTS crawl_input (
        listing_id bigint, kind text, reason text, price numeric, currency char(3),
        regular_price numeric, availability text, title text, sku text, gtin text,
        image_url text, observed_at timestamptz, suspect boolean
    ) ON COMMIT DELETE ROWS
    """
)
COPY_INPUT = "COPY crawl_input FROM STDIN"
TRUNCATE_INPUT = sa.text("TRUNCATE crawl_input")

# (part of PREPARE, below) Two flushes for the same store never interleave: the second waits
# here, before it reads any old state, so its one statement starts from what the first
# committed. One lock per store and flush, not one per row (the crawl's store lease makes a
# wait here rare: only a crawl that outlived its lease can meet its successor).
LOCK_STORES = """
    (SELECT count(pg_advisory_xact_lock(hashtextextended('pricehound.flush', s.store_id)))
       FROM (SELECT store_id FROM crawl_runs WHERE id = :run_id
             UNION
             SELECT DISTINCT l.store_id FROM crawl_input u JOIN store_listings l ON l.id = u.listing_id
              WHERE CAST(:run_id AS bigint) IS NULL
             ORDER BY 1) s) AS locked
"""

# A batch is a few hundred or thousand listings out of tables that only grow: every join of the
# flush is by primary key, and an index lookup per batch row is always the cheap way. The planner
# has no statistics for the freshly loaded temporary table and, once the batch is a few percent
# of a table, picks a hash join that reads the whole frontier (or a merge join over the whole
# index) on every flush. The setting lasts for the flush statement only.
PREPARE = sa.text(
    "SELECT current_setting('enable_hashjoin') AS hash, current_setting('enable_mergejoin') AS merge, "
    "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), " + LOCK_STORES
)
RESTORE_JOINS = sa.text("SELECT set_config('enable_hashjoin', :hash, true), set_config('enable_mergejoin', :merge, true)")

# The whole flush in one statement. ``b`` reads each listing's old state once (listing, price
# row, store intervals) and derives everything the writes need; the data-modifying CTEs below it
# all see that one snapshot, and each writes only what it must:
#
#   prices    every ok row: observed_at moves on; price, stock and changed_at only on change
#   history   only changed rows
#   events    only changed, confirmed-removed and reappeared rows
#   listings  only rows where a column really differs (an unchanged ok read costs nothing here)
#   frontier  every row: the next crawl is scheduled
#   run       the crawl_runs counters, once
#
# An ok read that shows no price keeps the listing's last known price, currency and regular
# price (a missing price is no evidence that the price is gone); its availability is recorded.
FLUSH = sa.text(
    """
    WITH n AS MATERIALIZED (
        SELECT u.listing_id, u.kind, u.observed_at, u.availability,
               CASE WHEN u.kind = 'ok' AND u.price IS NULL THEN p.price ELSE u.price END AS price,
               CASE WHEN u.kind = 'ok' AND u.price IS NULL THEN p.currency ELSE u.currency END AS currency,
               CASE WHEN u.kind = 'ok' AND u.price IS NULL THEN p.regular_price
                    ELSE u.regular_price END AS regular_price,
               p.listing_id IS NOT NULL AS had_price, p.price AS old_price, p.currency AS old_currency,
               p.availability AS old_availability, p.observed_at AS old_observed_at,
               -- the last availability a page stated; "unknown" never replaces it
               coalesce(p.known_availability, nullif(p.availability, 'unknown')) AS old_known,
               CASE WHEN u.kind = 'ok' AND u.availability <> 'unknown' THEN u.availability
                    ELSE coalesce(p.known_availability, nullif(p.availability, 'unknown')) END
                   AS new_known,
               s.min_interval, s.max_interval,
               l.title AS old_title, l.sku AS old_sku, l.gtin AS old_gtin, l.image_url AS old_image_url,
               l.first_seen_at AS old_first_seen_at, l.status AS old_status,
               l.consecutive_removed AS old_removed, l.consecutive_failures AS old_failures,
               l.last_failure_reason AS old_reason, l.suspect_price AS old_suspect_price,
               l.suspect_currency AS old_suspect_currency,
               l.pending_price AS old_pending_price, l.pending_currency AS old_pending_currency,
               l.pending_availability AS old_pending_availability, l.pending_at AS old_pending_at,
               CASE WHEN u.kind = 'ok' THEN coalesce(u.title, l.title) ELSE l.title END AS new_title,
               CASE WHEN u.kind = 'ok' THEN coalesce(u.sku, l.sku) ELSE l.sku END AS new_sku,
               CASE WHEN u.kind = 'ok' THEN coalesce(u.gtin, l.gtin) ELSE l.gtin END AS new_gtin,
               CASE WHEN u.kind = 'ok' THEN coalesce(u.image_url, l.image_url) ELSE l.image_url END
                   AS new_image_url,
               CASE WHEN u.kind = 'ok' THEN coalesce(l.first_seen_at, u.observed_at) ELSE l.first_seen_at END
                   AS new_first_seen_at,
               CASE WHEN u.kind IN ('ok', 'removed') THEN 0 ELSE l.consecutive_failures + 1 END AS new_failures,
               CASE WHEN u.kind IN ('failed', 'dropped') THEN u.reason
                    WHEN u.kind = 'ok' THEN NULL ELSE l.last_failure_reason END AS new_reason,
               CASE WHEN u.suspect THEN u.price WHEN u.kind = 'ok' THEN NULL ELSE l.suspect_price END
                   AS new_suspect_price,
               CASE WHEN u.suspect THEN u.currency WHEN u.kind = 'ok' THEN NULL ELSE l.suspect_currency END
                   AS new_suspect_currency,
           -- a listing that turns gone, sold out or unreadable, or moves its price by more than
           -- the sanity factor, in this reading: what a store-wide glitch looks like
           (u.kind = 'removed' AND l.status = 'active' AND l.consecutive_removed = 0)
           OR (u.kind = 'failed' AND l.consecutive_failures = 0)
           OR (u.kind = 'ok' AND u.availability = 'out_of_stock'
               AND coalesce(p.known_availability, nullif(p.availability, 'unknown')) IN ('in_stock', 'preorder'))
           OR coalesce(u.kind = 'ok' AND u.price > 0 AND p.price > 0 AND u.currency = p.currency
                       AND (u.price > p.price * :sanity_factor OR u.price * :sanity_factor < p.price), false)
               AS turned
          FROM crawl_input u
          JOIN store_listings l ON l.id = u.listing_id
          JOIN stores s ON s.id = l.store_id
          LEFT JOIN store_prices p ON p.listing_id = u.listing_id
    ), sanity AS (
        -- Store-level sanity: a run is suspect when, counting this batch, at least
        -- :sanity_min listings were observed and at least :sanity_share of them turned at once.
        -- A suspect run's changes are held (nothing confirmed, nothing removed) and read again
        -- soon; a run that follows a held run of its store is the "next run": what it agrees
        -- with is applied, what it does not is dropped.
        SELECT x.*,
               :sanity AND x.run_id IS NOT NULL AND NOT x.after_held
               AND (x.already_held OR (x.seen >= :sanity_min AND x.turned >= x.seen * :sanity_share)) AS hold
          FROM (
            SELECT r.id AS run_id,
                   coalesce(r.ok + r.removed + r.failed + r.dropped, 0) + (SELECT count(*) FROM n) AS seen,
                   coalesce(r.turned, 0) + (SELECT count(*) FILTER (WHERE turned) FROM n) AS turned,
                   coalesce(r.held_state = 'held', false) AS already_held,
                   EXISTS (SELECT 1 FROM crawl_runs h WHERE h.store_id = r.store_id AND h.id <> r.id
                              AND h.held_state = 'held') AS after_held
              FROM (SELECT 1) one LEFT JOIN crawl_runs r ON r.id = :run_id
          ) x
    ), b AS MATERIALIZED (
        SELECT m.*,
               -- a change: the first price row, or a newer read whose price/currency/stock differs
               m.kind = 'ok' AND NOT m.held
                   AND (NOT m.had_price
                        OR (m.observed_at >= m.old_observed_at
                            AND (m.old_price, m.old_currency, m.old_availability)
                                IS DISTINCT FROM (m.price, m.currency, m.availability))) AS changed,
               m.kind = 'removed' AND m.old_status = 'active' AND m.new_status = 'removed' AS confirms_removal,
               -- an applied reading after an earlier one: one visit of the change-rate evidence
               m.kind = 'ok' AND NOT m.held AND m.had_price AND m.observed_at > m.old_observed_at AS rate_sample,
               m.kind = 'ok' AND m.old_status = 'removed' AND NOT m.held AS reappears,
               (m.old_title, m.old_sku, m.old_gtin, m.old_image_url, m.old_first_seen_at, m.old_status,
                m.old_removed, m.old_failures, m.old_reason, m.old_suspect_price, m.old_suspect_currency,
                m.old_pending_price, m.old_pending_currency, m.old_pending_availability, m.old_pending_at)
               IS DISTINCT FROM
               (m.new_title, m.new_sku, m.new_gtin, m.new_image_url, m.new_first_seen_at, m.new_status,
                m.new_removed, m.new_failures, m.new_reason, m.new_suspect_price, m.new_suspect_currency,
                m.new_pending_price, m.new_pending_currency, m.new_pending_availability, m.new_pending_at)
                   AS listing_differs
          FROM (
            SELECT c.*,
                   CASE WHEN c.kind = 'ok' THEN CASE WHEN c.held THEN c.old_status ELSE 'active' END
                        WHEN c.kind = 'removed' AND c.old_removed + 1 >= :removed_after AND NOT c.hold THEN 'removed'
                        ELSE c.old_status END AS new_status,
                   -- "N removed readings" means N crawls in a row: any other reading starts again
                   CASE WHEN c.kind = 'removed' THEN c.old_removed + 1 ELSE 0 END AS new_removed,
                   CASE WHEN c.kind = 'ok' THEN CASE WHEN c.held THEN c.price END ELSE c.old_pending_price END
                       AS new_pending_price,
                   CASE WHEN c.kind = 'ok' THEN CASE WHEN c.held THEN c.currency END ELSE c.old_pending_currency END
                       AS new_pending_currency,
                   CASE WHEN c.kind = 'ok' THEN CASE WHEN c.held THEN c.availability END
                        ELSE c.old_pending_availability END AS new_pending_availability,
                   CASE WHEN c.kind = 'ok' THEN CASE WHEN c.held THEN c.observed_at END ELSE c.old_pending_at END
                       AS new_pending_at
              FROM (
                SELECT n.*,
                       -- confirmation: a stock flip, a return from removed, or a price move beyond
                       -- the configured share is held until the next reading agrees with it
                       coalesce(n.kind = 'ok' AND n.had_price AND (
                           n.old_status = 'removed'
                           OR (n.old_known IN ('in_stock', 'preorder') AND n.availability = 'out_of_stock')
                           OR (n.old_known = 'out_of_stock' AND n.availability IN ('in_stock', 'preorder'))
                           OR (n.old_price IS NOT NULL AND n.price IS NOT NULL
                               AND (n.old_currency IS DISTINCT FROM n.currency
                                    OR abs(n.price - n.old_price) > n.old_price * :confirm_share)))
                       AND ((:confirm AND (n.old_pending_at IS NULL
                                           OR (n.old_pending_price, n.old_pending_currency, n.old_pending_availability)
                                              IS DISTINCT FROM (n.price, n.currency, n.availability)))
                            OR sanity.hold), false) AS held,
                       sanity.hold, sanity.seen AS run_seen, sanity.turned AS run_turned
                  FROM n CROSS JOIN sanity
              ) c
          ) m
    ), prices AS (
        INSERT INTO store_prices AS sp (listing_id, price, currency, regular_price, availability,
                                        known_availability, observed_at, changed_at)
        SELECT listing_id, price, currency, regular_price, availability, new_known, observed_at, observed_at
          FROM b WHERE kind = 'ok' AND NOT held
        ON CONFLICT (listing_id) DO UPDATE
           SET price = excluded.price, currency = excluded.currency,
               regular_price = excluded.regular_price, availability = excluded.availability,
               known_availability = excluded.known_availability,
               observed_at = excluded.observed_at,
               changed_at = CASE WHEN (sp.price, sp.currency, sp.availability)
                                      IS DISTINCT FROM (excluded.price, excluded.currency, excluded.availability)
                                 THEN excluded.observed_at ELSE sp.changed_at END
         WHERE excluded.observed_at >= sp.observed_at
    ), history AS (
        INSERT INTO price_history_log (listing_id, observed_at, price, currency, regular_price,
                                       availability, crawl_run_id)
        SELECT listing_id, observed_at, price, currency, regular_price, availability, :run_id
          FROM b WHERE changed
    ), events AS (
        INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, old_availability,
                                  new_availability, crawl_run_id, occurred_at)
        -- availabilities on events are the last known ones: "unknown" between two readings
        -- never hides a change (in -> unknown -> out is a sell-out), and a drop read on a page
        -- that says nothing of stock is judged by the stock last stated
        SELECT b.listing_id, e.kind, b.old_price, b.price, coalesce(b.currency, b.old_currency),
               coalesce(b.old_known, b.old_availability),
               CASE WHEN e.kind = 'removed' THEN NULL WHEN e.kind = 'reappeared' THEN b.availability
                    ELSE coalesce(b.new_known, b.availability) END,
               :run_id, b.observed_at
          FROM (SELECT * FROM b WHERE changed OR confirms_removal OR reappears) b
         CROSS JOIN LATERAL (VALUES
               ('price_drop', b.changed AND b.old_price IS NOT NULL AND b.price IS NOT NULL
                              AND b.old_currency = b.currency AND b.price < b.old_price),
               ('price_rise', b.changed AND b.old_price IS NOT NULL AND b.price IS NOT NULL
                              AND b.old_currency = b.currency AND b.price > b.old_price),
               ('sold_out', b.changed AND b.had_price AND b.old_known IN ('in_stock', 'preorder')
                            AND b.availability = 'out_of_stock'),
               ('back_in_stock', b.changed AND b.had_price AND b.old_known = 'out_of_stock'
                                 AND b.availability IN ('in_stock', 'preorder')),
               ('removed', b.confirms_removal),
               ('reappeared', b.reappears)) AS e(kind, happened)
         WHERE e.happened
         ORDER BY b.listing_id, e.kind
        RETURNING id
    ), listings AS (
        UPDATE store_listings l
           SET title = b.new_title, sku = b.new_sku, gtin = b.new_gtin, image_url = b.new_image_url,
               first_seen_at = b.new_first_seen_at, status = b.new_status,
               consecutive_removed = b.new_removed, consecutive_failures = b.new_failures,
               last_failure_reason = b.new_reason,
               suspect_price = b.new_suspect_price, suspect_currency = b.new_suspect_currency,
               pending_price = b.new_pending_price, pending_currency = b.new_pending_currency,
               pending_availability = b.new_pending_availability, pending_at = b.new_pending_at
          FROM b
         WHERE b.listing_differs AND l.id = b.listing_id
    ), frontier AS (
        -- Failures come back later, not sooner: Scrapy already retried transient errors inside
        -- the run, so a page still failing is most likely a store that is down or pushing back;
        -- doubling the interval per consecutive failure (up to the store's longest) keeps
        -- pressure off it while a single failure keeps the listing's normal rhythm. A confirmed
        -- removal is checked rarely (the store's longest interval) in case it reappears. A
        -- reading that waits for confirmation (a first gone reading, a held change) is read
        -- again at once: due now, so the next dispatch takes it within the store's politeness;
        -- only the first such reading, so a page that disagrees with itself every time goes
        -- back to its normal rhythm instead of being crawled every tick.
        UPDATE user_crawler_priorities f
           SET last_crawled_at = b.observed_at,
               -- the change-rate evidence: each ok reading after an earlier one adds the time
               -- since it and whether price or stock had changed meanwhile (the last
               -- :rate_window readings are kept; pricehound.freshness estimates from them)
               change_window_seconds = CASE WHEN b.rate_sample
                   THEN (f.change_window_seconds || CAST(extract(epoch FROM b.observed_at - b.old_observed_at) AS real))
                        [greatest(1, cardinality(f.change_window_seconds) + 2 - :rate_window):]
                   ELSE f.change_window_seconds END,
               change_window_changed = CASE WHEN b.rate_sample
                   THEN (f.change_window_changed || b.changed)
                        [greatest(1, cardinality(f.change_window_changed) + 2 - :rate_window):]
                   ELSE f.change_window_changed END,
               next_due_at = pricehound_now() + CASE
                   WHEN b.held AND b.old_pending_at IS NULL THEN interval '0'
                   WHEN b.kind = 'removed' AND b.new_status <> 'removed' AND b.old_removed = 0 THEN interval '0'
                   WHEN b.hold THEN b.min_interval
                   WHEN b.new_status = 'removed' THEN b.max_interval
                   WHEN b.kind IN ('failed', 'dropped') THEN
                       least(b.max_interval, coalesce(f.revisit_interval,
                                                      crawl_interval(f.priority, b.min_interval, b.max_interval))
                                             * power(2, least(b.new_failures, 10) - 1))
                   -- the budgeted revisit plan's interval when there is one (pricehound.freshness),
                   -- else the demand policy's
                   ELSE coalesce(f.revisit_interval, crawl_interval(f.priority, b.min_interval, b.max_interval)) END,
               updated_at = pricehound_now()
          FROM b
         WHERE f.listing_id = b.listing_id
    ), counts AS (
        SELECT count(*) FILTER (WHERE kind = 'ok') AS ok,
               count(*) FILTER (WHERE changed) AS changed,
               count(*) FILTER (WHERE kind = 'removed') AS removed,
               count(*) FILTER (WHERE kind = 'failed') AS failed,
               count(*) FILTER (WHERE kind = 'dropped') AS dropped,
               count(*) FILTER (WHERE confirms_removal) AS confirmed_removed,
               count(*) FILTER (WHERE held) AS held,
               count(*) FILTER (WHERE turned) AS turned,
               bool_or(hold) AS hold, max(run_seen) AS run_seen, max(run_turned) AS run_turned
          FROM b
    ), run AS (
        UPDATE crawl_runs r
           SET ok = r.ok + c.ok, changed = r.changed + c.changed, removed = r.removed + c.removed,
               failed = r.failed + c.failed, dropped = r.dropped + c.dropped, turned = r.turned + c.turned,
               held_state = CASE WHEN c.hold THEN 'held' ELSE r.held_state END,
               held_reason = CASE WHEN c.hold AND r.held_reason IS NULL
                                  THEN format('%s of %s listings turned gone, sold out, unreadable or jumped in price at once',
                                              c.run_turned, c.run_seen)
                                  ELSE r.held_reason END
          FROM counts c
         WHERE r.id = :run_id
    )
    SELECT c.ok, c.changed, c.removed, c.failed, c.dropped, c.confirmed_removed, c.held, coalesce(c.hold, false) AS hold,
           ARRAY(SELECT id FROM events ORDER BY id) AS event_ids
      FROM counts c
    """
)


def _last_per_listing(rows: Iterable[Row]) -> list[Row]:
    """One row per listing (the last); a listing is observed once per run, but be safe."""
    by_listing: dict[int, Row] = {}
    for row in rows:
        by_listing[row.listing_id] = row
    return list(by_listing.values())


NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def _text_field(value: str | None) -> str:
    """A text value in COPY's text format (the data stream, never SQL)."""
    if value is None:
        return NULL
    return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def _copy_line(row: Row) -> str:
    """One row in COPY's text format; ids, kinds, amounts and times never need escaping."""
    (listing_id, kind, reason, price, currency, regular_price, availability, title, sku, gtin,
     image_url, observed_at, suspect) = row[:13]
    return "\t".join((
        str(listing_id), kind, _text_field(reason), NULL if price is None else str(price),
        _text_field(currency), NULL if regular_price is None else str(regular_price), availability,
        _text_field(title), _text_field(sku), _text_field(gtin), _text_field(image_url),
        observed_at.isoformat(), "t" if suspect else "f",
    )) + "\n"


def copy_rows(conn: Connection, rows: Sequence[Row]) -> None:
    """Stream the batch into crawl_input with COPY, on the transaction's own connection."""
    buffer = io.StringIO("".join(map(_copy_line, rows)))
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.copy_expert(COPY_INPUT, buffer)


def ensure_input_table(conn: Connection) -> None:
    """Create crawl_input on this database connection unless it already has it."""
    info = conn.connection.info  # lives as long as the database connection, like the temp table
    if not info.get("pricehound_crawl_input"):
        conn.execute(CREATE_INPUT)
        info["pricehound_crawl_input"] = True


def flush_rows(conn: Connection, rows: Sequence[Row], *, run_id: int | None,
               removed_after: int = 2, confirm: bool = True,
               confirm_share: Decimal | float = DEFAULT_CONFIRM_SHARE,
               sanity: Sanity | None = None) -> FlushResult:
    """Write one batch inside the caller's transaction; return new event ids and counts."""
    rows = _last_per_listing(rows)
    if not rows:
        return FlushResult()
    info = conn.connection.info
    try:
        ensure_input_table(conn)
        copy_rows(conn, rows)
        before = conn.execute(PREPARE, {"run_id": run_id}).one()
        result = conn.execute(FLUSH, {
            "run_id": run_id, "removed_after": int(removed_after), "confirm": bool(confirm),
            "confirm_share": Decimal(str(confirm_share)), "sanity": sanity is not None,
            "sanity_min": (sanity or Sanity()).min_pages, "sanity_share": (sanity or Sanity()).share,
            "sanity_factor": (sanity or Sanity()).factor, "rate_window": CHANGE_WINDOW,
        }).one()._mapping
        conn.execute(RESTORE_JOINS, {"hash": before.hash, "merge": before.merge})
        conn.execute(TRUNCATE_INPUT)  # a second flush in the same transaction starts empty
    except BaseException:
        info.pop("pricehound_crawl_input", None)  # a rollback takes a table created in it along
        raise
    identity.observe_rows(conn, [r for r in rows if r.kind == "ok"])
    counts = {k: int(result[k]) for k in ("ok", "changed", "removed", "failed", "dropped", "confirmed_removed",
                                          "held")}
    return FlushResult(event_ids=[int(i) for i in result["event_ids"]], counts=counts, held_run=bool(result["hold"]))
