"""The Celery app: `celery -A workers worker` and `celery -A workers beat`.

Broker and everything shared by tasks come from pricehound's settings; with no REDIS_URL the
embedded Redis is started (or attached to) so a worker runs on a machine with nothing set up.
"""

from __future__ import annotations

from celery import Celery, signals

from pricehound.config import get_settings


def broker_url(redis_url: str) -> str:
    """kombu spells a Redis unix socket redis+socket:///path; redis-py spells it unix:///path."""
    if redis_url.startswith("unix://"):
        path, _, query = redis_url[len("unix://"):].partition("?")
        db = "0"
        for part in query.split("&"):
            if part.startswith("db="):
                db = part[3:]
        return f"redis+socket://{path}?virtual_host={db}"
    return redis_url


def redis_url() -> str:
    """The Redis URL for this process, starting the embedded Redis when none is configured."""
    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    from pricehound import embedded

    return embedded.redis_url(settings.data_dir)


app = Celery("pricehound", task_cls="workers.base:PricehoundTask")
app.config_from_object("celeryconfig")
# Lazy: the broker is resolved when the configuration is first read, so importing the app
# never starts a server.
app.add_defaults(lambda: {"broker_url": broker_url(redis_url())})



@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_a_weak_secret(**_: object) -> None:
    """Workers sign links in emails: a published, short or predictable secret stops them at start."""
    from pricehound.config import ConfigError

    try:
        get_settings().signing_secret  # noqa: B018 - the check is the point
    except ConfigError as exc:
        raise SystemExit(f"pricehound: configuration error: {exc}") from None


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_a_newer_schema(**_: object) -> None:
    """A worker or beat of an older release must not run against a database a newer release
    migrated (one cheap query at start)."""
    from pricehound.db import SchemaTooNew, check_schema, get_engine

    try:
        check_schema(get_engine(get_settings()))
    except SchemaTooNew as exc:
        raise SystemExit(f"pricehound: {exc}") from None


@signals.setup_logging.connect
def _configure_logging(**_: object) -> None:
    """Workers and beat log like the rest of pricehound: one readable line per event, at
    PRICEHOUND_LOG_LEVEL (connecting here also stops Celery installing its own handlers)."""
    from pricehound import logs

    logs.configure(get_settings().log_level)


__all__ = ["app", "broker_url", "redis_url"]
