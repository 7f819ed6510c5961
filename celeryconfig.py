"""Celery configuration for pricehound: broker, queues, routes, reliability and time limits.

The broker URL comes from pricehound's settings (REDIS_URL, or the embedded Redis), set on the
app in workers/__init__.py. Periodic tasks declare their beat entries beside the task they run
(``workers.beat.periodic``); this file holds what is common to every task.
"""

from __future__ import annotations

import importlib.util

from kombu import Queue

from pricehound.config import get_settings

# -- queues and routes: a task's name says which stage it belongs to --------------------------
task_queues = (
    Queue("schedule"),   # dispatch ticks and maintenance: short, frequent
    Queue("crawl"),      # one task per store batch; runs a Scrapy subprocess
    Queue("alerts"),     # events -> watches -> outbox rows
    Queue("email"),      # outbox rows -> SES
)
task_default_queue = "schedule"
task_routes = {
    "pricehound.schedule.*": {"queue": "schedule"},
    "pricehound.maintenance.*": {"queue": "schedule"},
    "pricehound.crawl.*": {"queue": "crawl"},
    "pricehound.alerts.*": {"queue": "alerts"},
    "pricehound.email.*": {"queue": "email"},
}

# -- reliability: a task is acknowledged only when it finished, and re-delivered if its worker
#    died; a worker reserves one task at a time so a long crawl never hides others behind it
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_acks_on_failure = True
task_acks_on_timeout = True
# Redis redelivers an unacknowledged message after the visibility timeout: it must exceed the
# longest task (a crawl's hard limit: PRICEHOUND_CRAWL_TIME_LIMIT plus the kill grace and the
# task's margins) or a running crawl would be handed to a second worker. Even then the crawl
# task's claim step refuses a run another live worker holds.
broker_transport_options = {"visibility_timeout": max(3600, get_settings().crawl_time_limit + 600)}
broker_connection_retry_on_startup = True
broker_connection_max_retries = None
worker_cancel_long_running_tasks_on_connection_loss = True

# -- serialisation and limits ------------------------------------------------------------------
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
task_ignore_result = True
task_soft_time_limit = 120
task_time_limit = 180
task_track_started = False
worker_max_tasks_per_child = 200
worker_hijack_root_logger = False
timezone = "UTC"
enable_utc = True

# -- beat: entries come from the tasks themselves (workers.beat.periodic); its state file lives
#    in the data directory, not wherever beat happened to be started
beat_schedule_filename = str(get_settings().data_dir / "celerybeat-schedule")
# Celery's persistent scheduler that also writes beat's heartbeat (`pricehound beat health`)
beat_scheduler = "workers.heartbeat:HeartbeatScheduler"

# -- task modules: each stage's tasks, loaded by every worker and by beat -----------------------
_TASK_MODULES = (
    "workers.schedule",
    "workers.crawl",
    "workers.maintenance",
    "alerts.tasks",
)
imports = tuple(m for m in _TASK_MODULES if importlib.util.find_spec(m) is not None)
