"""Celery tasks of the alert stage (loaded by celeryconfig.imports).

    pricehound.alerts.evaluate_events(event_ids)     alerts queue: events -> outbox rows
    pricehound.alerts.sweep_events()                 beat: events whose message was lost
    pricehound.email.send_notifications(ids)         email queue: outbox rows -> SES
    pricehound.email.sweep_outbox()                  beat: rows stuck pending or sending
    pricehound.email.poll_ses_events()               beat: bounces/complaints from SQS
    pricehound.email.release_held()                  beat: digests and held alerts whose time came

The sweeps and the SES poll are periodic (workers.beat.periodic, the one beat declaration); every
task retries transient errors by workers.retry's one policy. Every task takes ids (or nothing),
is idempotent and acks late: running one twice, or two at
once, sends nothing twice. Work is enqueued only after the transaction that made it commits.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from celery.exceptions import MaxRetriesExceededError

from alerts import bounces, evaluate, noise, outbox, send
from pricehound import tasknames
from pricehound.config import get_settings
from pricehound.db import get_engine
from workers import app
from workers.beat import periodic
from workers.retry import backoff, retry_policy

log = logging.getLogger("pricehound.alerts.tasks")

SWEEP_EVENTS_EVERY = 30.0
SWEEP_OUTBOX_EVERY = 30.0
RELEASE_HELD_EVERY = 15.0
POLL_SES_EVENTS_EVERY = 60.0
# An unevaluated event this old had its message lost (a task normally runs within seconds).
LOST_EVENT_AFTER = 60.0
# A pending row this far past its send_after had its message lost.
LOST_PENDING_AFTER = 60.0
SEND_SOFT_LIMIT, SEND_HARD_LIMIT = 240, 300
# A row still "sending" once the send task's hard limit has passed belongs to a dead worker
# (a live one would have been stopped by then): re-sending it is the one duplicate window.
STUCK_SENDING_AFTER = SEND_HARD_LIMIT + 30.0


@app.task(name=tasknames.EVALUATE_EVENTS, bind=True, acks_late=True, soft_time_limit=300,
          time_limit=360, **retry_policy(max_retries=10))
def evaluate_events(self, event_ids: list[int]) -> dict[str, int]:
    """Turn these price events into outbox rows, then hand the rows to the send task."""
    settings = get_settings()
    result = evaluate.evaluate_events(get_engine(settings), event_ids, cooldown_seconds=settings.alert_cooldown,
                                      window_seconds=settings.alert_batch_window)
    if result.notification_ids:
        outbox.enqueue_send(result.notification_ids, countdown=settings.alert_batch_window,
                            user_ids=result.user_ids)
    log.info("evaluated %d of %d event(s): %d notification(s)", result.events, len(event_ids),
             len(result.notification_ids))
    return {"events": result.events, "notifications": len(result.notification_ids)}


@periodic(tasknames.SWEEP_EVENTS, every=SWEEP_EVENTS_EVERY, bind=True, acks_late=True, soft_time_limit=300,
          time_limit=360, **retry_policy())
def sweep_events(self, limit: int = evaluate.BATCH_SIZE) -> int:
    """Evaluate events no task evaluated (a lost broker message makes them late, never lost)."""
    engine = get_engine()
    with engine.connect() as conn:
        ids = evaluate.unevaluated_event_ids(conn, older_than_seconds=LOST_EVENT_AFTER, limit=limit)
    if ids:
        log.warning("sweeping %d unevaluated event(s)", len(ids))
        evaluate_events.run(ids)
    with engine.begin() as conn:
        evaluate.forget_expired_cooldowns(conn, get_settings().alert_cooldown)
    return len(ids)


@app.task(name=tasknames.SEND_NOTIFICATIONS, bind=True, acks_late=True,
          soft_time_limit=SEND_SOFT_LIMIT, time_limit=SEND_HARD_LIMIT, **retry_policy(max_retries=8))
def send_notifications(self, notification_ids: list[int], retried: bool = False) -> dict[str, int]:
    """Send what these outbox rows owe; SES throttling puts them back and retries with backoff."""
    delay = backoff(self.request.retries)
    outcome = send.send_notifications(notification_ids, ignore_send_after=retried, retry_in=delay)
    if outcome.retry_ids:
        try:
            raise self.retry(args=[outcome.retry_ids], kwargs={"retried": True}, countdown=delay)
        except MaxRetriesExceededError:
            log.warning("giving %d notification(s) to the sweeper after %d retries: %s",
                        len(outcome.retry_ids), self.request.retries, outcome.retry_error)
    return {"sent": len(outcome.sent), "failed": len(outcome.failed), "suppressed": len(outcome.suppressed),
            "retry": len(outcome.retry_ids), "messages": outcome.messages}


@periodic(tasknames.SWEEP_OUTBOX, every=SWEEP_OUTBOX_EVERY, bind=True, acks_late=True, soft_time_limit=60,
          time_limit=90, **retry_policy())
def sweep_outbox(self, limit: int = 10000) -> int:
    """Re-enqueue rows a lost message left pending, and free rows a dead worker left sending."""
    with get_engine().begin() as conn:
        freed = conn.execute(sa.text(
            """
            UPDATE notifications SET status = 'pending', updated_at = pricehound_now(),
                   last_error = coalesce(last_error, 'worker lost while sending')
             WHERE status = 'sending' AND sending_started_at < pricehound_now() - CAST(:stuck AS interval)
            """), {"stuck": timedelta(seconds=STUCK_SENDING_AFTER)}).rowcount
        ids = [int(i) for i in conn.execute(sa.text(
            """
            SELECT id FROM notifications
             WHERE status = 'pending' AND send_after < pricehound_now() - CAST(:lost AS interval)
             ORDER BY user_id, id LIMIT :limit
            """), {"lost": timedelta(seconds=LOST_PENDING_AFTER), "limit": limit}).scalars()]
    if freed:
        log.warning("%d notification(s) were stuck sending; back to pending", freed)
    if ids:
        log.warning("re-enqueueing %d pending notification(s)", len(ids))
        outbox.enqueue_send(ids)
    return len(ids)


@periodic(tasknames.RELEASE_HELD, every=RELEASE_HELD_EVERY, bind=True, acks_late=True, soft_time_limit=60,
          time_limit=90, **retry_policy())
def release_held(self, limit: int = 10000) -> int:
    """Hand the send path the rows quiet hours, a daily cap or a digest schedule held, once their
    time has come (the send path gathers each user's due rows into one message per channel)."""
    with get_engine().connect() as conn:
        due = noise.due_held_ids(conn, limit)
    if due:
        log.info("releasing %d held notification(s)", len(due))
        outbox.enqueue_send([i for i, _ in due], user_ids=[u for _, u in due])
    return len(due)


@periodic(tasknames.POLL_SES_EVENTS, every=POLL_SES_EVENTS_EVERY, bind=True, acks_late=True, soft_time_limit=50,
          time_limit=60, **retry_policy())
def poll_ses_events(self, max_batches: int = 10) -> int:
    """Bounces and complaints from the SES events queue become suppressions."""
    queue_url = get_settings().ses_events_queue_url
    if not queue_url:
        return 0
    return bounces.poll_queue(queue_url, max_batches=max_batches)
