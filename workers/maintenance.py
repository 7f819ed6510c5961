"""Periodic upkeep: history partitions ahead of time, the analysts' comparison view, dead runs.

- ``pricehound.maintenance.ensure_partitions`` (every 6 h): price_history_log's monthly
  partitions three months ahead, so no write ever lands in the default partition.
- ``pricehound.maintenance.refresh_price_comparison`` (every 5 min): REFRESH MATERIALIZED VIEW
  CONCURRENTLY, so analysts keep reading the old contents while it rebuilds.
- ``pricehound.maintenance.reap_runs`` (every 30 s): queued or running crawl runs whose store
  lease lapsed (the worker died, or the message was lost) become 'abandoned', and their store's
  stale lease is cleared, so ``pricehound status`` never shows a crawl that is not running.
  Their unobserved targets are due again after the store's shortest interval, as when a crawl
  task finishes a run.
- ``pricehound.maintenance.prune_crawl_runs`` (every hour): finished crawl runs older than
  PRICEHOUND_CRAWL_RUN_RETENTION_DAYS are deleted, a few thousand per transaction. A store
  crawled every minute adds half a million runs a year, each with its list of targets; ops
  read the recent ones. Events and history keep the run id as provenance.
- ``pricehound.maintenance.archive_history`` (daily, when PRICEHOUND_HISTORY_KEEP_MONTHS is set):
  months of price history older than the months kept go to files and leave the database
  (pricehound/archive.py).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pricehound import tasknames
from pricehound.config import get_settings
from pricehound.db import get_engine
from workers.beat import periodic
from workers.crawl import RELEASE_UNOBSERVED
from workers.retry import retry_policy

log = logging.getLogger("pricehound.maintenance")

#: advisory lock held while the comparison view refreshes, so two refreshes never queue up
REFRESH_LOCK_KEY = 0x70637672  # "pcvr"

RETRY = retry_policy(backoff_max=120)


def ensure_history_partitions(engine: Engine) -> int:
    """Create the missing monthly partitions; returns how many were created."""
    with engine.begin() as conn:
        return int(conn.execute(sa.text("SELECT ensure_price_history_partitions()")).scalar_one())


def refresh_comparison(engine: Engine) -> str:
    """Refresh price_comparison; 'refreshed', 'populated' (first fill) or 'skipped' (another
    refresh is running)."""
    with engine.begin() as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK_KEY}).scalar_one():
            return "skipped"
        populated = conn.execute(sa.text(
            "SELECT ispopulated FROM pg_matviews WHERE schemaname = current_schema() AND matviewname = 'price_comparison'"
        )).scalar_one()
        if populated:
            conn.execute(sa.text("REFRESH MATERIALIZED VIEW CONCURRENTLY price_comparison"))
            return "refreshed"
        # CONCURRENTLY needs a populated view; the first fill locks it briefly instead
        conn.execute(sa.text("REFRESH MATERIALIZED VIEW price_comparison"))
        return "populated"


REAP_SQL = sa.text(
    """
    WITH reaped AS (
        UPDATE crawl_runs r
           SET status = 'abandoned', finished_at = pricehound_now(), started_at = coalesce(r.started_at, pricehound_now()),
               error = CASE WHEN r.status = 'running' THEN 'worker lost mid-crawl (store lease expired)'
                            ELSE 'never started (store lease expired before a worker took it)' END
         WHERE r.status IN ('queued', 'running')
           AND NOT EXISTS (SELECT 1 FROM stores s
                            WHERE s.current_run_id = r.id AND s.crawl_lease_until >= pricehound_now())
        RETURNING r.id, r.store_id, r.error
    ), cleared AS (
        UPDATE stores s
           SET crawl_lease_until = NULL, crawl_leased_by = NULL, current_run_id = NULL,
               last_outcome = 'abandoned', last_error = x.error, last_crawl_at = pricehound_now()
          FROM reaped x
         WHERE s.id = x.store_id AND s.current_run_id = x.id
           AND coalesce(s.crawl_lease_until < pricehound_now(), true)
        RETURNING s.id
    )
    SELECT ARRAY(SELECT id FROM reaped) AS run_ids, (SELECT count(*) FROM cleared) AS stores
    """
)


def reap_abandoned_runs(engine: Engine) -> int:
    """Mark runs nobody holds any more as abandoned; returns how many."""
    with engine.begin() as conn:
        row = conn.execute(REAP_SQL).one()
        # as when a crawl task finishes a run: what it never observed is due again later
        targets = conn.execute(RELEASE_UNOBSERVED, {"run_ids": list(row.run_ids)}).rowcount if row.run_ids else 0
    if row.run_ids:
        log.warning("reaped %d crawl runs whose store lease expired (%d stores cleared, %d unobserved targets "
                    "due again after the store's shortest interval)", len(row.run_ids), row.stores, targets)
    return len(row.run_ids)


#: finished runs deleted per transaction by the pruning, so no lock is held for long
PRUNE_CHUNK = 5000

# Oldest first along the primary key (ids grow with time), so each chunk reads only the runs it
# deletes; open runs and a run a store still points at are never touched.
PRUNE_SQL = sa.text(
    """
    DELETE FROM crawl_runs
     WHERE id IN (SELECT r.id FROM crawl_runs r
                   WHERE r.status NOT IN ('queued', 'running')
                     AND coalesce(r.finished_at, r.queued_at) < pricehound_now() - make_interval(days => :days)
                     AND NOT EXISTS (SELECT 1 FROM stores s WHERE s.current_run_id = r.id)
                   ORDER BY r.id
                   LIMIT :chunk)
    """
)


def prune_old_runs(engine: Engine, *, days: int, chunk: int = PRUNE_CHUNK) -> int:
    """Delete finished runs older than ``days``; returns how many."""
    total = 0
    while True:
        with engine.begin() as conn:
            deleted = conn.execute(PRUNE_SQL, {"days": int(days), "chunk": int(chunk)}).rowcount
        total += deleted
        if deleted < chunk:
            return total


@periodic(tasknames.ENSURE_PARTITIONS, every=6 * 3600, soft_time_limit=120, time_limit=180, **RETRY)
def ensure_partitions() -> int:
    created = ensure_history_partitions(get_engine())
    log.info("history partitions: %d created", created)
    return created


@periodic(tasknames.ARCHIVE_HISTORY, every=24 * 3600, soft_time_limit=3000, time_limit=3300, **RETRY)
def archive_history() -> int:
    """History retention (off unless PRICEHOUND_HISTORY_KEEP_MONTHS is set): months older than the
    months kept are exported to files under the data directory and detached."""
    from pricehound import archive

    settings = get_settings()
    if settings.history_keep_months <= 0:
        return 0
    done = archive.archive(get_engine(), settings.history_keep_months, archive.archive_dir(settings))
    log.info("history retention: %d months archived", len(done))
    return len(done)


@periodic(tasknames.REFRESH_PRICE_COMPARISON, every=300, soft_time_limit=240, time_limit=290, **RETRY)
def refresh_price_comparison() -> str:
    result = refresh_comparison(get_engine())
    log.info("price_comparison: %s", result)
    return result


@periodic(tasknames.REAP_RUNS, every=30, soft_time_limit=30, time_limit=45, **RETRY)
def reap_runs() -> int:
    return reap_abandoned_runs(get_engine())


@periodic(tasknames.PRUNE_CRAWL_RUNS, every=3600, soft_time_limit=600, time_limit=660, **RETRY)
def prune_crawl_runs() -> int:
    days = get_settings().crawl_run_retention_days
    pruned = prune_old_runs(get_engine(), days=days)
    if pruned:
        log.info("pruned %d crawl runs finished more than %d days ago", pruned, days)
    return pruned


__all__ = [
    "PRUNE_CHUNK", "ensure_history_partitions", "ensure_partitions", "prune_crawl_runs", "prune_old_runs",
    "reap_abandoned_runs", "reap_runs", "refresh_comparison", "refresh_price_comparison",
]
