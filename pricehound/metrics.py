"""Prometheus metrics, read from PostgreSQL and Redis at scrape time.

Why a collector and not counters kept in processes: the work is done by many Celery worker
processes (prefork children that come and go, on several machines) and by crawl subprocesses
that live for one run. Counters in those processes would need prometheus_client's
multiprocess mode with a shared directory per machine, would reset whenever a child is
recycled, and would still leave figures such as queue depths, breaker states and freshness,
which belong to no process. Everything worth counting is already written down: crawl_runs
(pages, outcomes, reasons), price_events, notifications, the frontier, the Celery queues in
Redis. So each scrape reads those, in one SQL statement (:data:`SNAPSHOT_SQL`, every part of
it served by an index or a small table) and one Redis pipeline, and the figures are the
cluster's, whichever process answers the scrape. Scrape one web process or the worker exporter
(`pricehound metrics serve`), not all of them: every one reports the same cluster-wide figures.

Figures over time are windows ending now (the last hour), not counters: crawl runs are pruned
after PRICEHOUND_CRAWL_RUN_RETENTION_DAYS, so a running total read back from the table would
fall and look like a counter reset.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.engine import Engine

log = logging.getLogger("pricehound.metrics")

#: seconds of history behind every *_last_hour figure
WINDOW_SECONDS = 3600
#: seconds behind the email send rate
SEND_RATE_SECONDS = 60
#: upper bounds (seconds) of the due-wait histogram buckets
WAIT_BUCKETS = (30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 24 * 3600)
WAIT_QUANTILES = (0.5, 0.95, 0.99)
#: the crawl stats whose suffix is an observation's reason, by outcome
REASON_PREFIXES = {"failed": "pricehound/failed/", "removed": "pricehound/removed/", "dropped": "pricehound/dropped/"}

_BUCKET_COUNTS = ", ".join(f"count(*) FILTER (WHERE wait <= {b})" for b in WAIT_BUCKETS)
_QUANTILES = ", ".join(str(q) for q in WAIT_QUANTILES)

# One statement, one row. Windows are read through indexes: crawl_runs_finished_idx,
# price_events_time_brin, notifications_updated_brin; open notifications through their partial
# index; each store's oldest due row is the first entry of user_crawler_priorities_store_due_idx.
# the interpolated parts are constants of this module
SNAPSHOT_SQL = sa.text(
    f"""
    WITH runs AS (
        SELECT r.status, r.ok, r.removed, r.failed, r.dropped, r.stats
          FROM crawl_runs r
         WHERE r.finished_at >= pricehound_now() - make_interval(secs => :window)
    ),
    reasons AS (
        SELECT s.key, sum(s.value::bigint) AS n
          FROM runs, jsonb_each_text(runs.stats) s
         WHERE (s.key LIKE 'pricehound/failed/%' OR s.key LIKE 'pricehound/removed/%'
                OR s.key LIKE 'pricehound/dropped/%') AND s.value ~ '^[0-9]+$'
         GROUP BY s.key
    ),
    store_state AS (
        SELECT s.id, s.slug, s.active, s.paused_at IS NOT NULL AS operator_paused,
               coalesce(s.paused_until > pricehound_now(), false) AS breaker_open, s.failure_streak,
               extract(epoch FROM pricehound_now() - d.oldest_due) AS oldest_due_seconds
          FROM stores s
          LEFT JOIN LATERAL (
                SELECT min(q.next_due_at) AS oldest_due FROM user_crawler_priorities q
                 WHERE q.store_id = s.id AND q.watchers > 0 AND q.next_due_at <= pricehound_now()) d ON true
    ),
    waits AS (
        SELECT extract(epoch FROM pricehound_now() - q.next_due_at) AS wait
          FROM store_state s
          JOIN user_crawler_priorities q ON q.store_id = s.id AND q.watchers > 0
         WHERE s.active AND NOT s.operator_paused AND q.next_due_at <= pricehound_now()
    )
    SELECT
      (SELECT coalesce(sum(CASE WHEN stats->>'downloader/response_count' ~ '^[0-9]+$'
                                THEN (stats->>'downloader/response_count')::bigint END), 0) FROM runs) AS pages,
      (SELECT coalesce(json_object_agg(status, n), '{{}}') FROM
         (SELECT status, count(*) AS n FROM runs GROUP BY status) x) AS runs_by_status,
      (SELECT json_build_object('ok', coalesce(sum(ok), 0), 'removed', coalesce(sum(removed), 0),
                                'failed', coalesce(sum(failed), 0), 'dropped', coalesce(sum(dropped), 0))
         FROM runs) AS outcomes,
      (SELECT coalesce(json_object_agg(key, n), '{{}}') FROM reasons) AS reasons,
      (SELECT count(*) FROM crawl_runs WHERE held_state = 'held') AS held_runs,
      (SELECT coalesce(json_object_agg(kind, n), '{{}}') FROM
         (SELECT e.kind, count(*) AS n FROM price_events e
           WHERE e.occurred_at >= pricehound_now() - make_interval(secs => :window) GROUP BY e.kind) x) AS events,
      (SELECT coalesce(json_object_agg(status, n), '{{}}') FROM
         (SELECT status, count(*) AS n FROM notifications WHERE status IN ('pending', 'sending')
           GROUP BY status) x) AS open_notifications,
      (SELECT coalesce(json_object_agg(status, n), '{{}}') FROM
         (SELECT n.status, count(*) AS n FROM notifications n
           WHERE n.updated_at >= pricehound_now() - make_interval(secs => :window)
             AND n.status IN ('sent', 'failed', 'suppressed') GROUP BY n.status) x) AS done_notifications,
      (SELECT count(*) FROM notifications n
        WHERE n.updated_at >= pricehound_now() - make_interval(secs => :send_window)
          AND n.status = 'sent' AND n.sent_at >= pricehound_now() - make_interval(secs => :send_window)) AS sent_recently,
      (SELECT coalesce(json_agg(json_build_object(
                 'store', slug, 'active', active, 'operator_paused', operator_paused,
                 'breaker_open', breaker_open, 'failure_streak', failure_streak,
                 'oldest_due_seconds', oldest_due_seconds) ORDER BY slug), '[]') FROM store_state) AS stores,
      (SELECT json_build_object(
                 'count', count(*), 'oldest', coalesce(max(wait), 0), 'sum', coalesce(sum(wait), 0),
                 'buckets', json_build_array({_BUCKET_COUNTS}),
                 'quantiles', percentile_cont(ARRAY[{_QUANTILES}]) WITHIN GROUP (ORDER BY wait))
         FROM waits) AS due
    """  # noqa: S608
)


@dataclass
class Snapshot:
    """One scrape's figures (what /admin shows too)."""

    database_up: bool = False
    redis_up: bool = False
    pages: int = 0
    runs_by_status: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    held_runs: int = 0
    events: dict[str, int] = field(default_factory=dict)
    open_notifications: dict[str, int] = field(default_factory=dict)
    done_notifications: dict[str, int] = field(default_factory=dict)
    sent_recently: int = 0
    stores: list[dict[str, Any]] = field(default_factory=list)
    due: dict[str, Any] = field(default_factory=dict)
    queues: dict[str, int] = field(default_factory=dict)
    heartbeat_age: float | None = None


