"""Follow one crawl from page to alert: ``pricehound crawl STORE --wait`` and ``pricehound explain``.

``crawl --wait`` takes the path a worker takes (the store lease, ``python -m spiders.run`` in
its own process, the writer, the events, the alert evaluation) and then reports what happened:

- **worker**: a Celery worker listens on the crawl queue. The run is enqueued as dispatch would
  and this process only waits for the worker to finish it (and for the alert stage to evaluate
  its events, or evaluates them itself when no worker listens on the alerts queue).
- **inline**: no worker is up (or the broker is not running). This process runs the crawl task's
  own body (``workers.crawl.crawl_run``: claim, spider process, finish) and then evaluates the
  run's events with the alert task's own function. When the broker is not running, the spider
  does not hand events to it (that would start the embedded Redis only to queue a message
  nobody reads), and outbox rows stay pending for the email worker's sweeper.

Whatever happens (Ctrl-C, a crash of this process or of the spider) the run is finished and the
store lease released before the command returns; a run a worker holds is left to that worker.

The report is read back from the database, so it shows exactly what was stored: each listing's
observation from ``listing_observations`` (kind, reason, price, stock, the rules that decided),
the run's ``price_events``, the outbox rows they made (kind, watch, user, state) and the watches
they did not reach, with the reason (alerts/report.py).
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pricehound.config import Settings

log = logging.getLogger("pricehound.cli")

#: seconds to wait for a worker's answer when asking which queues are served
INSPECT_TIMEOUT = 1.0
#: seconds between looks at a run a worker is crawling
POLL_EVERY = 0.5
#: how long the alert stage may take to evaluate a run's events before this process does it
ALERT_WAIT_SECONDS = 20.0
#: observations, events and notifications shown by explain
EXPLAIN_ROWS = 10


# -- where the crawl runs -----------------------------------------------------------------------

def running_broker(settings: Settings) -> str | None:
    """The broker's Redis URL if a Redis answers there now; never starts the embedded one."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if settings.redis_url:
        try:
            redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1,
                                 retry=Retry(NoBackoff(), 0)).ping()
        except (redis.RedisError, OSError):
            return None
        return settings.redis_url
    from pricehound import embedded

    return embedded.redis_if_running(settings.data_dir)


def serving_queues(timeout: float = INSPECT_TIMEOUT) -> set[str]:
    """Names of the queues live workers consume (empty when none answers)."""
    from workers import app

    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:  # noqa: BLE001 - no broker, no workers
        log.debug("could not ask the workers: %s", exc)
        return set()
    return {q.get("name") for queues in replies.values() for q in (queues or []) if q.get("name")}


# -- the report -----------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass
class RunReport:
    """One crawl run as stored: the run row, each listing's observation, events, alerts."""

    run: dict[str, Any]
    listings: list[dict[str, Any]]
    events: list[dict[str, Any]]
    owed: list[Any] = field(default_factory=list)       # alerts.report.Owed
    not_told: list[Any] = field(default_factory=list)   # alerts.report.NotTold
    mode: str = "inline"
    notes: list[str] = field(default_factory=list)
    seconds: float | None = None
    crawl_seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "seconds": self.seconds, "crawl_seconds": self.crawl_seconds,
            "run": {k: _plain(v) for k, v in self.run.items()},
            "listings": [{k: _plain(v) for k, v in item.items()} for item in self.listings],
            "events": [{k: _plain(v) for k, v in e.items()} for e in self.events],
            "owed": [o.as_json() for o in self.owed],
            "not_told": [n.as_json() for n in self.not_told],
            "notes": self.notes,
        }


RUN_ROW = sa.text(
    """
    SELECT r.id, s.slug AS store, r.status, r.requested, r.ok, r.changed, r.removed, r.failed, r.dropped,
           r.error, r.queued_at, r.started_at, r.finished_at, r.worker, r.listing_ids, r.render_advice
      FROM crawl_runs r JOIN stores s ON s.id = r.store_id
     WHERE r.id = :run_id
    """
)

# Each listing of the run, in the run's order, with the observation this run recorded for it.
RUN_LISTINGS = sa.text(
    """
    SELECT l.id AS listing_id, l.url, l.status AS listing_status, o.kind, o.reason, o.price, o.currency,
           o.availability, o.status_code, o.source, coalesce(o.rules, '{}'::jsonb) AS rules, o.observed_at,
           l.pending_at, l.pending_price, l.pending_currency, l.pending_availability
      FROM unnest(CAST(:listing_ids AS bigint[])) WITH ORDINALITY AS u(id, n)
      JOIN store_listings l ON l.id = u.id
      LEFT JOIN LATERAL (SELECT * FROM listing_observations x
                          WHERE x.listing_id = l.id AND x.crawl_run_id = :run_id
                          ORDER BY x.seq DESC LIMIT 1) o ON true
     ORDER BY u.n
    """
)

