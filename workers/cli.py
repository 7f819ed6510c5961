"""Scheduler commands: `pricehound crawl STORE [--now]` and the schedule part of `pricehound status`.

    pricehound crawl acme          # dispatch acme's due targets now, without waiting for beat
    pricehound crawl acme --now    # every watched target of acme, due or not, in one run
    pricehound status              # counts, then per store: due, leased, running, breaker; queues
"""

from __future__ import annotations

import argparse
import json
import logging

from pricehound import catalog
from pricehound.config import get_settings

log = logging.getLogger("pricehound.cli")

EXIT_OK, EXIT_FAILED = 0, 1


def _engine():
    from pricehound.db import get_engine

    return get_engine(get_settings())


def cmd_crawl(args: argparse.Namespace) -> int:
    """Lease the store's targets into one run and enqueue its crawl task, bypassing the
    breaker's pause (an operator asking is the retry); refuse while a crawl holds the store."""
    import sqlalchemy as sa

    from workers import schedule

    settings = get_settings()
    engine = _engine()
    with engine.connect() as conn:
        store = catalog.get_store(conn, args.store)
        state = conn.execute(
            sa.text("SELECT current_run_id, crawl_leased_by, paused_until > pricehound_now() AS paused, paused_until, "
                    "crawl_lease_until >= pricehound_now() AS busy FROM stores WHERE id = :id"), {"id": store.id},
        ).one()
    if not store.active:
        raise catalog.InputError(f"store {store.slug} is inactive; nothing is crawled there")
    if state.busy:
        print(f"store {store.slug} is busy: run {state.current_run_id} holds it ({state.crawl_leased_by}); "
              "try again when it finishes (`pricehound status`)")
        return EXIT_FAILED
    with engine.begin() as conn:
        runs = schedule.lease_due(conn, lease_seconds=settings.lease_seconds, store_id=store.id,
                                  everything=args.now, ignore_pause=True, max_batch=None)
    if not runs:
        what = "watched targets that are not already leased" if args.now else "due targets"
        print(f"store {store.slug}: no {what}" + ("" if args.now else " (--now takes every watched target)"))
        return EXIT_OK
    schedule.enqueue(runs, expires=settings.lease_seconds)
    run = runs[0]
    paused = f" (its pause until {state.paused_until:%H:%M:%S} was overridden)" if state.paused else ""
    print(f"store {store.slug}: run {run.run_id} queued with {run.requested} targets{paused}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Counts, the schedule per store and the queue depths (the queues may be unreachable while
    the database answers: that is shown, not fatal)."""
    from alerts import disputes
    from pipelines import held
    from pricehound import status

    with _engine().connect() as conn:
        counts = status.counts(conn)
        stores, now = status.store_schedule(conn)
        held_runs = held.held_runs(conn)
        dispute_counts = disputes.per_store(conn)
    depths: dict[str, int] | None = None
    redis_error: str | None = None
    try:
        from pricehound.redisconn import get_redis

        depths = status.queue_depths(get_redis())
    except Exception as exc:  # noqa: BLE001 - any Redis trouble is reported, not raised
        redis_error = f"{type(exc).__name__}: {exc}"
    if args.json:
        print(json.dumps({**counts.__dict__, "store_schedule": [s.as_json() for s in stores],
                          "queues": depths, "queues_error": redis_error,
                          "held_runs": [{**r.__dict__, "finished_at": str(r.finished_at)} for r in held_runs],
                          "disputes": dispute_counts}))
        return EXIT_OK
    print(status.render(counts))
    print()
    print(status.render_schedule(stores, now))
    print()
    print(status.render_queues(depths, redis_error))
    print()
    print(held.render(held_runs))
    print()
    print(disputes.render(dispute_counts))
    return EXIT_OK


def cmd_runs_held(args: argparse.Namespace) -> int:
    from pipelines import held

    with _engine().connect() as conn:
        runs = held.held_runs(conn)
    if args.json:
        print(json.dumps([{**r.__dict__, "finished_at": str(r.finished_at)} for r in runs]))
        return EXIT_OK
    print(held.render(runs))
    return EXIT_OK


def cmd_runs_release(args: argparse.Namespace) -> int:
    from pipelines import handoff, held

    with _engine().begin() as conn:
        try:
            events = held.release(conn, args.run_id)
        except held.NotHeld as exc:
            raise catalog.InputError(str(exc)) from None
    handoff.publish_events(events, get_settings().alert_task)
    print(f"crawl run {args.run_id} released: {len(events)} changes applied and handed to the alerts")
    return EXIT_OK


def cmd_runs_discard(args: argparse.Namespace) -> int:
    from pipelines import held

    with _engine().begin() as conn:
        try:
            dropped = held.discard(conn, args.run_id)
        except held.NotHeld as exc:
            raise catalog.InputError(str(exc)) from None
    print(f"crawl run {args.run_id} discarded: the held readings of {dropped} listings dropped")
    return EXIT_OK


def register(subparsers) -> None:
    runs = subparsers.add_parser(
        "runs", help="crawl runs held as suspect: list them, release or discard one",
        description="A crawl run in which much of a store turned gone, sold out, unreadable or jumped in "
                    "price at once is held: nothing it read is confirmed until the store's next run "
                    "agrees. An operator can decide earlier.")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    p = runs_sub.add_parser("held", help="list held runs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_runs_held)
    p = runs_sub.add_parser("release", help="apply a held run's readings now (and alert them)")
    p.add_argument("run_id", type=int)
    p.set_defaults(handler=cmd_runs_release)
    p = runs_sub.add_parser("discard", help="drop a held run's readings")
    p.add_argument("run_id", type=int)
    p.set_defaults(handler=cmd_runs_discard)

    p = subparsers.add_parser(
        "crawl", help="crawl a store now: dispatch its due targets (or all with --now) to the workers",
        description="Lease the store's due targets (all watched targets with --now) into one crawl run "
                    "and enqueue it for a worker (`celery -A workers worker`). Overrides the store's "
                    "failure pause; refuses while another crawl of the store is running.",
    )
    p.add_argument("store", help="store slug (`pricehound stores list`)")
    p.add_argument("--now", action="store_true", help="every watched target, due or not")
    p.set_defaults(handler=cmd_crawl)

    status_parser = subparsers.choices.get("status")
    if status_parser is not None:
        status_parser.description = ("Counts; per store the due and leased targets, the running crawl, "
                                     "the last outcome and the circuit breaker; the depth of each queue.")
        status_parser.set_defaults(handler=cmd_status)
