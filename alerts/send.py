"""The send path: claim outbox rows, render one email per user batch, rate-limit, SES, record.

States: pending -> sending (claimed, attempts + 1) -> sent (SES MessageId) | failed (permanent
rejection, reason in last_error) | suppressed (address suppressed, user disabled, or an alert
for an unverified user). A transient SES error puts the unsent rows back to pending with the
error and a send_after in the future; the task retries them with backoff, and the sweeper picks
up anything a lost message or a dead worker left behind.

Claiming is one UPDATE ... FOR UPDATE SKIP LOCKED that only takes pending rows, so two tasks
given the same ids (a retried message, the sweeper, a second worker) never both send a row.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.engine import Connection, Engine

from alerts import channels, delivery, evidence, links, mime, noise, outbox, ratelimit, render
from alerts import omnibus as omnibus_notes
from alerts.outbox import ALERT_KINDS, TRANSACTIONAL_KINDS
from pricehound import clock
from pricehound.config import Settings, get_settings
from pricehound.db import get_engine

log = logging.getLogger("pricehound.alerts.send")

MAX_ATTEMPTS = 12

CLAIM_SQL = """
WITH asked AS (
    SELECT DISTINCT user_id FROM notifications
     WHERE id = ANY (CAST(:ids AS bigint[])) AND status = 'pending'
       AND (send_after <= pricehound_now() OR :ignore_send_after)
       AND (hold IS NOT NULL OR kind <> ALL (CAST(:alert_kinds AS text[])))
), picked AS (
    -- the rows asked for, plus every other due alert of the same users: one message per user and
    -- channel. An address unsubscribed from alerts still gets the sign-in and verify links its
    -- owner asks for; a bounce or a complaint stops every email. A webhook or Apprise row goes
    -- only to a channel still verified. Rows noise control holds wait for their time.
    SELECT n.id, n.user_id, n.channel_id, n.kind, n.digest_key AS old_key, u.email, u.name,
           ch.target, ch.secret,
           CASE WHEN n.channel_id IS NOT NULL THEN u.status = 'active' AND ch.status = 'verified'
                ELSE ((s.email IS NULL OR (s.reason = 'unsubscribe' AND n.kind IN ('verify', 'login')))
                      AND u.status = 'active'
                      AND (u.verified_at IS NOT NULL OR n.kind = 'verify')) END AS deliverable,
           CASE WHEN n.channel_id IS NOT NULL AND u.status = 'active' THEN 'channel ' || ch.status
                WHEN s.email IS NOT NULL AND NOT (s.reason = 'unsubscribe' AND n.kind IN ('verify', 'login'))
                     AND n.channel_id IS NULL
                THEN 'address suppressed (' || s.reason || ')'
                WHEN u.status <> 'active' THEN 'user ' || u.status
                ELSE 'address not verified' END AS reason
      FROM notifications n
      JOIN users u ON u.id = n.user_id
      LEFT JOIN user_channels ch ON ch.id = n.channel_id
      LEFT JOIN email_suppressions s ON s.email = lower(u.email)
     WHERE n.status = 'pending'
       AND (n.hold IS NOT NULL OR n.kind <> ALL (CAST(:alert_kinds AS text[])))
       AND ((n.id = ANY (CAST(:ids AS bigint[])) AND (n.send_after <= pricehound_now() OR :ignore_send_after))
            OR (n.user_id IN (SELECT user_id FROM asked) AND n.kind = ANY (CAST(:alert_kinds AS text[]))
                AND (n.hold = 'now' OR n.send_after <= pricehound_now())))
     ORDER BY n.id
       FOR UPDATE OF n SKIP LOCKED
), keyed AS (
    -- the one message each row belongs to, fixed at its first claim: a row given back after a
    -- dead worker goes out again in the same message, under the same key
    SELECT p.*, coalesce(p.old_key,
           CASE WHEN p.kind = ANY (CAST(:alert_kinds AS text[]))
                THEN 'd' || p.user_id || '-' || coalesce(p.channel_id, 0) || '-'
                     || min(p.id) OVER (PARTITION BY p.user_id, p.channel_id, p.old_key IS NULL,
                                                     p.kind = ANY (CAST(:alert_kinds AS text[])))
                ELSE 'n' || p.id END) AS key
      FROM picked p
)
UPDATE notifications n
   SET status = CASE WHEN k.deliverable THEN 'sending' ELSE 'suppressed' END,
       attempts = n.attempts + CASE WHEN k.deliverable THEN 1 ELSE 0 END,
       last_error = CASE WHEN k.deliverable THEN n.last_error ELSE k.reason END,
       digest_key = CASE WHEN k.deliverable THEN k.key ELSE n.digest_key END,
       sending_started_at = pricehound_now(), updated_at = pricehound_now()
  FROM keyed k
 WHERE n.id = k.id