# The run's events, found through its listings (price_events is indexed by listing, not run).
RUN_EVENTS = sa.text(
    """
    SELECT e.id, e.listing_id, e.kind, e.old_price, e.new_price, e.currency, e.old_availability,
           e.new_availability, e.occurred_at, e.evaluated_at
      FROM unnest(CAST(:listing_ids AS bigint[])) AS u(id)
      JOIN price_events e ON e.listing_id = u.id
     WHERE e.crawl_run_id = :run_id
     ORDER BY e.id
    """
)


def run_report(conn: Connection, run_id: int, *, cooldown_seconds: float) -> RunReport:
    """Read one run's report from the database."""
    from alerts import report

    run = conn.execute(RUN_ROW, {"run_id": run_id}).one()._asdict()
    listing_ids = [int(i) for i in run.pop("listing_ids") or []]
    params = {"listing_ids": listing_ids, "run_id": run_id}
    listings = [r._asdict() for r in conn.execute(RUN_LISTINGS, params)]
    events = [r._asdict() for r in conn.execute(RUN_EVENTS, params)]
    event_ids = [e["id"] for e in events]
    return RunReport(run=run, listings=listings, events=events,
                     owed=report.owed_for_events(conn, event_ids),
                     not_told=report.not_told(conn, event_ids, cooldown_seconds=cooldown_seconds))


def _rules(rules: dict[str, str] | None) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted((rules or {}).items()))


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else ""


def _money(price: Any, currency: Any) -> str:
    return f"{price} {currency or ''}".strip() if price is not None else "-"


def observation_line(item: dict[str, Any], indent: str = "  ", label: str | None = None) -> str:
    """One listing's observation: what, price, stock and URL; then how it was read and the rules
    that decided (a second line)."""
    if item.get("kind") is None:
        return f"{indent}#{item['listing_id']:<6} not observed (the crawl ended before this page)  {item['url']}"
    what = item["kind"] if not item.get("reason") else f"{item['kind']} {item['reason']}"
    parts = [f"{label or '#' + str(item['listing_id']):<7} {what:<24}"]
    if item["kind"] in ("ok", "dropped"):
        parts.append(f"{_money(item.get('price'), item.get('currency')):<14} {item.get('availability') or '-':<13}")
    parts.append(item.get("url") or "")
    extra = []
    if item.get("status_code"):
        extra.append(f"HTTP {item['status_code']}")
    if item.get("source"):
        extra.append(f"read from {item['source']}")
    rules = _rules(item.get("rules"))
    if rules:
        extra.append(f"rules: {rules}")
    if item.get("pending_at"):
        extra.append(f"held until a second reading agrees: "
                     f"{_money(item.get('pending_price'), item.get('pending_currency'))} "
                     f"{item.get('pending_availability') or ''}".rstrip())
    line = indent + " ".join(parts).rstrip()
    if extra:
        line += "\n" + indent + " " * 8 + "; ".join(extra)
    return line


def event_line(e: dict[str, Any]) -> str:
    change = ""
    if e.get("old_price") is not None or e.get("new_price") is not None:
        change = f" {_money(e.get('old_price'), None)} -> {_money(e.get('new_price'), e.get('currency'))}"
    stock = ""
    if e.get("old_availability") != e.get("new_availability"):
        stock = f" {e.get('old_availability') or '-'} -> {e.get('new_availability') or '-'}"
    evaluated = "evaluated" if e.get("evaluated_at") else "not evaluated yet"
    return f"event {e['id']} listing {e['listing_id']}: {e['kind']}{change}{stock} ({evaluated})"


