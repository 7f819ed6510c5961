"""Events x watches -> outbox rows, set-based: one statement per batch of events.

The statement, in one transaction:
  1. locks the batch's events that are not yet evaluated (SKIP LOCKED: a second worker given
     the same ids skips them instead of waiting) and marks them evaluated;
  2. joins them to active watches — a listing watch, or a product watch at a preferred store —
     whose owner is verified, active and not suppressed;
  3. judges each (watch, event) pair into at most one alert kind by the watch's rules;
  4. claims the cool-down per (watch, kind) in ``alert_state`` — the upsert's row lock
     serialises concurrent evaluations, so flapping prices mail once per cool-down even when
     two workers see two flaps at once;
  5. inserts one ``notifications`` row per surviving pair and channel it is routed to (the
     account's email, each verified webhook/Apprise channel), ON CONFLICT (dedupe_key) DO NOTHING.
Events are marked evaluated in the same transaction that writes their rows, so the sweeper
finds exactly the events whose task message was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts import rules
from pricehound.kinds import SALE_KINDS

log = logging.getLogger("pricehound.alerts.evaluate")

# "unknown" availability on either side of a change never alerts: only in_stock/preorder count.
# Events older than this are marked evaluated but mail nobody: news that late would mislead.
MAX_EVENT_AGE = timedelta(days=1)
BATCH_SIZE = 100_000  # one statement of 100k events x 1M watches: ~20 s on a busy 2-core box

EVALUATE_SQL = """
WITH ev AS (
    SELECT e.id, e.listing_id, e.kind, e.old_price, e.new_price, e.currency,
           e.old_availability, e.new_availability, e.occurred_at
      FROM price_events e
     WHERE e.id = ANY (CAST(:event_ids AS bigint[])) AND e.evaluated_at IS NULL
     ORDER BY e.id
       FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE price_events e SET evaluated_at = pricehound_now() FROM ev WHERE e.id = ev.id
), fresh AS (
    SELECT ev.*, l.store_id, l.product_id,
           -- the listing is gone, or (by the last stock a page stated) out of stock: no sale news
           l.status <> 'active' OR ev.new_availability IS NOT DISTINCT FROM 'out_of_stock' AS unbuyable,
           -- the same reading brought it back: the back-in-stock email tells the price
           EXISTS (SELECT 1 FROM price_events r
                    WHERE r.listing_id = ev.listing_id AND r.occurred_at = ev.occurred_at
                      AND r.kind IN ('back_in_stock', 'reappeared')) AS returned
      FROM ev JOIN store_listings l ON l.id = ev.listing_id
     WHERE ev.occurred_at > pricehound_now() - CAST(:max_age AS interval)
), pairs AS (
    SELECT f.*, w.id AS item_id, w.list_id, w.target_price, w.min_drop_percent, w.notify_kinds,
           w.product_id AS watch_product_id, w.preferred_store_ids, w.new_low_days
      FROM fresh f JOIN shopping_list_items w ON w.listing_id = f.listing_id AND w.active
    UNION ALL
    SELECT f.*, w.id, w.list_id, w.target_price, w.min_drop_percent, w.notify_kinds,
           w.product_id, w.preferred_store_ids, w.new_low_days
      FROM fresh f JOIN shopping_list_items w ON w.product_id = f.product_id AND w.active
     WHERE f.product_id IS NOT NULL
       AND (w.preferred_store_ids IS NULL OR f.store_id = ANY (w.preferred_store_ids))
), cheap_offers AS (
    -- cheapest_store (alerts/model.py, cheapest_store_change): the strictly cheapest store that
    -- sells the product now (active, last stated stock in stock or preorder) among the watch's
    -- stores, in the event's currency, after the event and before it (the event's listing as the
    -- event left it and as it was: its new and old price and stock; gone before it reappeared,
    -- there before it was removed; the other listings as they are now)
    SELECT p.id AS event_id, p.item_id, o.store_id, o.id AS listing_id,
           CASE WHEN o.id = p.listing_id THEN coalesce(p.new_price, sp.price) ELSE sp.price END AS after_price,
           CASE WHEN o.id = p.listing_id THEN p.kind <> 'removed' AND p.new_availability IN ('in_stock', 'preorder')
                ELSE o.status = 'active' AND coalesce(sp.known_availability, nullif(sp.availability, 'unknown'))
                                             IN ('in_stock', 'preorder') END AS after_ok,
           CASE WHEN o.id = p.listing_id THEN p.old_price ELSE sp.price END AS before_price,
           CASE WHEN o.id = p.listing_id THEN p.kind <> 'reappeared' AND p.old_availability IN ('in_stock', 'preorder')
                ELSE o.status = 'active' AND coalesce(sp.known_availability, nullif(sp.availability, 'unknown'))
                                             IN ('in_stock', 'preorder') END AS before_ok
      FROM pairs p
      JOIN store_listings o ON o.product_id = p.watch_product_id
      JOIN store_prices sp ON sp.listing_id = o.id
     WHERE p.watch_product_id IS NOT NULL AND 'cheapest_store' = ANY (p.notify_kinds)
       AND sp.currency = p.currency AND sp.price IS NOT NULL
       AND (p.preferred_store_ids IS NULL OR o.store_id = ANY (p.preferred_store_ids))
), cheap_stores AS (
    SELECT event_id, item_id, store_id,
           min(after_price) FILTER (WHERE after_ok) AS after_price,
           min(before_price) FILTER (WHERE before_ok AND before_price IS NOT NULL) AS before_price,
           (array_agg(listing_id ORDER BY after_price, listing_id) FILTER (WHERE after_ok))[1] AS after_listing
      FROM cheap_offers GROUP BY event_id, item_id, store_id
), cheap_ranked AS (
    SELECT event_id, item_id,
           (array_agg(after_price ORDER BY after_price) FILTER (WHERE after_price IS NOT NULL))[1:2] AS a,
           (array_agg(store_id ORDER BY after_price) FILTER (WHERE after_price IS NOT NULL))[1] AS a_store,
           (array_agg(after_listing ORDER BY after_price) FILTER (WHERE after_price IS NOT NULL))[1] AS a_listing,
           (array_agg(before_price ORDER BY before_price) FILTER (WHERE before_price IS NOT NULL))[1:2] AS b,
           (array_agg(store_id ORDER BY before_price) FILTER (WHERE before_price IS NOT NULL))[1] AS b_store
      FROM cheap_stores GROUP BY event_id, item_id
), cheap AS (
    -- a tie for the lowest price is no strictly cheapest store
    SELECT event_id, item_id,
           CASE WHEN coalesce(a[2] > a[1], true) THEN a_store END AS after_store,
           CASE WHEN coalesce(a[2] > a[1], true) THEN a_listing END AS after_listing,
           CASE WHEN coalesce(a[2] > a[1], true) THEN a[1] END AS after_price,
           CASE WHEN coalesce(b[2] > b[1], true) THEN b_store END AS before_store
      FROM cheap_ranked
), judged AS (
    SELECT p.id AS event_id, p.item_id, p.occurred_at, sl.user_id, p.new_price, p.min_drop_percent,
           p.listing_id, p.currency, c.after_price AS cheapest_price, c.after_listing AS cheapest_listing,
           c.before_store AS was_cheapest_store,
           -- the rules, one CASE: the first matching kind wins, so a pair yields one row.
           -- Sale news (target, drop, new low, cheapest) needs an item one can buy, and is left
           -- to the back-in-stock email when the same reading brought the item back.
           CASE
             WHEN p.kind = 'price_drop' AND (p.unbuyable OR (p.returned AND 'back_in_stock' = ANY (p.notify_kinds)))
               THEN NULL
             WHEN p.kind = 'price_drop' AND 'sale' = ANY (p.notify_kinds) AND p.target_price IS NOT NULL
                  AND p.old_price > p.target_price AND p.new_price <= p.target_price
               THEN 'target_reached'
             WHEN p.kind = 'price_drop' AND 'sale' = ANY (p.notify_kinds) AND p.old_price > 0
                  AND (p.old_price - p.new_price) * 100 >= p.min_drop_percent * p.old_price
               THEN 'price_drop'
             -- below every price in force in the watch's window, counting the one already in
             -- force when the window opened (history holds changes, not readings)
             WHEN p.kind = 'price_drop' AND 'new_low' = ANY (p.notify_kinds)
                  AND p.new_price < (
                      SELECT min(x.price) FROM (
                          SELECT h.price, h.currency FROM price_history_log h
                           WHERE h.listing_id = p.listing_id
                             AND h.observed_at >= p.occurred_at - make_interval(days => p.new_low_days)
                             AND h.observed_at < p.occurred_at
                          UNION ALL
                          (SELECT h.price, h.currency FROM price_history_log h
                            WHERE h.listing_id = p.listing_id
                              AND h.observed_at < p.occurred_at - make_interval(days => p.new_low_days)
                            ORDER BY h.observed_at DESC LIMIT 1)) x
                       WHERE x.currency = p.currency)
               THEN 'new_low'
             -- the strictly cheapest store among the watch's stores changed, and is one to buy at
             WHEN 'cheapest_store' = ANY (p.notify_kinds) AND c.after_store IS NOT NULL
                  AND c.after_store IS DISTINCT FROM c.before_store
               THEN 'cheapest_store'
             WHEN p.kind = 'price_rise' AND 'price_rise' = ANY (p.notify_kinds) THEN 'price_rise'
             WHEN p.kind = 'sold_out' AND 'sold_out' = ANY (p.notify_kinds)
                  AND p.new_availability = 'out_of_stock' AND p.old_availability IN ('in_stock', 'preorder')
               THEN 'sold_out'
             WHEN p.kind IN ('back_in_stock', 'reappeared') AND 'back_in_stock' = ANY (p.notify_kinds)
                  AND p.new_availability IN ('in_stock', 'preorder')
                  AND (p.kind = 'reappeared' OR p.old_availability = 'out_of_stock')
               THEN 'back_in_stock'
             WHEN p.kind = 'removed' AND 'removed' = ANY (p.notify_kinds) THEN 'removed'
           END AS alert_kind
      FROM pairs p
      LEFT JOIN cheap c ON c.event_id = p.id AND c.item_id = p.item_id
      JOIN shopping_lists sl ON sl.id = p.list_id
      JOIN users u ON u.id = sl.user_id
     WHERE u.verified_at IS NOT NULL AND u.status = 'active'
       -- a suppressed address still hears through a verified webhook or Apprise channel
       AND (NOT EXISTS (SELECT 1 FROM email_suppressions s WHERE s.email = lower(u.email))
            OR EXISTS (SELECT 1 FROM user_channels ch WHERE ch.user_id = u.id AND ch.kind <> 'email'
                          AND ch.status = 'verified'))
), latest AS (
    -- a batch holding two flaps of one listing claims the cool-down once, with the newest
    SELECT DISTINCT ON (item_id, alert_kind) *
      FROM judged WHERE alert_kind IS NOT NULL
     ORDER BY item_id, alert_kind, occurred_at DESC, event_id DESC
), claimed AS (
    -- the cool-down: once per kind and watch, unless a sale kind tells a price at least the
    -- watch's minimum drop below the one last told (a deeper drop); flapping back to a price
    -- already told stays quiet
    INSERT INTO alert_state AS s (item_id, kind, last_alerted_at, last_event_id, last_price, rearm_price)
    SELECT item_id, alert_kind, occurred_at, event_id,
           CASE WHEN alert_kind = 'cheapest_store' THEN cheapest_price
                WHEN alert_kind = ANY (CAST(:sale_kinds AS text[])) THEN new_price END,
           CASE WHEN alert_kind = 'cheapest_store' THEN cheapest_price * (100 - min_drop_percent) / 100
                WHEN alert_kind = ANY (CAST(:sale_kinds AS text[]))
                THEN new_price * (100 - min_drop_percent) / 100 END
      FROM latest
    ON CONFLICT (item_id, kind) DO UPDATE
       SET last_alerted_at = excluded.last_alerted_at, last_event_id = excluded.last_event_id,
           last_price = excluded.last_price, rearm_price = excluded.rearm_price
     WHERE s.last_alerted_at <= excluded.last_alerted_at - CAST(:cooldown AS interval)
        OR (excluded.last_price < s.last_price AND excluded.last_price <= s.rearm_price)
    RETURNING item_id, kind, last_event_id
), fanout AS (
    -- one row per channel the alert is routed to: the account's email (unless suppressed, or
    -- its email channel row routes this kind elsewhere), and each verified webhook/Apprise channel
    SELECT l.*, CAST(NULL AS bigint) AS channel_id, 'email' AS channel,
           'event:' || l.event_id || ':item:' || l.item_id AS dedupe_key
      FROM latest l JOIN claimed c ON c.item_id = l.item_id AND c.kind = l.alert_kind
     WHERE NOT EXISTS (SELECT 1 FROM email_suppressions s JOIN users u ON s.email = lower(u.email)
                        WHERE u.id = l.user_id)
       AND NOT EXISTS (SELECT 1 FROM user_channels ch
                        WHERE ch.user_id = l.user_id AND ch.kind = 'email'
                          AND (ch.status <> 'verified' OR NOT l.alert_kind = ANY (ch.alert_kinds)))
    UNION ALL
    SELECT l.*, ch.id, ch.kind, 'event:' || l.event_id || ':item:' || l.item_id || ':channel:' || ch.id
      FROM latest l JOIN claimed c ON c.item_id = l.item_id AND c.kind = l.alert_kind
      JOIN user_channels ch ON ch.user_id = l.user_id AND ch.kind <> 'email' AND ch.status = 'verified'
                           AND l.alert_kind = ANY (ch.alert_kinds)
), omnibus AS (
    -- once per sale event (not per watch and channel): the Omnibus reference, the lowest price
    -- charged in the window before the sale, and whether the page's "was" price was charged in it
    SELECT l.event_id, cur.regular_price AS was, ref.low, ref.low_at, ref.since, ref.was_charged
      FROM (SELECT DISTINCT event_id, listing_id, occurred_at, currency FROM latest
             WHERE alert_kind = ANY (CAST(:sale_kinds AS text[]))) l
      LEFT JOIN LATERAL (
            -- the "was" price the sale's own reading showed
            SELECT h.regular_price FROM price_history_log h
             WHERE h.listing_id = l.listing_id AND h.observed_at = l.occurred_at AND h.currency = l.currency
             ORDER BY h.id DESC LIMIT 1) cur ON true
      LEFT JOIN LATERAL (
            -- prices charged in [sale - N days, sale): the changes inside the window, and the
            -- state in force when it opened (history holds changes, not readings); a sold-out
            -- state charged nothing, an unstated stock counts
            SELECT min(w.price) FILTER (WHERE w.charged) AS low,
                   (array_agg(w.at ORDER BY w.price, w.at) FILTER (WHERE w.charged))[1] AS low_at,
                   min(w.at) AS since, bool_or(w.price = cur.regular_price) FILTER (WHERE w.charged) AS was_charged
              FROM (SELECT h.price, h.observed_at AS at, h.price IS NOT NULL AND h.currency = l.currency
                           AND coalesce(h.availability, 'unknown') <> 'out_of_stock' AS charged
                      FROM price_history_log h
                     WHERE h.listing_id = l.listing_id
                       AND h.observed_at > l.occurred_at - make_interval(days => :omnibus_days)
                       AND h.observed_at < l.occurred_at
                    UNION ALL
                    (SELECT h.price, l.occurred_at - make_interval(days => :omnibus_days),
                            h.price IS NOT NULL AND h.currency = l.currency
                            AND coalesce(h.availability, 'unknown') <> 'out_of_stock'
                       FROM price_history_log h
                      WHERE h.listing_id = l.listing_id
                        AND h.observed_at <= l.occurred_at - make_interval(days => :omnibus_days)
                      ORDER BY h.observed_at DESC, h.id DESC LIMIT 1)) w) ref ON true
), inserted AS (
    INSERT INTO notifications (user_id, item_id, event_id, kind, channel, channel_id, dedupe_key, send_after, payload)
    SELECT l.user_id, l.item_id, l.event_id, l.alert_kind, l.channel, l.channel_id, l.dedupe_key,
           pricehound_now() + CAST(:window AS interval),
           -- back in stock cheaper than when it was last in stock: the email says so
           CASE WHEN l.alert_kind = 'back_in_stock' AND l.new_price < was.price
                THEN jsonb_build_object('cheaper_than', was.price)
                -- which store is cheapest now (it may be another listing than the event's)
                WHEN l.alert_kind = 'cheapest_store'
                THEN jsonb_build_object('cheapest_listing_id', l.cheapest_listing, 'cheapest_price', l.cheapest_price,
                                        'was_cheapest_store_id', l.was_cheapest_store)
                ELSE '{}'::jsonb END
           -- a sale: the Omnibus reference (lowest price charged in the window before it) and
           -- whether the page's "was" price was charged in that window (alerts/omnibus.py words it)
           -- (a cheapest_store alert caused by another store's reading is not about the event's
           -- listing, so its history says nothing about this sale: no reference then)
           || CASE WHEN l.alert_kind = ANY (CAST(:sale_kinds AS text[]))
                        AND (l.alert_kind <> 'cheapest_store' OR l.cheapest_listing = l.listing_id)
                   THEN jsonb_strip_nulls(jsonb_build_object(
                          'prior_low', o.low, 'prior_low_at', o.low_at, 'prior_since', o.since,
                          'was_price', CASE WHEN o.was > l.new_price THEN o.was END,
                          'was_charged', CASE WHEN o.was > l.new_price THEN coalesce(o.was_charged, false) END))
                      || CASE WHEN o.low IS NULL THEN '{"prior_none": true}'::jsonb ELSE '{}'::jsonb END
                   ELSE '{}'::jsonb END
      FROM fanout l
      LEFT JOIN omnibus o ON o.event_id = l.event_id
      LEFT JOIN LATERAL (
            SELECT h.price FROM price_history_log h
             WHERE l.alert_kind = 'back_in_stock' AND h.listing_id = l.listing_id
               AND h.observed_at < l.occurred_at AND h.availability IN ('in_stock', 'preorder')
               AND h.currency = l.currency AND h.price IS NOT NULL
             ORDER BY h.observed_at DESC LIMIT 1) was ON true
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, user_id
)
SELECT (SELECT count(*) FROM ev) AS events,
       coalesce((SELECT array_agg(id ORDER BY user_id, id) FROM inserted), '{}') AS notification_ids,
       coalesce((SELECT array_agg(user_id ORDER BY user_id, id) FROM inserted), '{}') AS user_ids
"""


@dataclass
class Evaluation:
    """What one evaluation did: events taken, and the outbox rows it created."""

    events: int = 0
    notification_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)  # the owner of each notification, in step

    def add(self, other: Evaluation) -> None:
        self.events += other.events
        self.notification_ids.extend(other.notification_ids)
        self.user_ids.extend(other.user_ids)


def evaluate_batch(conn: Connection, event_ids: Sequence[int], *, cooldown_seconds: float,
                   window_seconds: float, max_age: timedelta = MAX_EVENT_AGE) -> Evaluation:
    """Evaluate one batch in the caller's transaction; one statement."""
    # JIT-compiling this statement's CASE costs more (over a second) than running it on a batch.
    conn.execute(sa.text("SET LOCAL jit = off"))
    row = conn.execute(sa.text(EVALUATE_SQL), {
        "event_ids": [int(i) for i in event_ids],
        "cooldown": timedelta(seconds=cooldown_seconds),
        "window": timedelta(seconds=window_seconds),
        "max_age": max_age,
        "sale_kinds": list(SALE_KINDS),
        "omnibus_days": rules.OMNIBUS_DAYS,
    }).one()
    return Evaluation(events=int(row.events), notification_ids=[int(i) for i in row.notification_ids],
                      user_ids=[int(u) for u in row.user_ids])


def evaluate_events(engine: sa.engine.Engine, event_ids: Sequence[int], *, cooldown_seconds: float,
                    window_seconds: float, batch_size: int = BATCH_SIZE) -> Evaluation:
    """Evaluate events in batches, one transaction per batch; returns what was created."""
    total = Evaluation()
    ids = sorted({int(i) for i in event_ids})
    for start in range(0, len(ids), batch_size):
        with engine.begin() as conn:
            total.add(evaluate_batch(conn, ids[start:start + batch_size], cooldown_seconds=cooldown_seconds,
                                     window_seconds=window_seconds))
    return total


def unevaluated_event_ids(conn: Connection, *, older_than_seconds: float, limit: int) -> list[int]:
    """Events a lost message left behind: not evaluated, and older than a task normally takes."""
    return [int(i) for i in conn.execute(sa.text(
        """
        SELECT id FROM price_events
         WHERE evaluated_at IS NULL AND created_at < pricehound_now() - CAST(:age AS interval)
         ORDER BY id LIMIT :limit
        """), {"age": timedelta(seconds=older_than_seconds), "limit": int(limit)}).scalars()]


def forget_expired_cooldowns(conn: Connection, cooldown_seconds: float) -> int:
    """Delete cool-down rows that no longer hold anything back (and those of deleted watches)."""
    return conn.execute(sa.text(
        "DELETE FROM alert_state WHERE last_alerted_at < pricehound_now() - CAST(:age AS interval)"),
        {"age": timedelta(seconds=cooldown_seconds) + MAX_EVENT_AGE}).rowcount