RETURNING n.id, n.user_id, n.item_id, n.event_id, n.kind, n.payload, n.status, n.attempts, n.channel, n.channel_id,
          n.digest_key, k.email, k.name, k.target, k.secret
"""

ALERT_CONTEXT_SQL = """
SELECT n.id, e.kind AS event_kind, e.old_price, e.new_price, e.currency,
       e.old_availability, e.new_availability, e.occurred_at,
       l.url, coalesce(nullif(btrim(l.title), ''), bp.name, l.url) AS title, s.name AS store,
       w.target_price, lp.lowest_30d, lp.lowest_90d, l.status AS listing_status, n.payload AS alert_payload,
       -- cheapest_store names the store that is cheapest now, which may be another listing
       cl.id AS cheapest_listing_id, cl.url AS cheapest_url, cs.name AS cheapest_store,
       coalesce(nullif(btrim(cl.title), ''), bp.name, cl.url) AS cheapest_title,
       coalesce(csp.known_availability, csp.availability) AS cheapest_availability,
       clp.lowest_30d AS cheapest_lowest_30d, clp.lowest_90d AS cheapest_lowest_90d,
       (SELECT jsonb_build_object('source', o.source, 'rules', o.rules, 'reason', o.reason)
          FROM listing_observations o
         WHERE o.listing_id = e.listing_id AND o.observed_at = e.occurred_at LIMIT 1) AS reading,
       -- a change that waited for a second reading: an earlier reading of the same kind, in a row
       EXISTS (SELECT 1 FROM listing_observations o
                WHERE o.listing_id = e.listing_id AND o.observed_at < e.occurred_at
                  AND o.observed_at > coalesce((SELECT max(h.observed_at) FROM price_history_log h
                                                 WHERE h.listing_id = e.listing_id AND h.observed_at < e.occurred_at),
                                                '-infinity')
                  AND (CASE WHEN e.kind = 'removed' THEN o.kind = 'removed'
                            ELSE o.kind = 'ok' AND o.price IS NOT DISTINCT FROM e.new_price
                                 AND (e.kind IN ('price_drop', 'price_rise') OR o.availability = e.new_availability)
                       END)) AS confirmed
  FROM notifications n
  JOIN price_events e ON e.id = n.event_id
  JOIN store_listings l ON l.id = e.listing_id
  JOIN stores s ON s.id = l.store_id
  LEFT JOIN branded_products bp ON bp.id = l.product_id
  LEFT JOIN shopping_list_items w ON w.id = n.item_id
  LEFT JOIN listing_lowest_prices lp ON lp.listing_id = l.id AND lp.currency = e.currency
  LEFT JOIN store_listings cl ON n.kind = 'cheapest_store' AND cl.id = CAST(n.payload->>'cheapest_listing_id' AS bigint)
  LEFT JOIN stores cs ON cs.id = cl.store_id
  LEFT JOIN store_prices csp ON csp.listing_id = cl.id
  LEFT JOIN listing_lowest_prices clp ON clp.listing_id = cl.id AND clp.currency = e.currency
 WHERE n.id = ANY (CAST(:ids AS bigint[]))