def render(rep: RunReport) -> str:
    """The report as text, for a terminal."""
    from alerts import report

    r = rep.run
    took = f" in {rep.seconds:.1f} s" if rep.seconds is not None else ""
    lines = [f"crawl run {r['id']} of {r['store']}: {r['status']}{took} ({rep.mode})",
             f"  {r['requested']} requested, {r['ok']} ok, {r['changed']} changed, {r['removed']} removed, "
             f"{r['failed']} failed, {r['dropped']} dropped"]
    if r.get("error"):
        lines.append(f"  error: {r['error'].splitlines()[0][:300]}")
    if r.get("render_advice"):
        lines.append(f"  advice: {r['render_advice']}")
    lines += [f"  note: {n}" for n in rep.notes]
    lines.append("")
    lines.append(f"observations ({len(rep.listings)})")
    lines += [observation_line(item) for item in rep.listings]
    lines.append("")
    lines.append(f"events written ({len(rep.events)})")
    lines += ["  " + event_line(e) for e in rep.events] or ["  none"]
    lines.append("")
    lines.append(f"alerts owed ({len(rep.owed)})")
    lines += report.render_owed(rep.owed) or ["  none"]
    if rep.not_told:
        lines.append("")
        lines.append(f"watchers not told ({len(rep.not_told)})")
        lines += report.render_not_told(rep.not_told)
    return "\n".join(lines)


# -- crawl and wait -----------------------------------------------------------------------------

