"""The crawl task: one crawl run of one store, in a spider process of its own.

    pricehound.crawl.run_store_crawl(run_id)

1. **Claim** (one transaction, the run and store rows locked): a finished run is left alone; a
   queued run older than its lease is abandoned (its targets are due again and may already be
   in a newer run); a run another live worker holds is left to it; a store busy with another
   crawl makes the task retry later. Otherwise the task takes the store lease — at most one
   crawl per store in the whole cluster — which dispatch reserved for this run.
2. **Crawl**: ``python -m spiders.run RUN_ID`` in a new process group (never a Twisted reactor
   inside the worker), under PRICEHOUND_CRAWL_TIME_LIMIT. While it runs the task renews the
   store lease every few seconds with a short TTL, so the lease of a worker that died lapses in
   about a minute, not at the end of the time limit. The spider gets SIGKILL if the worker
   process dies (PR_SET_PDEATHSIG), so a dead worker leaves no orphan crawling the store.
3. **Finish** (one transaction): record the outcome on crawl_runs when the spider could not
   (killed, crashed, timed out); update the store's circuit breaker; release the targets the
   run did not observe with a short next_due_at; release the store lease.

Targets not observed are released with the store, due again after the store's shortest
interval: they were never written at dispatch (the run is their lease), so freeing the store
frees them; the short delay keeps a page that kills its crawl from being retried every tick,
and a failing store is already kept quiet by its pause, which is never shorter than that.

Circuit breaker: a run is a store failure when the spider failed, or when most of its pages
failed (all 5xx, timeouts, bans). Each failure in a row doubles the store's pause, starting at
its min_interval and capped at its max_interval; a successful run closes the breaker. Ops see
failure_streak, paused_until and last_error in ``pricehound status``.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.engine import Engine

from pricehound import tasknames
from pricehound.config import Settings, get_settings
from pricehound.db import get_engine
from spiders.run import EXIT_DATABASE
from workers import app
from workers.retry import TRANSIENT_ERRORS, retry_policy
from workers.schedule import RESERVED_PREFIX, worker_identity

log = logging.getLogger("pricehound.crawl")

#: seconds between SIGTERM (Scrapy shuts down cleanly, flushing what it read) and SIGKILL
KILL_GRACE_SECONDS = 10.0
#: the longest a store lease lives without renewal while a crawl runs
STORE_LEASE_TTL_MAX = 60.0
#: lines of spider output kept for the error column when the spider fails
OUTPUT_TAIL_LINES = 20
FINISHED = ("succeeded", "failed", "abandoned")

_settings = get_settings()
SOFT_TIME_LIMIT = _settings.crawl_time_limit + KILL_GRACE_SECONDS + 60
HARD_TIME_LIMIT = SOFT_TIME_LIMIT + 30


def store_lease_ttl(settings: Settings) -> float:
    """How long the store lease lives between renewals (never longer than a target's lease)."""
    return float(min(settings.lease_seconds, STORE_LEASE_TTL_MAX))


def spider_command(run_id: int) -> list[str]:
    return [sys.executable, "-m", "spiders.run", str(run_id)]


# -- 1. claim -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """What the task should do with a delivered run: 'run', 'finished', 'duplicate' (another
    worker holds it), 'busy' (another crawl holds the store: retry), 'stale' or 'lost'
    (abandoned now), 'missing'."""

    action: str
    run_id: int
    store_id: int | None = None
    store_slug: str | None = None
    requested: int = 0
    detail: str = ""


CLAIM_READ = sa.text(
    """
    SELECT r.id, r.status, r.store_id, r.requested,
           r.queued_at + make_interval(secs => :lease_seconds) < pricehound_now() AS stale,
           s.slug, s.current_run_id, s.crawl_leased_by,
           coalesce(s.crawl_lease_until >= pricehound_now(), false) AS store_lease_live
      FROM crawl_runs r JOIN stores s ON s.id = r.store_id
     WHERE r.id = :run_id
       FOR UPDATE OF r, s
    """
)

TAKE_STORE = sa.text(
    """
    UPDATE stores
       SET crawl_lease_until = pricehound_now() + make_interval(secs => :ttl),
           crawl_leased_by = :me, current_run_id = :run_id
     WHERE id = :store_id
    """
)

ABANDON_RUN = sa.text(
    """
    UPDATE crawl_runs
       SET status = 'abandoned', error = :error, finished_at = pricehound_now(),
           started_at = coalesce(started_at, pricehound_now())
     WHERE id = :run_id AND status IN ('queued', 'running')
    """
)


def claim(engine: Engine, run_id: int, *, me: str, settings: Settings) -> Claim:
    """Decide, under row locks, whether this delivery of ``run_id`` crawls; take the store
    lease if it does. Safe to call for any delivery, first or repeated."""
    with engine.begin() as conn:
        row = conn.execute(CLAIM_READ, {"run_id": run_id, "lease_seconds": settings.lease_seconds}).one_or_none()
        if row is None:
            return Claim("missing", run_id, detail="no such crawl run")
        base = dict(run_id=run_id, store_id=row.store_id, store_slug=row.slug, requested=row.requested)
        held_by_worker = (row.store_lease_live and row.current_run_id == run_id
                          and not (row.crawl_leased_by or "").startswith(RESERVED_PREFIX))
        if row.status in FINISHED:
            return Claim("finished", detail=f"already {row.status}", **base)
        if held_by_worker:
            return Claim("duplicate", detail=f"{row.crawl_leased_by} is crawling it", **base)
        if row.status == "running":
            # it started, and nobody holds it any more: the worker that ran it died
            conn.execute(ABANDON_RUN, {"run_id": run_id, "error": "worker lost mid-crawl; targets due again"})
            return Claim("lost", detail="worker lost mid-crawl", **base)
        if row.stale:
            conn.execute(ABANDON_RUN, {"run_id": run_id, "error": "not started before its lease expired"})
            return Claim("stale", detail="queued longer than the lease", **base)
        if row.store_lease_live and row.current_run_id != run_id:
            return Claim("busy", detail=f"store held by run {row.current_run_id}", **base)
        if row.current_run_id not in (None, run_id):
            # the store's previous holder let its lease lapse: that run is over
            conn.execute(ABANDON_RUN, {"run_id": row.current_run_id,
                                       "error": "store lease expired; worker lost"})
        conn.execute(TAKE_STORE, {"ttl": store_lease_ttl(settings), "me": me, "run_id": run_id,
                                  "store_id": row.store_id})
        conn.execute(sa.text("UPDATE crawl_runs SET worker = :me WHERE id = :run_id"),
                     {"me": me, "run_id": run_id})
        return Claim("run", **base)


# -- 2. crawl -----------------------------------------------------------------------------------

@dataclass
class ProcessResult:
    returncode: int | None
    seconds: float
    stopped: str | None = None     # why we stopped it: 'time limit', 'soft time limit', 'lease lost'
    output_tail: str = ""

    @property
    def error(self) -> str | None:
        if self.stopped:
            return f"spider stopped: {self.stopped} after {self.seconds:.0f} s"
        if self.returncode is not None and self.returncode < 0:
            return f"spider killed by signal {signal.Signals(-self.returncode).name}"
        if self.database_failed:
            return "the crawl could not use pricehound's database (the store was not at fault)"
        if self.returncode:
            return f"spider exited with code {self.returncode}"
        return None

    @property
    def database_failed(self) -> bool:
        """The spider exited because our database failed it, not because of the store."""
        return self.stopped is None and self.returncode == EXIT_DATABASE


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec hook: SIGKILL the child when the process that started it dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return hook


def _stop(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM the spider's process group, then SIGKILL whatever is left after ``grace``."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_spider(
    command: list[str],
    *,
    time_limit: float,
    heartbeat_every: float,
    renew: Callable[[], bool],
    grace: float = KILL_GRACE_SECONDS,
    env: dict[str, str] | None = None,
) -> ProcessResult:
    """Run the spider process to its end or to ``time_limit``; call ``renew`` every
    ``heartbeat_every`` seconds and stop the spider if it returns False (lease lost)."""
    started = time.monotonic()
    tail: collections.deque[str] = collections.deque(maxlen=OUTPUT_TAIL_LINES)
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=_die_with_parent_hook(), env=env,  # noqa: PLW1509
    )
    assert proc.stdout is not None

    def pump() -> None:
        # the spider's log goes on to the worker's stderr; the last lines are kept for errors
        for raw in proc.stdout:  # type: ignore[union-attr]
            line = raw.decode("utf-8", "replace")
            tail.append(line.rstrip())
            try:
                sys.__stderr__.write(line)
            except (OSError, ValueError, AttributeError):
                pass

    reader = threading.Thread(target=pump, name="spider-output", daemon=True)
    reader.start()
    stopped: str | None = None
    try:
        while True:
            remaining = time_limit - (time.monotonic() - started)
            if remaining <= 0:
                stopped = f"time limit of {time_limit:.0f} s"
                break
            try:
                proc.wait(timeout=min(heartbeat_every, remaining))
                break
            except subprocess.TimeoutExpired:
                pass
            try:
                still_ours = renew()
            except TRANSIENT_ERRORS as exc:  # a blip: the lease outlives a few missed renewals
                log.warning("could not renew the store lease: %s", exc)
                still_ours = True
            if not still_ours:
                stopped = "store lease lost"
                break
    except SoftTimeLimitExceeded:
        stopped = "task soft time limit"
    finally:
        if proc.poll() is None:
            _stop(proc, grace)
        reader.join(timeout=5)
    return ProcessResult(returncode=proc.returncode, seconds=time.monotonic() - started,
                         stopped=stopped, output_tail="\n".join(tail))


RENEW_STORE = sa.text(
    """
    UPDATE stores SET crawl_lease_until = pricehound_now() + make_interval(secs => :ttl)
     WHERE id = :store_id AND current_run_id = :run_id AND crawl_leased_by = :me
    """
)


# -- 3. finish ----------------------------------------------------------------------------------

RECORD_FAILURE = sa.text(
    """
    UPDATE crawl_runs
       SET status = 'failed', error = :error, finished_at = pricehound_now(),
           started_at = coalesce(started_at, pricehound_now())
     WHERE id = :run_id AND status IN ('queued', 'running')
    """
)

# Targets a run did not observe (the spider died, hit its time limit or lost the store; or the
# reaper abandoned the run) are due again after the store's shortest interval, not at the very
# next tick: a page that keeps killing its crawl must not be retried in a loop. "Not observed"
# is read on the database's clock: the writer stamps updated_at with its own transaction's
# time, always after the run was queued. Rows the writer did reach keep the schedule it gave.
# Shared with workers.maintenance.reap_abandoned_runs.
RELEASE_UNOBSERVED = sa.text(
    """
    UPDATE user_crawler_priorities p
       SET next_due_at = greatest(p.next_due_at, pricehound_now() + s.min_interval), updated_at = pricehound_now()
      FROM crawl_runs r, stores s
     WHERE r.id = ANY (:run_ids) AND p.listing_id = ANY (r.listing_ids) AND p.updated_at < r.queued_at
       AND s.id = p.store_id
    """
)

SETTLE_HELD = sa.text(
    """
    UPDATE crawl_runs SET held_state = 'settled'
     WHERE store_id = :store_id AND held_state = 'held' AND id < :run_id
    """
)

# The pause doubles with each failure in a row (failure_streak below is the value before this
# update): min_interval, 2x, 4x, ... up to max_interval.
CLOSE_STORE = sa.text(
    """
    UPDATE stores
       SET failure_streak = CASE WHEN :store_failure THEN failure_streak + 1
                                 WHEN :keep_breaker THEN failure_streak ELSE 0 END,
           paused_until = CASE WHEN :store_failure
                               THEN pricehound_now() + least(max_interval, min_interval * power(2, least(failure_streak, 20)))
                               WHEN :keep_breaker THEN paused_until END,
           last_error = CASE WHEN :outcome = 'succeeded' THEN NULL ELSE :error END,
           last_outcome = :outcome,
           last_crawl_at = pricehound_now(),
           crawl_lease_until = NULL, crawl_leased_by = NULL, current_run_id = NULL
     WHERE id = :store_id AND current_run_id = :run_id
    RETURNING failure_streak, paused_until
    """
)


@dataclass(frozen=True)
class Outcome:
    """How a run ended, for the store and the log."""

    run_id: int
    store_id: int
    status: str
    store_failure: bool
    requested: int
    ok: int
    changed: int
    removed: int
    failed: int
    error: str | None
    released: int = 0
    failure_streak: int | None = None
    paused_until: Any = None


def failure_summary(failed: int, seen: int, stats: dict[str, Any]) -> str:
    """'12 of 12 pages failed (HTTP 500 x12)' from the run's counters and Scrapy stats."""
    causes = []
    for key, count in sorted(stats.items(), key=lambda kv: -int(kv[1]) if isinstance(kv[1], int) else 0):
        if key.startswith("downloader/response_status_count/") and not key.endswith(("/200", "/301", "/302", "/404", "/410")):
            causes.append(f"HTTP {key.rsplit('/', 1)[1]} x{count}")
        elif key.startswith("downloader/exception_type_count/"):
            causes.append(f"{key.rsplit('.', 1)[-1]} x{count}")
    detail = f" ({', '.join(causes[:4])})" if causes else ""
    return f"{failed} of {seen} pages failed{detail}"


