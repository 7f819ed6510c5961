"""`pricehound run`: the whole of pricehound on one machine, as one long-running command.

Starts (or attaches to) PostgreSQL and Redis, brings the schema up to date, then supervises a
Celery worker, the one beat and the HTTP service until SIGINT/SIGTERM. For more than one
machine, run those three with their own commands instead (README: Running it for real).
"""

from __future__ import annotations

import argparse
import logging
import os

log = logging.getLogger("pricehound.run")


def cmd_run(args: argparse.Namespace) -> int:
    from pricehound import embedded, supervisor
    from pricehound.config import get_settings
    from pricehound.db import apply_schema, get_engine

    settings = embedded.resolve(get_settings())
    version = apply_schema(get_engine(settings))
    log.info("database ready (schema version %s); redis %s", version, settings.redis_url)
    env = {**os.environ, **embedded.export_urls(settings)}
    specs = supervisor.worker_specs(crawl_concurrency=args.concurrency)
    if not args.no_beat:
        specs.append(supervisor.beat_spec(settings.data_dir))
    if not args.no_web:
        specs.append(supervisor.web_spec(args.host or settings.http_host, args.port or settings.http_port))
    sup = supervisor.Supervisor(specs, env, grace=args.grace)
    sup.start()
    log.info("running %s; Ctrl-C or SIGTERM stops everything", ", ".join(s.name for s in specs))
    return supervisor.run_until_signalled(sup)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run worker, beat and the HTTP service together on this machine",
                       description="Long-running single-machine mode: a Celery worker on every queue, the "
                                   "one beat, and the HTTP service, restarted if they die, stopped cleanly "
                                   "on SIGTERM. Uses DATABASE_URL/REDIS_URL or the embedded servers.")
    p.add_argument("--concurrency", type=int, default=2, help="crawls at once (different stores) (default: 2)")
    p.add_argument("--host", help="HTTP address (default: PRICEHOUND_HTTP_HOST)")
    p.add_argument("--port", type=int, help="HTTP port (default: PRICEHOUND_HTTP_PORT)")
    p.add_argument("--no-beat", action="store_true", help="do not run beat (another machine runs it)")
    p.add_argument("--no-web", action="store_true", help="do not run the HTTP service")
    p.add_argument("--grace", type=float, default=30.0, help="seconds children get to stop before SIGKILL")
    p.set_defaults(handler=cmd_run)
