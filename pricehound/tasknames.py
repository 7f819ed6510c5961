"""Every Celery task's name, stated once: the task's definition and every caller that enqueues
it by name (the crawl's hand-off, the outbox, the dispatcher, the settings' default) read it
here, so a renamed task cannot leave a caller publishing to a name nobody consumes. The first
word after ``pricehound.`` picks the queue (celeryconfig.task_routes)."""

from __future__ import annotations

DISPATCH_DUE = "pricehound.schedule.dispatch_due"
REFRESH_PRIORITIES = "pricehound.schedule.refresh_priorities"
PLAN_REVISITS = "pricehound.schedule.plan_revisits"
RUN_STORE_CRAWL = "pricehound.crawl.run_store_crawl"
EVALUATE_EVENTS = "pricehound.alerts.evaluate_events"
SWEEP_EVENTS = "pricehound.alerts.sweep_events"
SEND_NOTIFICATIONS = "pricehound.email.send_notifications"
SWEEP_OUTBOX = "pricehound.email.sweep_outbox"
POLL_SES_EVENTS = "pricehound.email.poll_ses_events"
RELEASE_HELD = "pricehound.email.release_held"
ENSURE_PARTITIONS = "pricehound.maintenance.ensure_partitions"
ARCHIVE_HISTORY = "pricehound.maintenance.archive_history"
REFRESH_PRICE_COMPARISON = "pricehound.maintenance.refresh_price_comparison"
REAP_RUNS = "pricehound.maintenance.reap_runs"
PRUNE_CRAWL_RUNS = "pricehound.maintenance.prune_crawl_runs"