def is_store_failure(status: str, ok: int, removed: int, failed: int, *, held: bool = False,
                     min_pages: int = 3) -> bool:
    """The spider failed, most pages it read failed, the run was held as suspect, or not one of
    at least ``min_pages`` pages read as a product (every page gone or unreadable: a store that
    serves nothing is down, however it says so)."""
    if status != "succeeded" or held:
        return True
    if failed > 0 and failed > ok + removed:
        return True
    return ok == 0 and removed > 0 and removed + failed >= min_pages


def finish(engine: Engine, run_id: int, *, process_error: str | None = None,
           database_failed: bool = False) -> Outcome | None:
    """Record the run's outcome, update the store's breaker, release unobserved targets and the
    store lease, in one transaction. Idempotent: the store part applies only while the store
    still points at this run, so a repeated call changes nothing.

    ``database_failed``: the run failed because pricehound's own database did (a restart, a
    full disk), which says nothing about the store: its breaker stays as it was, like an
    abandoned run's, instead of pausing a healthy store."""
    with engine.begin() as conn:
        if process_error:
            conn.execute(RECORD_FAILURE, {"run_id": run_id, "error": process_error})
        run = conn.execute(
            sa.text("SELECT id, store_id, status, requested, ok, changed, removed, failed, error, stats, "
                    "held_state, held_reason FROM crawl_runs WHERE id = :run_id"), {"run_id": run_id},
        ).one_or_none()
        if run is None:
            return None
        status = run.status if run.status in FINISHED else "failed"
        store_failure = (status != "abandoned" and not database_failed
                         and is_store_failure(status, run.ok, run.removed, run.failed,
                                              held=run.held_state == "held"))
        error = run.error
        if status == "succeeded" and store_failure:
            error = (f"held: {run.held_reason}" if run.held_state == "held" else
                     failure_summary(run.failed, run.ok + run.removed + run.failed, dict(run.stats or {})))
        if not store_failure:
            # the next run after a held one has spoken: what it agreed with was applied, the rest dropped
            conn.execute(SETTLE_HELD, {"store_id": run.store_id, "run_id": run_id})
        outcome_name = "failed" if store_failure else status
        released = conn.execute(RELEASE_UNOBSERVED, {"run_ids": [run_id]}).rowcount
        closed = conn.execute(CLOSE_STORE, {
            "store_failure": store_failure, "outcome": outcome_name, "error": (error or "")[:2000] or None,
            "keep_breaker": status == "abandoned" or database_failed,
            "store_id": run.store_id, "run_id": run_id,
        }).one_or_none()
    return Outcome(
        run_id=run_id, store_id=run.store_id, status=status, store_failure=store_failure,
        requested=run.requested, ok=run.ok, changed=run.changed, removed=run.removed, failed=run.failed,
        error=error, released=released,
        failure_streak=closed.failure_streak if closed else None,
        paused_until=closed.paused_until if closed else None,
    )


