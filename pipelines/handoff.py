"""Hand new price events to the alert stage: the one place the crawl stage talks to Celery.

Called after each writer commit with the ids of the events that commit made. It sends the task
named by ``PRICEHOUND_ALERT_TASK`` (``pricehound.alerts.evaluate_events`` by default) by name,
so nothing here imports alert code. If the broker cannot be reached the events are not
lost: they are in PostgreSQL, and the alert stage's sweeper evaluates events nobody evaluated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pricehound import tasknames

DEFAULT_TASK = tasknames.EVALUATE_EVENTS
ALERTS_QUEUE = "alerts"
# Fail fast: a crawl must not stall on a dead broker; the sweeper is the safety net.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}

log = logging.getLogger("pricehound.handoff")


def publish_events(event_ids: Sequence[int], task_name: str = DEFAULT_TASK) -> bool:
    """Send ``task_name(event_ids)`` to the alerts queue; return whether the broker took it."""
    ids = [int(i) for i in event_ids]
    if not ids:
        return True
    try:
        from workers import app

        app.send_task(task_name, args=[ids], queue=ALERTS_QUEUE, retry=True,
                      retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # noqa: BLE001 - any broker failure is logged, never fatal
        log.error("could not hand %d price events to the alert stage (%s: %s); they stay in "
                  "price_events for the alert sweeper (first id %d)", len(ids), type(exc).__name__, exc, ids[0])
        return False
    log.info("handed %d price events to %s", len(ids), task_name)
    return True
