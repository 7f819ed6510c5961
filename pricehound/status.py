"""`pricehound status`: what the system holds and what it is doing, for ops at a glance.

Three parts: the counts, the crawl schedule per store (due and leased targets, the running
crawl and since when, the last outcome, the circuit breaker and its last error) and the depth
of each Celery queue in Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import clock

# A target is leased while it is in the open run of a store whose lease is live and that run
# has not observed it yet (the writer stamps updated_at after the run was queued).
HELD_SQL = """
held AS (
    SELECT p.listing_id, p.store_id
      FROM stores s
      JOIN crawl_runs r ON r.id = s.current_run_id
      JOIN user_crawler_priorities p ON p.listing_id = ANY (r.listing_ids)
     WHERE s.crawl_lease_until >= pricehound_now() AND p.updated_at < r.queued_at
)
"""

_COUNTS_SELECT = """
SELECT (SELECT count(*) FROM stores)                                         AS stores,
       (SELECT count(*) FROM store_listings)                                 AS listings,
       (SELECT count(*) FROM shopping_list_items WHERE active)               AS watches,
       (SELECT count(*) FROM users)                                          AS users,
       (SELECT count(*) FROM user_crawler_priorities p
         WHERE p.watchers > 0 AND p.next_due_at <= pricehound_now()
           AND NOT EXISTS (SELECT 1 FROM held h WHERE h.listing_id = p.listing_id)) AS due_targets,
       (SELECT count(*) FROM held)                                           AS leased_targets,
       (SELECT count(*) FROM notifications WHERE status = 'pending')         AS pending_notifications,
       (SELECT count(*) FROM notifications WHERE status = 'sent')            AS sent_notifications,
       (SELECT count(*) FROM price_history_log)                              AS history_rows,
       (SELECT max(version) FROM schema_version)                             AS schema_version
"""
COUNTS_SQL = "WITH " + HELD_SQL + _COUNTS_SELECT  # noqa: S608 - constants only


@dataclass(frozen=True)
class Counts:
    stores: int
    listings: int
    watches: int
    users: int
    due_targets: int
    leased_targets: int
    pending_notifications: int
    sent_notifications: int
    history_rows: int
    schema_version: int


def counts(conn: Connection) -> Counts:
    row = conn.execute(sa.text(COUNTS_SQL)).one()
    return Counts(**{k: int(v or 0) for k, v in row._mapping.items()})


def render(c: Counts) -> str:
    rows = [
        ("schema version", c.schema_version),
        ("stores", c.stores),
        ("listings", c.listings),
        ("users", c.users),
        ("active watches", c.watches),
        ("due crawl targets", c.due_targets),
        ("leased crawl targets", c.leased_targets),
        ("price history rows", c.history_rows),
        ("pending notifications", c.pending_notifications),
        ("sent notifications", c.sent_notifications),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value:>8}" for label, value in rows)


# -- the crawl schedule, per store ----------------------------------------------------------------

_STORES_SELECT = """
SELECT s.slug, s.active,
       count(p.listing_id) FILTER (WHERE p.watchers > 0 AND p.next_due_at <= pricehound_now()
                                     AND h.listing_id IS NULL) AS due,
       count(h.listing_id) AS leased,
       CASE WHEN s.crawl_lease_until >= pricehound_now() THEN s.current_run_id END AS run_id,
       CASE WHEN s.crawl_lease_until >= pricehound_now() THEN r.status END AS run_status,
       CASE WHEN s.crawl_lease_until >= pricehound_now() THEN coalesce(r.started_at, r.queued_at) END AS run_since,
       CASE WHEN s.crawl_lease_until >= pricehound_now() THEN s.crawl_leased_by END AS run_holder,
       s.last_outcome, s.last_crawl_at, s.failure_streak,
       CASE WHEN s.paused_until > pricehound_now() THEN s.paused_until END AS paused_until,
       s.last_error, s.paused_at, s.render,
       CASE WHEN s.render <> 'js' THEN
           (SELECT lr.render_advice FROM crawl_runs lr
             WHERE lr.store_id = s.id AND lr.finished_at IS NOT NULL
             ORDER BY lr.queued_at DESC LIMIT 1) END AS render_advice,
       pricehound_now() AS now
  FROM stores s
  LEFT JOIN user_crawler_priorities p ON p.store_id = s.id
  LEFT JOIN held h ON h.listing_id = p.listing_id
  LEFT JOIN crawl_runs r ON r.id = s.current_run_id
 GROUP BY s.id, r.id
 ORDER BY s.slug