def describe(outcome: Outcome, slug: str | None, seconds: float | None = None) -> str:
    """One line for the ops log."""
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    line = (f"crawl run {outcome.run_id} store {slug or outcome.store_id}: {outcome.status}{took}; "
            f"{outcome.requested} requested, {outcome.ok} ok, {outcome.changed} changed, "
            f"{outcome.removed} removed, {outcome.failed} failed")
    if outcome.released:
        line += f"; {outcome.released} unobserved targets released"
    if outcome.store_failure:
        line += f"; store failure #{outcome.failure_streak}, paused until {outcome.paused_until:%H:%M:%S}" \
            if outcome.paused_until else "; store failure"
    if outcome.error:
        line += f"; error: {outcome.error.splitlines()[0][:200]}"
    return line


# -- the task -----------------------------------------------------------------------------------

def crawl_run(run_id: int, *, settings: Settings | None = None, engine: Engine | None = None,
              grace: float = KILL_GRACE_SECONDS, spider_args: Sequence[str] = ()) -> tuple[Claim, Outcome | None]:
    """Claim, crawl and finish one run in this process (the task body, callable without Celery).
    ``spider_args`` go to ``spiders.run`` after the run id (``-s NAME=VALUE`` settings)."""
    settings = settings or get_settings()
    engine = engine or get_engine(settings)
    me = worker_identity()
    decision = claim(engine, run_id, me=me, settings=settings)
    if decision.action == "finished":
        # a repeated delivery, or an attempt that died after the spider finished: finish() only
        # acts if the store still points at this run
        return decision, finish(engine, run_id)
    if decision.action in ("lost", "stale"):
        return decision, finish(engine, run_id)
    if decision.action != "run":
        return decision, None
    ttl = store_lease_ttl(settings)
    log.info("crawl run %s store %s: starting, %d targets", run_id, decision.store_slug, decision.requested)

    def renew() -> bool:
        with engine.begin() as conn:
            return conn.execute(RENEW_STORE, {"ttl": ttl, "store_id": decision.store_id,
                                              "run_id": run_id, "me": me}).rowcount == 1

    result = run_spider([*spider_command(run_id), *spider_args], time_limit=float(settings.crawl_time_limit),
                        heartbeat_every=max(ttl / 3.0, 0.2), renew=renew, grace=grace)
    error = result.error
    if error and result.output_tail:
        error = f"{error}\n{result.output_tail[-1500:]}"
    outcome = finish(engine, run_id, process_error=error, database_failed=result.database_failed)
    if outcome is not None:
        log.log(logging.WARNING if outcome.store_failure else logging.INFO,
                describe(outcome, decision.store_slug, result.seconds))
    return decision, outcome


@app.task(
    name=tasknames.RUN_STORE_CRAWL, bind=True,
    soft_time_limit=SOFT_TIME_LIMIT, time_limit=HARD_TIME_LIMIT,
    **retry_policy(backoff_max=60, max_retries=5),
)
def run_store_crawl(self, run_id: int) -> str:
    """Crawl one run. Returns what happened: run, finished, duplicate, busy, stale, lost, missing."""
    settings = get_settings()
    decision, _ = crawl_run(int(run_id), settings=settings)
    if decision.action == "busy":
        # another crawl holds the store: try again shortly, until this run's lease runs out
        log.info("crawl run %s store %s: %s; retrying", run_id, decision.store_slug, decision.detail)
        raise self.retry(countdown=min(30.0, max(settings.lease_seconds / 4.0, 1.0)), max_retries=None)
    if decision.action not in ("run",):
        log.info("crawl run %s: %s (%s)", run_id, decision.action, decision.detail)
    return decision.action


__all__ = [
    "Claim", "Outcome", "ProcessResult", "claim", "crawl_run", "describe", "finish", "is_store_failure",
    "run_spider", "run_store_crawl", "spider_command", "store_lease_ttl",
]
