"""Demand becomes crawls: lease the due frontier, one crawl run per store, enqueue after commit.

One dispatch tick is one transaction and one statement (:data:`LEASE_SQL`):

1. lock the stores that may start a crawl now (active, not paused by an operator or by the
   circuit breaker, no live store lease) with ``FOR UPDATE SKIP LOCKED`` — a second dispatcher skips them;
2. per store, take its due frontier rows, highest priority first, at most one run's worth
   (see :func:`batch_limit`); the store's lock covers them, so they need no lock of their own;
3. insert one ``crawl_runs`` row per store batch (its ``listing_ids`` are the batch) and reserve
   the store for that run (the store lease, which the crawl task takes over when it starts).

The run is the lease: nothing is written to the frontier rows. A store has at most one open run
and is only dispatched when no live lease holds it, so its rows are leased together with it; a
row the run observes is rescheduled by the writer, and a row it does not (the crawl died, the
lease lapsed) is still due and is taken by the store's next run. Writing a lease per row was
two thirds of a tick's time, and the writer then had to release every one of them again.

Only after the commit are the runs' ``pricehound.crawl.run_store_crawl(run_id)`` messages
published, all in one Redis round trip, so a worker never sees a run that is not in the
database. If the process dies between commit and enqueue, nothing is lost: the leases expire,
the rows are due again, the run is reaped.

The tick commits with ``synchronous_commit = off`` (see :func:`dispatch`).

Batch size follows the store's politeness: a run holds about ``run_target_seconds`` of crawling
at the store's download delay (never more than ``max_batch`` pages). A short run bounds how long
a hot listing can wait behind a store's current crawl; and rows that come due within the next
run's expected duration ride along with it (highest priority first), so a hot page is crawled
within its interval even when its store is busy the moment it comes due.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pricehound import freshness, tasknames
from pricehound.config import Settings, get_settings
from pricehound.db import get_engine
from workers import app
from workers.beat import periodic
from workers.retry import retry_policy

PLAN_EVERY = freshness.PLAN_EVERY

log = logging.getLogger("pricehound.schedule")

#: seconds of crawling one run should hold at the store's download delay
RUN_TARGET_SECONDS = 60.0
#: the most pages one run holds, whatever the store's delay
MAX_BATCH = 500
#: a download delay below this counts as this when sizing runs (a page takes some time anyway)
MIN_PAGE_SECONDS = 0.1
#: searches one run makes (each is a search page and up to three product pages)
MAX_SEARCHES_PER_RUN = 3
#: listings re-scored per statement by the periodic priority refresh
REFRESH_CHUNK = 5000

CRAWL_TASK = tasknames.RUN_STORE_CRAWL


def worker_identity() -> str:
    """host:pid — who holds a lease, readable by ops."""
    return f"{socket.gethostname()}:{os.getpid()}"


# Steps 1-3 of the module docstring in one statement. Data-modifying CTEs share one snapshot,
# so each store's run id is drawn up front (nextval); `batches` picks and locks each store's
# rows once and the INSERT of the runs reads it.
LEASE_SQL = sa.text(
    """
    WITH free_stores AS (
        SELECT s.id, s.slug, s.batch_limit, s.lookahead,
               nextval(pg_get_serial_sequence('crawl_runs', 'id')) AS run_id
          FROM (SELECT s.*,
                       CASE WHEN CAST(:max_batch AS integer) IS NULL THEN NULL
                            ELSE least(CAST(:max_batch AS integer),
                                       greatest(1, floor(:run_target / greatest(s.download_delay, :min_page)))::int)
                       END AS batch_limit,
                       make_interval(secs => least(
                           :run_target,
                           least(coalesce(CAST(:max_batch AS integer), 1000000),
                                 greatest(1, floor(:run_target / greatest(s.download_delay, :min_page))))
                           * greatest(s.download_delay, :min_page))) AS lookahead
                  FROM stores s
                 WHERE s.active
                   AND s.paused_at IS NULL  -- paused by an operator: even `crawl` waits for resume
                   AND (CAST(:store_id AS bigint) IS NULL OR s.id = CAST(:store_id AS bigint))
                   AND (:ignore_pause OR s.paused_until IS NULL OR s.paused_until <= pricehound_now())
                   AND (s.crawl_lease_until IS NULL OR s.crawl_lease_until < pricehound_now())
                 ORDER BY s.id
                   FOR UPDATE SKIP LOCKED) s
         -- a store gets a run only when something in it is really due: rows coming due within
         -- the run's expected duration ride along with a run, they never start one
         WHERE :everything OR EXISTS (
                SELECT 1 FROM user_crawler_priorities q
                 WHERE q.store_id = s.id AND q.watchers > 0 AND q.next_due_at <= pricehound_now())
            OR EXISTS (
                SELECT 1 FROM search_targets t
                 WHERE t.store_id = s.id AND t.watchers > 0 AND t.status <> 'found'
                   AND t.next_due_at <= pricehound_now()
                   AND NOT EXISTS (SELECT 1 FROM store_listings l
                                    WHERE l.product_id = t.product_id AND l.store_id = t.store_id
                                      AND l.status = 'active'))
    ), batches AS (
        -- each store's rows, highest priority first (at most one run's worth), read without row
        -- locks: the store's lock above already keeps every other dispatcher off them, and
        -- nothing is written to them (the run's listing_ids are the lease). Locking them too
        -- would write a lock into every row, half of a tick's time, to guard against nothing:
        -- a late flush or a priority refresh writing a row meanwhile at worst adds one crawl
        SELECT s.run_id, s.id AS store_id, coalesce(d.listing_ids, '{}') AS listing_ids, sr.search_ids
          FROM free_stores s
         CROSS JOIN LATERAL (
                SELECT array_agg(x.listing_id ORDER BY x.priority DESC, x.next_due_at) AS listing_ids
                  FROM (SELECT q.listing_id, q.priority, q.next_due_at
                          FROM user_crawler_priorities q
                         WHERE q.store_id = s.id
                           AND q.watchers > 0
                           AND (:everything OR q.next_due_at <= pricehound_now() + s.lookahead)
                         ORDER BY q.priority DESC, q.next_due_at
                         LIMIT s.batch_limit) x
               ) d
         -- search targets: a product watched at the store with no linked listing there. They
         -- ride with the store's run (the same lease, delay and address rules); a few per run,
         -- as each one costs a search page and up to CANDIDATES_PER_SEARCH product pages
         CROSS JOIN LATERAL (
                SELECT array_agg(x.id ORDER BY x.priority DESC, x.next_due_at) AS search_ids
                  FROM (SELECT t.id, t.priority, t.next_due_at
                          FROM search_targets t
                         WHERE t.store_id = s.id AND t.watchers > 0 AND t.status <> 'found'
                           AND (:everything OR t.next_due_at <= pricehound_now())
                           AND NOT EXISTS (SELECT 1 FROM store_listings l
                                            WHERE l.product_id = t.product_id AND l.store_id = t.store_id
                                              AND l.status = 'active')
                         ORDER BY t.priority DESC, t.next_due_at
                         LIMIT :max_searches) x
               ) sr
         WHERE d.listing_ids IS NOT NULL OR sr.search_ids IS NOT NULL
    ), runs AS (
        INSERT INTO crawl_runs (id, store_id, status, listing_ids, search_ids, requested)
        SELECT run_id, store_id, 'queued', listing_ids, search_ids, cardinality(listing_ids)
          FROM batches
        RETURNING id, store_id, requested, coalesce(cardinality(search_ids), 0) AS searches
    ), reserved AS (
        -- the store lease covers the run from queued to finished; the crawl task takes it over
        UPDATE stores s
           SET crawl_lease_until = pricehound_now() + make_interval(secs => :lease_seconds),
               crawl_leased_by = :reserved_by,
               current_run_id = r.id
          FROM runs r
         WHERE s.id = r.store_id
        RETURNING s.id
    )
    SELECT r.id AS run_id, r.store_id, f.slug, r.requested, r.searches,
           (SELECT count(*) FROM reserved) AS reserved_stores
      FROM runs r JOIN free_stores f ON f.id = r.store_id
     ORDER BY r.id
    """
)

#: crawl_leased_by of a store reserved by dispatch for a queued run (the crawl task takes it over)
RESERVED_PREFIX = "dispatch "


@dataclass(frozen=True)
class DispatchedRun:
    run_id: int
    store_id: int
    store_slug: str
    requested: int
    searches: int = 0


@dataclass
class Tick:
    """What one dispatch tick did."""

    runs: list[DispatchedRun] = field(default_factory=list)
    enqueued: int = 0
    seconds: float = 0.0

    @property
    def leased(self) -> int:
        return sum(r.requested for r in self.runs)


def lease_due(
    conn: Connection,
    *,
    lease_seconds: float,
    leased_by: str | None = None,
    store_id: int | None = None,
    everything: bool = False,
    ignore_pause: bool = False,
    run_target_seconds: float = RUN_TARGET_SECONDS,
    max_batch: int | None = MAX_BATCH,
) -> list[DispatchedRun]:
    """Lease due frontier rows into one queued crawl run per free store (inside ``conn``'s
    transaction; the caller commits, then enqueues). ``everything`` takes every watched row
    of the store, due or not; ``max_batch=None`` puts them all in one run."""
    who = leased_by or worker_identity()
    # a large tick's batches are built in memory rather than on disk
    conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    rows = conn.execute(
        LEASE_SQL,
        {
            "lease_seconds": float(lease_seconds),
            "reserved_by": f"{RESERVED_PREFIX}{who}", "store_id": store_id,
            "everything": everything, "ignore_pause": ignore_pause,
            "run_target": float(run_target_seconds), "max_batch": max_batch,
            "min_page": MIN_PAGE_SECONDS, "max_searches": MAX_SEARCHES_PER_RUN,
        },
    ).all()
    return [DispatchedRun(run_id=r.run_id, store_id=r.store_id, store_slug=r.slug, requested=r.requested,
                          searches=r.searches)
            for r in rows]


def enqueue(runs: list[DispatchedRun], *, expires: float) -> int:
    """One crawl task per run, over one broker connection, published as one batch (a single
    Redis pipeline: one round trip for the whole tick instead of one per run; halves the
    publishing time of a 100-run tick). A message older than the lease is dropped by the
    worker: by then its rows are due again and belong to a newer run."""
    if not runs:
        return 0
    task = app.tasks[CRAWL_TASK] if CRAWL_TASK in app.tasks else None
    sent = 0
    with app.producer_or_acquire() as producer, producer.batch():
        for run in runs:
            if task is not None:
                task.apply_async(args=(run.run_id,), expires=expires, producer=producer)
            else:
                app.send_task(CRAWL_TASK, args=(run.run_id,), expires=expires, producer=producer)
            sent += 1
    return sent


def dispatch(
    engine: Engine | None = None,
    settings: Settings | None = None,
    **lease_options,
) -> Tick:
    """One dispatch tick: lease in one transaction, commit, then enqueue the runs."""
    settings = settings or get_settings()
    engine = engine or get_engine(settings)
    started = time.perf_counter()
    with engine.begin() as conn:
        # Not waiting for the commit's WAL flush is safe here: if the server crashes before the
        # flush, the tick is lost as a whole (runs, leases and store reservations together), so
        # its rows are simply due again; messages already published for the lost runs find no
        # run (or, if the sequence handed the same id out again, a run the claim step lets only
        # one task take), and at-least-once crawling holds. Nothing else relies on the tick
        # being durable before its messages are published.
        conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
        runs = lease_due(conn, lease_seconds=settings.lease_seconds, **lease_options)
    tick = Tick(runs=runs)
    tick.enqueued = enqueue(runs, expires=settings.lease_seconds)
    tick.seconds = time.perf_counter() - started
    return tick


def describe(tick: Tick) -> str:
    """One line for the ops log."""
    if not tick.runs:
        return f"dispatch: nothing due ({tick.seconds * 1000:.0f} ms)"
    stores = ", ".join(f"{r.store_slug}={r.requested}{f'+{r.searches} searches' if r.searches else ''} "
                       f"(run {r.run_id})" for r in tick.runs[:8])
    more = f", +{len(tick.runs) - 8} more stores" if len(tick.runs) > 8 else ""
    return (f"dispatch: leased {tick.leased} targets in {len(tick.runs)} runs, enqueued {tick.enqueued} "
            f"in {tick.seconds * 1000:.0f} ms: {stores}{more}")


# -- priorities ---------------------------------------------------------------------------------

def refresh_all_priorities(engine: Engine, *, chunk: int = REFRESH_CHUNK) -> int:
    """Re-score every frontier row from current demand, ``chunk`` listings per transaction, so
    the frontier is never locked as a whole. Returns the number of listings looked at."""
    seen = 0
    after = 0
    while True:
        with engine.begin() as conn:
            ids = conn.execute(
                sa.text("SELECT listing_id FROM user_crawler_priorities WHERE listing_id > :after "
                        "ORDER BY listing_id LIMIT :chunk"),
                {"after": after, "chunk": chunk},
            ).scalars().all()
            if not ids:
                return seen
            conn.execute(sa.text("SELECT refresh_crawl_priorities(CAST(:ids AS bigint[]), false)"),
                         {"ids": list(ids)})
        seen += len(ids)
        after = ids[-1]


def refresh_all_search_targets(engine: Engine, *, chunk: int = REFRESH_CHUNK) -> int:
    """Re-count the demand behind every search target (a new store for an "any store" watch,
    a watcher who went premium or left), ``chunk`` products per transaction."""
    seen = 0
    after = 0
    while True:
        with engine.begin() as conn:
            ids = conn.execute(
                sa.text("SELECT DISTINCT product_id FROM shopping_list_items WHERE product_id > :after "
                        "UNION SELECT DISTINCT product_id FROM search_targets WHERE product_id > :after "
                        "ORDER BY 1 LIMIT :chunk"),
                {"after": after, "chunk": chunk},
            ).scalars().all()
            if not ids:
                return seen
            conn.execute(sa.text("SELECT refresh_search_targets(CAST(:ids AS bigint[]), false)"), {"ids": list(ids)})
        seen += len(ids)
        after = ids[-1]


# -- tasks --------------------------------------------------------------------------------------

_settings = get_settings()


@periodic(
    tasknames.DISPATCH_DUE,
    every=max(_settings.beat_interval, 0.5),
    soft_time_limit=60, time_limit=90,
    **retry_policy(backoff_max=30),
)
def dispatch_due() -> int:
    """Beat's tick: lease what is due and enqueue one crawl per store. Returns targets leased."""
    tick = dispatch()
    if tick.runs:
        log.info(describe(tick))
    else:
        log.debug(describe(tick))
    return tick.leased