"""
STORES_SQL = "WITH " + HELD_SQL + _STORES_SELECT  # noqa: S608 - constants only


@dataclass(frozen=True)
class StoreSchedule:
    slug: str
    active: bool
    due: int
    leased: int
    run_id: int | None
    run_status: str | None
    run_since: datetime | None
    run_holder: str | None
    last_outcome: str | None
    last_crawl_at: datetime | None
    failure_streak: int
    paused_until: datetime | None
    last_error: str | None
    render: str = "none"
    render_advice: str | None = None  # from the store's last finished run (spiders/render_advice.py)
    paused_at: datetime | None = None  # paused by an operator (`pricehound stores pause`)

    def as_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}


def store_schedule(conn: Connection) -> tuple[list[StoreSchedule], datetime]:
    """Each store's crawl state, and the database's clock (ages are measured against it)."""
    rows = conn.execute(sa.text(STORES_SQL)).all()
    now = rows[0].now if rows else conn.execute(sa.text("SELECT pricehound_now()")).scalar_one()
    stores = [StoreSchedule(**{k: v for k, v in r._mapping.items() if k != "now"}) for r in rows]
    return stores, now


# -- queues ---------------------------------------------------------------------------------------

QUEUES = ("schedule", "crawl", "alerts", "email")
# kombu's Redis transport keeps a queue's prioritised messages in sibling lists
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def queue_depths(client: Any) -> dict[str, int]:
    """Messages waiting in each Celery queue (Redis list lengths, priorities included)."""
    pipe = client.pipeline(transaction=False)
    for queue in QUEUES:
        pipe.llen(queue)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{queue}{_PRIORITY_SEP}{step}")
    lengths = pipe.execute()
    per_queue = 1 + len(_PRIORITY_STEPS)
    return {q: int(sum(lengths[i * per_queue:(i + 1) * per_queue])) for i, q in enumerate(QUEUES)}


# -- rendering ------------------------------------------------------------------------------------

def _age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "-"
    seconds = (now - then).total_seconds()
    later = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds:.0f}s"
    elif seconds < 90 * 60:
        text = f"{seconds / 60:.0f}m"
    elif seconds < 36 * 3600:
        text = f"{seconds / 3600:.1f}h"
    else:
        text = f"{seconds / 86400:.1f}d"
    return f"in {text}" if later else f"{text} ago"


def render_schedule(stores: list[StoreSchedule], now: datetime) -> str:
    """The per-store table: one line per store, its last error beneath when it is failing."""
    if not stores:
        return "no stores yet"
    header = ("store", "due", "leased", "crawling", "last crawl", "failures", "paused")
    lines = []
    for st in stores:
        crawling = "-"
        if st.run_id is not None:
            crawling = f"run {st.run_id} {st.run_status or ''} since {_age(st.run_since, now)}".replace("  ", " ")
        last = f"{st.last_outcome} {_age(st.last_crawl_at, now)}" if st.last_outcome else "never"
        paused = f"until {st.paused_until:%H:%M:%S} ({_age(st.paused_until, now)})" if st.paused_until else "-"
        if st.paused_at is not None:
            paused = f"by operator {_age(st.paused_at, now)}"
        slug = st.slug if st.active else f"{st.slug} (inactive)"
        lines.append((slug, str(st.due), str(st.leased), crawling, last, str(st.failure_streak), paused))
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) if i not in (1, 2, 5) else cell.rjust(w)
                     for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
           for row in [header, *lines]]
    for st, row_index in zip(stores, range(1, len(out)), strict=False):
        if st.failure_streak and st.last_error:
            out[row_index] += f"\n    last error: {st.last_error.splitlines()[0][:160]}"
        if st.render_advice:
            out[row_index] += f"\n    advice: {st.render_advice}"
    return "\n".join(out)


def render_queues(depths: Mapping[str, int] | None, error: str | None = None) -> str:
    if depths is None:
        return f"queues: Redis unreachable ({error})" if error else "queues: Redis unreachable"
    return "queues: " + ", ".join(f"{q} {n}" for q, n in depths.items())


def now_utc() -> datetime:
    return clock.now()


# -- proxies: failures per proxy over recent crawl runs -------------------------------------------

PROXY_WINDOW_HOURS = 24
PROXY_FAILURES_SQL = sa.text(
    """
    SELECT s.slug AS store, s.proxy_pool AS pool,
           left(k.key, length(k.key) - length('/failures')) AS proxy_key,
           sum(k.value::numeric)::bigint AS failures,
           coalesce(sum((r.stats ->> (left(k.key, length(k.key) - length('/failures')) || '/requests'))::numeric),
                    0)::bigint AS requests
      FROM crawl_runs r
      JOIN stores s ON s.id = r.store_id
     CROSS JOIN LATERAL jsonb_each_text(r.stats) AS k(key, value)
     WHERE r.finished_at >= pricehound_now() - make_interval(hours => :hours)
       AND k.key LIKE 'pricehound/proxy/%/failures'
     GROUP BY s.slug, s.proxy_pool, proxy_key
     ORDER BY s.slug, failures DESC, proxy_key
    """
)


@dataclass(frozen=True)
class ProxyFailures:
    """Failures of one proxy (its label: scheme://host:port, never credentials) for one store."""

    store: str
    pool: str | None
    proxy: str
    failures: int
    requests: int


def proxy_failures(conn: Connection, hours: int = PROXY_WINDOW_HOURS) -> list[ProxyFailures]:
    """Per store and proxy, the failures counted by the crawls that finished in the last ``hours``."""
    out = []
    for r in conn.execute(PROXY_FAILURES_SQL, {"hours": hours}):
        out.append(ProxyFailures(store=r.store, pool=r.pool, proxy=r.proxy_key[len("pricehound/proxy/"):],
                                 failures=int(r.failures), requests=int(r.requests)))
    return out


def render_proxy_failures(rows: list[ProxyFailures], hours: int = PROXY_WINDOW_HOURS) -> str:
    if not rows:
        return f"proxies: no proxy failures in the last {hours}h"
    lines = [f"proxy failures (last {hours}h; a failing proxy rests, doubling each time):"]
    for r in rows:
        lines.append(f"  {r.store:<20} {r.pool or '-':<10} {r.proxy:<32} {r.failures:>5} failed of {r.requests}")
    return "\n".join(lines)