def snapshot(engine: Engine | None, redis_client: Any) -> Snapshot:
    """Read every figure once. A server that does not answer is reported (``*_up`` 0), never raised."""
    snap = Snapshot()
    if engine is not None:
        try:
            with engine.connect() as conn:
                row = conn.execute(SNAPSHOT_SQL, {"window": WINDOW_SECONDS, "send_window": SEND_RATE_SECONDS}).one()
            snap.database_up = True
            for name in ("pages", "runs_by_status", "outcomes", "reasons", "held_runs", "events",
                         "open_notifications", "done_notifications", "sent_recently", "stores", "due"):
                setattr(snap, name, getattr(row, name))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: reading PostgreSQL failed (%s)", str(exc).splitlines()[0])
    if redis_client is not None:
        from pricehound import heartbeat, status

        try:
            snap.queues = status.queue_depths(redis_client)
            snap.heartbeat_age = heartbeat.age(redis_client)
            snap.redis_up = True
        except Exception as exc:  # noqa: BLE001 - any Redis trouble is a figure, not an error
            log.warning("metrics: Redis did not answer (%s: %s)", type(exc).__name__, exc)
    return snap


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"pricehound_{name}", doc, labels=labels)


def families(snap: Snapshot) -> Iterator[Any]:
    """The snapshot as Prometheus metric families."""
    up = _gauge("up", "1 when the server answered this scrape's reads.", ["server"])
    up.add_metric(["postgresql"], 1 if snap.database_up else 0)
    up.add_metric(["redis"], 1 if snap.redis_up else 0)
    yield up
    if snap.database_up:
        yield from _database_families(snap)
    if snap.redis_up:
        queues = _gauge("queue_depth", "Messages waiting in each Celery queue (Redis list lengths).", ["queue"])
        for queue, depth in snap.queues.items():
            queues.add_metric([queue], depth)
        yield queues
        beat = _gauge("beat_heartbeat_age_seconds",
                      "Seconds since beat last wrote its heartbeat (-1: never).")
        beat.add_metric([], -1 if snap.heartbeat_age is None else snap.heartbeat_age)
        yield beat