@periodic(
    tasknames.REFRESH_PRIORITIES,
    every=600,
    soft_time_limit=300, time_limit=360,
    **retry_policy(backoff_max=120),
)
def refresh_priorities() -> int:
    """Re-score the whole frontier: recent activity and volatility change without any watch
    changing, and a listing that got hotter comes due sooner."""
    started = time.perf_counter()
    seen = refresh_all_priorities(get_engine())
    refresh_all_search_targets(get_engine())
    log.info("refresh priorities: %d listings re-scored in %.1f s", seen, time.perf_counter() - started)
    return seen


@periodic(
    tasknames.PLAN_REVISITS,
    every=PLAN_EVERY,
    soft_time_limit=120, time_limit=150,
    **retry_policy(backoff_max=60),
)
def plan_revisits() -> int:
    """Re-estimate change rates and re-plan every store's revisits (pricehound.freshness).
    Returns the number of listings planned."""
    started = time.perf_counter()
    settings = get_settings()
    with get_engine(settings).begin() as conn:
        plans = freshness.plan(conn, settings)
    failing = [p.slug for p in plans if not p.floor_honoured]
    log.info("revisit plan (%s): %d stores, %d listings in %.1f s%s", settings.revisit_policy, len(plans),
             sum(p.listings for p in plans), time.perf_counter() - started,
             f"; hot floor not held at {', '.join(failing)}" if failing else "")
    return sum(p.listings for p in plans)


__all__ = [
    "MAX_BATCH", "RUN_TARGET_SECONDS", "DispatchedRun", "Tick", "describe", "dispatch", "dispatch_due",
    "enqueue", "lease_due", "plan_revisits", "refresh_all_priorities", "refresh_all_search_targets",
    "refresh_priorities", "worker_identity",
]