"""


@dataclass
class Message:
    """One message: a user's batch of alerts on one channel, or one transactional email."""

    user_id: int
    email: str
    name: str | None
    rows: list[dict[str, Any]]

    @property
    def channel(self) -> str:
        return self.rows[0].get("channel") or "email"

    @property
    def channel_id(self) -> int | None:
        return self.rows[0].get("channel_id")

    @property
    def key(self) -> str:
        """The message's own key (its rows' digest_key): the delivery id a receiver dedupes on."""
        return self.rows[0].get("digest_key") or f"n{self.rows[0]['id']}"

    @property
    def ids(self) -> list[int]:
        return [r["id"] for r in self.rows]

    @property
    def kind(self) -> str:
        return self.rows[0]["kind"] if len(self.rows) == 1 else "digest"


@dataclass
class Outcome:
    """What one send task did; ``retry_ids`` are rows put back after a transient error."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)
    retry_ids: list[int] = field(default_factory=list)
    retry_error: str | None = None
    messages: int = 0


def claim(conn: Connection, ids: list[int], *, ignore_send_after: bool = False) -> list[dict[str, Any]]:
    """Judge what noise control has not judged yet, then claim the due rows (one transaction)."""
    noise.judge(conn, ids, ALERT_KINDS)
    rows = conn.execute(sa.text(CLAIM_SQL), {"ids": ids, "ignore_send_after": ignore_send_after,
                                             "alert_kinds": list(ALERT_KINDS)}).mappings().all()
    return [dict(r) for r in rows]


def group(rows: list[dict[str, Any]]) -> list[Message]:
    """Rows sharing a digest key are one message (a user's alerts on one channel); each
    transactional row is its own message."""
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r["id"]):
        if row["status"] != "sending":
            continue
        by_key[row.get("digest_key") or f"n{row['id']}"].append(row)
    return [Message(r[0]["user_id"], r[0]["email"], r[0]["name"], r) for r in by_key.values()]


def alert_context(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    return {int(r["id"]): dict(r) for r in conn.execute(sa.text(ALERT_CONTEXT_SQL), {"ids": ids}).mappings()}


def _cheapest_store_context(kind: str, ctx: dict[str, Any], payload: dict[str, Any]) -> bool:
    """A cheapest_store alert tells the store that is cheapest now, at its price; when that is
    another listing than the one that changed (the cheaper one sold out, went or rose), the
    changed listing's old price says nothing about it."""
    cheapest = {k: ctx.pop(k, None) for k in ("cheapest_listing_id", "cheapest_url", "cheapest_store", "cheapest_title",
                                              "cheapest_availability", "cheapest_lowest_30d", "cheapest_lowest_90d")}
    if kind != "cheapest_store" or cheapest["cheapest_listing_id"] is None:
        return False
    other = cheapest["cheapest_url"] != ctx["url"]
    if other:
        ctx.update(old_price=None, old_availability=None, new_availability=cheapest["cheapest_availability"],
                   lowest_30d=cheapest["cheapest_lowest_30d"], lowest_90d=cheapest["cheapest_lowest_90d"])
    ctx.update(url=cheapest["cheapest_url"], store=cheapest["cheapest_store"], title=cheapest["cheapest_title"])
    if payload.get("cheapest_price") is not None:
        ctx["new_price"] = Decimal(str(payload["cheapest_price"]))
    return other


def alert_items(message: Message, context: dict[int, dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """What each alert of the message says (the templates' and the webhook payload's input)."""
    alerts = []
    for row in message.rows:
        ctx = dict(context[row["id"]])
        payload = ctx.pop("alert_payload", None) or {}
        reading, confirmed = ctx.pop("reading", None), bool(ctx.pop("confirmed", False))
        if _cheapest_store_context(row["kind"], ctx, payload):
            reading = None  # what was read was another store's page
        alerts.append({
            **ctx, "kind": row["kind"], "notification_id": row["id"], "event_id": row.get("event_id"),
            "item_id": row.get("item_id"),
            "evidence": evidence.sentence(row["kind"], ctx["url"], reading, confirmed=confirmed),
            "dispute_url": links.dispute_url(message.user_id, row["id"], settings),
            "gone": row["kind"] == "removed" or ctx["listing_status"] == "removed",
            "cheaper_than": payload.get("cheaper_than"),
            "omnibus": omnibus_notes.notes(row["kind"], ctx["new_price"], ctx["currency"], payload, ctx["occurred_at"]),
            "percent": render.percent_change(ctx["old_price"], ctx["new_price"]),
            "unsubscribe_url": links.unsubscribe_url(message.user_id, row["item_id"], settings),
        })
    return alerts


def render_message(message: Message, context: dict[int, dict[str, Any]], settings: Settings) -> mime.Envelope:
    """Render a message to an envelope; KeyError when an alert's event is gone."""
    common = {"user_name": message.name, "public_url": settings.public_url}
    if message.rows[0]["kind"] in TRANSACTIONAL_KINDS:
        row = message.rows[0]
        payload = row["payload"] or {}
        link = payload.get("link") or (links.verify_url(message.user_id, settings) if row["kind"] == "verify"
                                       else links.login_url(message.user_id, settings))
        rendered = render.render_transactional(row["kind"], {**common, **payload, "link": link})
        unsubscribe = None
    else:
        alerts = alert_items(message, context, settings)
        unsubscribe = links.unsubscribe_url(message.user_id, None, settings)
        common.update(manage_url=links.manage_url(message.user_id, settings), unsubscribe_all_url=unsubscribe)
        rendered = render.render_alerts(alerts, common)
    return mime.Envelope(sender=settings.ses_sender, to_email=message.email, to_name=message.name,
                         subject=rendered.subject, text=rendered.text, html=rendered.html,
                         list_unsubscribe=unsubscribe)


def _mark(engine: Engine, ids: list[int], status: str, *, error: str, retry_in: float = 0.0) -> None:
    """Rows SES did not take: 'failed', or 'pending' again after ``retry_in`` (sent rows are
    recorded by ``_SentRecorder``)."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            """
            UPDATE notifications
               SET status = :status, last_error = :error,
                   send_after = CASE WHEN :status = 'pending' THEN pricehound_now() + CAST(:retry_in AS interval)
                                     ELSE send_after END,
                   updated_at = pricehound_now()
             WHERE id = ANY (CAST(:ids AS bigint[])) AND status = 'sending'
            """), {"ids": ids, "status": status, "error": error, "retry_in": timedelta(seconds=retry_in)})


class _SentRecorder:
    """Records SES acceptances in batches: one UPDATE per ~25 emails or 200 ms, not one per email,
    written by a background thread so the sending loop never waits for the database.

    The cost is a short window (at most one batch) in which a worker dying right after SES
    accepted a message leaves its rows in 'sending'; the sweeper then sends them again. Marking
    each email on its own commit halved the throughput of the send path.
    """

    MAX_ROWS, MAX_AGE = 25, 0.2

    def __init__(self, engine: Engine):
        self.engine = engine
        self.ids: list[int] = []
        self.message_ids: list[str] = []
        self.accepted_at: list[datetime | None] = []
        self.oldest = 0.0
        self.writes: list[Future[None]] = []

    def add(self, ids: list[int], message_id: str, accepted_at: datetime | None) -> None:
        if not self.ids:
            self.oldest = time.monotonic()
        self.ids.extend(ids)
        self.message_ids.extend([message_id] * len(ids))
        self.accepted_at.extend([accepted_at] * len(ids))

    def flush_if_due(self) -> None:
        if self.ids and (len(self.ids) >= self.MAX_ROWS or time.monotonic() - self.oldest >= self.MAX_AGE):
            self.flush(wait=False)

    def flush(self, wait: bool = True) -> None:
        """Hand the batch to the writer thread; with ``wait``, return once everything is written."""
        if self.ids:
            batch = (self.ids, self.message_ids, self.accepted_at)
            self.ids, self.message_ids, self.accepted_at = [], [], []
            self.writes.append(_recorder_pool(os.getpid()).submit(self._write, *batch))
        if wait:
            writes, self.writes = self.writes, []
            for write in writes:
                write.result()

    def _write(self, ids: list[int], message_ids: list[str], accepted_at: list[datetime | None]) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(
                """
                UPDATE notifications n
                   SET status = 'sent', sent_at = coalesce(v.accepted_at, pricehound_now()),
                       provider_message_id = v.message_id, last_error = NULL, updated_at = pricehound_now()
                  FROM unnest(CAST(:ids AS bigint[]), CAST(:message_ids AS text[]),
                              CAST(:accepted_at AS timestamptz[])) AS v(id, message_id, accepted_at)
                 WHERE n.id = v.id AND n.status = 'sending'
                """), {"ids": ids, "message_ids": message_ids, "accepted_at": accepted_at})


@functools.lru_cache(maxsize=2)
def _recorder_pool(pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ses-record")


def _write_eml(directory: str, message: Message, raw: bytes) -> None:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    target = path / f"{message.ids[0]}-{message.kind}.eml"
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(raw)
    tmp.replace(target)


def limiter(settings: Settings, channel: str = "email") -> ratelimit.SendRateLimiter:
    return delivery.limiter(settings, channel)


# SES answers in tens of milliseconds; a worker that waited for each answer before building the
# next message would send a fraction of what the account allows. A few sends in flight per
# worker (each still taking its slot from the cluster-wide limiter first) keep it busy.
SEND_CONCURRENCY = 4


@functools.lru_cache(maxsize=2)
def _pool(pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=SEND_CONCURRENCY, thread_name_prefix="ses-send")


@dataclass
class _Delivery:
    message: Message
    message_id: str | None = None
    accepted_at: datetime | None = None
    error: BaseException | None = None


def _deliver(settings: Settings, gate: ratelimit.SendRateLimiter, message: Message, job: delivery.Job) -> _Delivery:
    """One hand-over (SES, SMTP, webhook or Apprise) in a pool thread; the caller records the outcome.

    The send slot is taken here, right before the request leaves, so what the provider sees is
    spaced by the channel kind's limiter however the threads happen to be scheduled.
    """
    try:
        gate.acquire()
        message_id = job.send()
    except Exception as exc:  # classified by the caller
        return _Delivery(message, error=exc)
    accepted_at = clock.now()
    if settings.email_dir and job.raw is not None:
        try:
            _write_eml(settings.email_dir, message, job.raw)
        except OSError as exc:
            log.warning("could not write .eml for %s: %s", message.ids, exc)
    return _Delivery(message, message_id=message_id, accepted_at=accepted_at)


def _give_back(engine: Engine, messages: list[Message], outcome: Outcome, retry_in: float) -> None:
    """Rows SES did not take: back to pending for a retry, or failed once out of attempts."""
    exhausted = [r["id"] for m in messages for r in m.rows if r["attempts"] >= MAX_ATTEMPTS]
    retryable = [r["id"] for m in messages for r in m.rows if r["attempts"] < MAX_ATTEMPTS]
    reason = outcome.retry_error or "interrupted before sending"
    if exhausted:
        _mark(engine, exhausted, "failed", error=f"gave up after {MAX_ATTEMPTS} attempts: {reason}")
        outcome.failed.extend(exhausted)
    if retryable:
        _mark(engine, retryable, "pending", error=reason, retry_in=retry_in)
    outcome.retry_ids = retryable
    log.warning("%s; %d notification(s) back to pending, retry in %.0fs", reason, len(retryable), retry_in)


def send_notifications(ids: list[int], *, settings: Settings | None = None, ignore_send_after: bool = False,
                       retry_in: float = 30.0) -> Outcome:
    """Send what these outbox rows owe. Never raises for SES errors: see ``Outcome``."""
    settings = settings or get_settings()
    engine = get_engine(settings)
    outcome = Outcome()
    with engine.begin() as conn:
        rows = claim(conn, [int(i) for i in ids], ignore_send_after=ignore_send_after)
    outcome.suppressed = [r["id"] for r in rows if r["status"] == "suppressed"]
    messages = group(rows)
    if not messages:
        return outcome
    alert_ids = [r["id"] for m in messages for r in m.rows if r["kind"] not in TRANSACTIONAL_KINDS]
    with engine.connect() as conn:
        context = alert_context(conn, alert_ids)
    gates: dict[str, ratelimit.SendRateLimiter] = {}
    pool = _pool(os.getpid())
    in_flight: deque[Future[_Delivery]] = deque()
    to_retry: list[Message] = []
    pushback = False  # the email provider is pushing back: the rest of the batch waits
    channel_outcomes: list[tuple[int, bool, str | None]] = []

    accepted = _SentRecorder(engine)

    def settle(result: _Delivery) -> None:
        nonlocal pushback
        message = result.message
        if result.error is None:
            accepted.add(message.ids, result.message_id or "", result.accepted_at)
            outcome.sent.extend(message.ids)
            outcome.messages += 1
            if message.channel_id is not None:
                channel_outcomes.append((message.channel_id, True, None))
            return
        reason = delivery.error_text(result.error)
        if message.channel_id is not None:
            channel_outcomes.append((message.channel_id, False, reason))
        if delivery.is_transient(result.error):
            to_retry.append(message)
            outcome.retry_error = reason
            pushback = pushback or message.channel == "email"
        else:
            log.warning("%s refused notification(s) %s for user %s: %s", message.channel, message.ids,
                        message.user_id, reason)
            _mark(engine, message.ids, "failed", error=reason)
            outcome.failed.extend(message.ids)

    started = 0  # messages[:started] were rendered and handed to the pool (or failed)
    try:
        for message in messages:
            if pushback:  # SES is pushing back: stop here, the rest waits for the retry
                break
            try:
                job = delivery.prepare(message, context, settings)
                gate = gates.get(message.channel) or gates.setdefault(message.channel, limiter(settings, message.channel))
            except SoftTimeLimitExceeded:
                raise  # the task's time ran out, not the row's fault
            except Exception as exc:  # a row that cannot be rendered will never render: fail it
                log.exception("notification(s) %s could not be rendered", message.ids)
                _mark(engine, message.ids, "failed", error=f"render: {type(exc).__name__}: {exc}"[:1000])
                outcome.failed.extend(message.ids)
                started += 1
                continue
            in_flight.append(pool.submit(_deliver, settings, gate, message, job))
            started += 1
            while in_flight and (in_flight[0].done() or len(in_flight) >= SEND_CONCURRENCY):
                settle(in_flight.popleft().result())
            accepted.flush_if_due()
    finally:
        # also on a time limit or a crash in this loop: what the providers accepted is recorded,
        # and rows never handed over go back to pending at once instead of waiting for the sweeper
        while in_flight:
            settle(in_flight.popleft().result())
        accepted.flush()
        to_retry.extend(messages[started:])
        if to_retry:
            _give_back(engine, to_retry, outcome, retry_in)
        if channel_outcomes:
            notices = channels.record_outcomes(engine, channel_outcomes, settings.channel_max_failures)
            if notices:
                outbox.enqueue_send(notices)

    log.info("sent %d message(s) for %d notification(s); %d failed, %d suppressed, %d to retry",
             outcome.messages, len(outcome.sent), len(outcome.failed), len(outcome.suppressed),
             len(outcome.retry_ids))
    return outcome