def _database_families(snap: Snapshot) -> Iterator[Any]:
    pages = _gauge("crawl_pages_fetched_last_hour", "Responses received by crawls that finished in the last hour.")
    pages.add_metric([], snap.pages)
    yield pages
    runs = _gauge("crawl_runs_last_hour", "Crawl runs that finished in the last hour, by status.", ["status"])
    for status in ("succeeded", "failed", "abandoned"):
        runs.add_metric([status], snap.runs_by_status.get(status, 0))
    yield runs
    outcomes = _gauge("observations_last_hour",
                      "Pages read by crawls that finished in the last hour, by outcome.", ["outcome"])
    for outcome in ("ok", "removed", "failed", "dropped"):
        outcomes.add_metric([outcome], snap.outcomes.get(outcome, 0))
    yield outcomes
    reasons = _gauge("observation_reasons_last_hour",
                     "Pages removed, failed or dropped in the last hour, by outcome and reason.", ["outcome", "reason"])
    for key, count in sorted(snap.reasons.items()):
        for outcome, prefix in REASON_PREFIXES.items():
            if key.startswith(prefix):
                reasons.add_metric([outcome, key[len(prefix):]], count)
    yield reasons
    held = _gauge("crawl_runs_held", "Crawl runs held as suspect, waiting for the next run or an operator.")
    held.add_metric([], snap.held_runs)
    yield held
    events = _gauge("events_last_hour", "Price events of the last hour, by kind.", ["kind"])
    for kind, count in sorted(snap.events.items()):
        events.add_metric([kind], count)
    yield events
    notes = _gauge("notifications", "Emails owed and not yet sent (pending, sending).", ["state"])
    for state in ("pending", "sending"):
        notes.add_metric([state], snap.open_notifications.get(state, 0))
    yield notes
    done = _gauge("notifications_last_hour", "Emails that reached an end state in the last hour.", ["state"])
    for state in ("sent", "failed", "suppressed"):
        done.add_metric([state], snap.done_notifications.get(state, 0))
    yield done
    rate = _gauge("email_send_rate", "Emails sent per second over the last minute.")
    rate.add_metric([], round(snap.sent_recently / SEND_RATE_SECONDS, 4))
    yield rate
    breaker = _gauge("store_breaker_open", "1 while a store's circuit breaker pauses it after failures.", ["store"])
    streak = _gauge("store_failure_streak", "Failed crawls in a row per store.", ["store"])
    paused = _gauge("store_paused", "1 while an operator has paused the store.", ["store"])
    oldest = _gauge("store_oldest_due_seconds", "How long the store's longest-waiting due page has waited.", ["store"])
    for st in snap.stores:
        breaker.add_metric([st["store"]], 1 if st["breaker_open"] else 0)
        streak.add_metric([st["store"]], st["failure_streak"])
        paused.add_metric([st["store"]], 1 if st["operator_paused"] else 0)
        oldest.add_metric([st["store"]], st["oldest_due_seconds"] or 0)
    yield from (breaker, streak, paused, oldest)
    due = snap.due or {}
    targets = _gauge("frontier_due_targets", "Watched pages due for a crawl now (active, unpaused stores).")
    targets.add_metric([], due.get("count", 0))
    yield targets
    oldest_all = _gauge("frontier_oldest_due_seconds", "How long the longest-waiting due page has waited.")
    oldest_all.add_metric([], due.get("oldest", 0))
    yield oldest_all
    buckets = due.get("buckets") or [0] * len(WAIT_BUCKETS)
    hist = GaugeHistogramMetricFamily(
        "pricehound_frontier_due_wait_seconds", "How long the pages due now have waited since they came due.",
        buckets=[*((str(float(b)), n) for b, n in zip(WAIT_BUCKETS, buckets, strict=True)),
                 ("+Inf", due.get("count", 0))],
        gsum_value=float(due.get("sum", 0)))
    yield hist
    quantiles = _gauge("frontier_due_wait_quantile_seconds",
                       "Quantiles of how long the pages due now have waited.", ["quantile"])
    for q, value in zip(WAIT_QUANTILES, due.get("quantiles") or [None] * len(WAIT_QUANTILES), strict=True):
        quantiles.add_metric([str(q)], float(value or 0))
    yield quantiles


class PricehoundCollector(Collector):
    """Collects :func:`snapshot` on every scrape."""

    def __init__(self, engine: Engine | None, redis_client: Any) -> None:
        self.engine = engine
        self.redis = redis_client

    def collect(self) -> Iterator[Any]:
        yield from families(snapshot(self.engine, self.redis))

    def describe(self) -> list[Any]:
        return []  # figures are read at scrape time only; registering reads nothing


def registry(engine: Engine | None, redis_client: Any) -> CollectorRegistry:
    """A registry holding only pricehound's collector (no per-process default metrics)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(PricehoundCollector(engine, redis_client))
    return reg