class Terminated(KeyboardInterrupt):
    """SIGTERM while following a crawl: handled like Ctrl-C, so the store is released."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the block (main thread only)."""

    def raise_terminated(signum: int, frame: Any) -> None:
        raise Terminated(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _no_interrupts() -> Iterator[None]:
    """Let the cleanup that releases the store finish even if Ctrl-C is pressed again."""
    try:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: nothing to hold off
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def release(engine: Engine, run_id: int, why: str) -> None:
    """Finish a run this process owns (or that never started) and free its store."""
    from workers import crawl

    with _no_interrupts():
        crawl.finish(engine, run_id, process_error=why)


def crawl_inline(engine: Engine, settings: Settings, run_id: int, *, handoff: bool) -> tuple[Any, Any]:
    """The crawl task's body in this process; the run is finished and the store freed whatever
    happens, Ctrl-C included."""
    from workers import crawl

    spider_args = () if handoff else ("-s", "PRICEHOUND_HANDOFF=false")
    try:
        return crawl.crawl_run(run_id, settings=settings, engine=engine, spider_args=spider_args)
    except BaseException as exc:
        why = ("stopped by SIGTERM" if isinstance(exc, Terminated) else "interrupted by the operator") \
            if isinstance(exc, KeyboardInterrupt) else \
            f"crawl --wait failed: {type(exc).__name__}: {exc}"
        release(engine, run_id, why)
        raise


def wait_for_worker(engine: Engine, run_id: int, *, timeout: float,
                    sleep: Callable[[float], None] = time.sleep) -> str:
    """Wait until the run is finished and its store released; returns the run's status. On
    Ctrl-C a run no worker has started yet is abandoned (its store freed); one a worker is
    crawling is left to it."""
    from workers import crawl

    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                row = conn.execute(sa.text(
                    "SELECT r.status, s.current_run_id = r.id AS holds FROM crawl_runs r "
                    "JOIN stores s ON s.id = r.store_id WHERE r.id = :id"), {"id": run_id}).one()
            if row.status in crawl.FINISHED and not row.holds:
                return row.status
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is still {row.status} after {timeout:.0f} s")
            sleep(POLL_EVERY)
    except KeyboardInterrupt:
        with _no_interrupts(), engine.begin() as conn:
            status = conn.execute(sa.text("SELECT status FROM crawl_runs WHERE id = :id FOR UPDATE"),
                                  {"id": run_id}).scalar_one()
            if status == "queued":
                conn.execute(crawl.ABANDON_RUN, {"run_id": run_id, "error": "interrupted by the operator"})
        if status == "queued":
            release(engine, run_id, "interrupted by the operator")
        raise


def evaluate_run_events(engine: Engine, settings: Settings, event_ids: list[int], *,
                        broker: bool) -> int:
    """The alert task's work for these events, in this process (idempotent: events a worker
    already evaluated are skipped). Hands new outbox rows to the email queue when the broker
    runs; otherwise they wait, pending, for the email worker's sweeper."""
    from alerts import evaluate, outbox

    result = evaluate.evaluate_events(engine, event_ids, cooldown_seconds=settings.alert_cooldown,
                                      window_seconds=settings.alert_batch_window)
    if result.notification_ids and broker:
        outbox.enqueue_send(result.notification_ids, countdown=settings.alert_batch_window,
                            user_ids=result.user_ids)
    return len(result.notification_ids)


def crawl_and_wait(engine: Engine, settings: Settings, run_id: int, *,
                   alert_wait: float = ALERT_WAIT_SECONDS) -> RunReport:
    """Crawl a queued run through the worker's path (a worker's, or this process's) and report."""
    with _terminate_as_interrupt():
        return _crawl_and_wait(engine, settings, run_id, alert_wait=alert_wait)


def _crawl_and_wait(engine: Engine, settings: Settings, run_id: int, *, alert_wait: float) -> RunReport:
    from workers import schedule

    started = time.monotonic()
    notes: list[str] = []
    broker = running_broker(settings)
    queues = serving_queues() if broker else set()
    crawl_started = time.monotonic()
    if "crawl" in queues:
        mode = "worker"
        try:
            schedule.enqueue([schedule.DispatchedRun(run_id, 0, "", 0)], expires=settings.lease_seconds)
        except BaseException:
            release(engine, run_id, "could not hand the run to the workers")
            raise
        wait_for_worker(engine, run_id, timeout=settings.crawl_time_limit + settings.lease_seconds + 120)
    else:
        mode = "inline"
        if not broker:
            notes.append("the broker is not running: events were evaluated here and emails wait, "
                         "pending, for an email worker")
        crawl_inline(engine, settings, run_id, handoff=bool(broker))
    crawl_seconds = time.monotonic() - crawl_started
    with engine.connect() as conn:
        event_ids = [int(e["id"]) for e in conn.execute(RUN_EVENTS, {
            "listing_ids": conn.execute(sa.text("SELECT listing_ids FROM crawl_runs WHERE id = :id"),
                                        {"id": run_id}).scalar_one() or [],
            "run_id": run_id}).mappings()]
    if event_ids:
        if "alerts" in queues:
            _wait_evaluated(engine, event_ids, alert_wait)
        evaluate_run_events(engine, settings, event_ids, broker=bool(broker))
    with engine.connect() as conn:
        rep = run_report(conn, run_id, cooldown_seconds=settings.alert_cooldown)
    rep.mode = "worker" if mode == "worker" else ("inline: no worker was up" if broker else "inline")
    rep.notes = notes
    rep.seconds = time.monotonic() - started
    rep.crawl_seconds = crawl_seconds
    return rep


def _wait_evaluated(engine: Engine, event_ids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.execute(sa.text(
                "SELECT count(*) FROM price_events WHERE id = ANY (CAST(:ids AS bigint[])) AND evaluated_at IS NULL"),
                {"ids": event_ids}).scalar_one()
        if not left:
            return
        time.sleep(POLL_EVERY)


# -- explain ------------------------------------------------------------------------------------

LISTING_ROW = sa.text(
    """
    SELECT l.id AS listing_id, l.url, s.slug AS store, l.status, l.title, l.consecutive_failures,
           l.consecutive_removed, l.last_failure_reason, l.pending_at, l.pending_price, l.pending_currency,
           l.pending_availability, sp.price, sp.currency, sp.availability,
           sp.observed_at, sp.changed_at, f.last_crawled_at, f.next_due_at, f.watchers,
           CASE WHEN s.render <> 'js' THEN
               (SELECT r.render_advice FROM crawl_runs r
                 WHERE r.store_id = s.id AND r.finished_at IS NOT NULL
                 ORDER BY r.queued_at DESC LIMIT 1) END AS render_advice
      FROM store_listings l
      JOIN stores s ON s.id = l.store_id
      LEFT JOIN store_prices sp ON sp.listing_id = l.id
      LEFT JOIN user_crawler_priorities f ON f.listing_id = l.id
     WHERE l.id = :id
    """
)

LISTING_OBSERVATIONS = sa.text(
    """
    SELECT listing_id, crawl_run_id, observed_at, kind, reason, price, currency, availability, status_code,
           source, rules, '' AS url
      FROM listing_observations WHERE listing_id = :id ORDER BY seq DESC
    """
)

LISTING_EVENTS = sa.text(
    """
    SELECT id, listing_id, kind, old_price, new_price, currency, old_availability, new_availability,
           occurred_at, evaluated_at, crawl_run_id
      FROM price_events WHERE listing_id = :id ORDER BY occurred_at DESC, id DESC LIMIT :n
    """
)


def find_listing(conn: Connection, what: str) -> int:
    """A listing id from an id or a URL (as watched, or as given)."""
    from pricehound import catalog, urls

    text = what.strip()
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text) or len(text) > 4096:
        raise catalog.InputError("give a listing id or a product page URL")
    if text.isdigit():
        if int(text) > 2**63 - 1:
            raise catalog.InputError(f"no listing {text}")
        if conn.execute(sa.text("SELECT 1 FROM store_listings WHERE id = :id"), {"id": int(text)}).first():
            return int(text)
        raise catalog.InputError(f"no listing {text}")
    candidates = [text]
    try:
        candidates.append(urls.canonical_url(text))
    except Exception:  # noqa: BLE001 - an unreadable URL is simply looked up as given
        pass
    found = conn.execute(sa.text("SELECT id FROM store_listings WHERE url = ANY (:u) ORDER BY id LIMIT 1"),
                         {"u": candidates}).scalar()
    if found is None:
        raise catalog.InputError(f"no listing with URL {text}; `pricehound watch add` creates one")
    return int(found)


def explain(conn: Connection, listing_id: int, *, cooldown_seconds: float, rows: int = EXPLAIN_ROWS) -> dict[str, Any]:
    """A listing's current state, last observations, events and the alerts they made."""
    from alerts import report

    listing = conn.execute(LISTING_ROW, {"id": listing_id}).one()._asdict()
    obs = [r._asdict() for r in conn.execute(LISTING_OBSERVATIONS, {"id": listing_id})]
    events = [r._asdict() for r in conn.execute(LISTING_EVENTS, {"id": listing_id, "n": rows})]
    event_ids = [e["id"] for e in events]
    return {"listing": listing, "observations": obs, "events": events,
            "owed": report.owed_for_events(conn, event_ids),
            "not_told": report.not_told(conn, event_ids, cooldown_seconds=cooldown_seconds)}


def explain_json(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "listing": {k: _plain(v) for k, v in found["listing"].items()},
        "observations": [{k: _plain(v) for k, v in o.items() if k != "url"} for o in found["observations"]],
        "events": [{k: _plain(v) for k, v in e.items()} for e in found["events"]],
        "owed": [o.as_json() for o in found["owed"]],
        "not_told": [n.as_json() for n in found["not_told"]],
    }


def render_explain(found: dict[str, Any]) -> str:
    from alerts import report

    lst = found["listing"]
    lines = [f"listing {lst['listing_id']} at {lst['store']}: {lst['url']}",
             f"  {lst['status']}; now {_money(lst['price'], lst['currency'])} {lst['availability'] or 'never read'}"
             + (f" (read {lst['observed_at']:%Y-%m-%d %H:%M:%S}, changed {lst['changed_at']:%Y-%m-%d %H:%M:%S})"
                if lst.get("observed_at") else ""),
             f"  {lst['watchers'] or 0} watcher(s); last crawled {_when(lst['last_crawled_at']) or 'never'}, "
             f"next due {_when(lst['next_due_at']) or '-'}"]
    if lst.get("pending_at"):
        lines.append(f"  held until a second reading agrees: {_money(lst['pending_price'], lst['pending_currency'])} "
                     f"{lst['pending_availability'] or ''} (read {lst['pending_at']:%Y-%m-%d %H:%M:%S})")
    if lst.get("consecutive_failures"):
        lines.append(f"  {lst['consecutive_failures']} failure(s) in a row, last: {lst['last_failure_reason']}")
    if lst.get("render_advice"):
        lines.append(f"  advice: the store's last run: {lst['render_advice']}")
    lines.append("")
    lines.append(f"last observations, newest first ({len(found['observations'])})")
    for o in found["observations"]:
        label = f"{o['observed_at']:%Y-%m-%d %H:%M:%S} run {o['crawl_run_id'] or '-'}"
        lines.append(observation_line({**o, "url": ""}, label=label))
    if not found["observations"]:
        lines.append("  none recorded yet")
    lines.append("")
    lines.append(f"events, newest first ({len(found['events'])})")
    lines += [f"  {e['occurred_at']:%Y-%m-%d %H:%M:%S} " + event_line(e) for e in found["events"]] or ["  none"]
    lines.append("")
    lines.append(f"alerts owed ({len(found['owed'])})")
    lines += report.render_owed(found["owed"]) or ["  none"]
    if found["not_told"]:
        lines.append("")
        lines.append(f"watchers not told ({len(found['not_told'])})")
        lines += report.render_not_told(found["not_told"])
    return "\n".join(lines)


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=False, default=_plain)


__all__ = [
    "RunReport", "crawl_and_wait", "crawl_inline", "evaluate_run_events", "explain", "explain_json",
    "find_listing", "release", "render", "render_explain", "run_report", "running_broker", "serving_queues",
    "wait_for_worker",
]
