"""Scheduler commands: `pricehound crawl STORE [--now]`, `explain`, `runs` (the schedule part of
`pricehound status` is pricehound/status.py, shown by the one `status` in pricehound/cli.py).

    pricehound crawl acme          # dispatch acme's due targets now, without waiting for beat
    pricehound crawl acme --now    # every watched target of acme, due or not, in one run
    pricehound crawl acme --now --wait   # ... crawled now, then what each page read as, events, alerts
    pricehound explain 42          # one listing's last observations, events and alerts
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
    breaker's pause (an operator asking is the retry); refuse while a crawl holds the store.
    With --wait, crawl it through the worker's path (a worker's, or inline) and report."""
    import sqlalchemy as sa

    from workers import schedule

    settings = get_settings()
    engine = _engine()
    as_json = getattr(args, "json", False)
    with engine.connect() as conn:
        store = catalog.get_store(conn, args.store)
        state = conn.execute(
            sa.text("SELECT current_run_id, crawl_leased_by, paused_until > pricehound_now() AS paused, paused_until, "
                    "paused_at IS NOT NULL AS operator_paused, "
                    "crawl_lease_until >= pricehound_now() AS busy FROM stores WHERE id = :id"), {"id": store.id},
        ).one()
    if not store.active:
        raise catalog.InputError(f"store {store.slug} is inactive; nothing is crawled there")
    if state.operator_paused:
        raise catalog.InputError(f"store {store.slug} is paused by an operator; "
                                 f"`pricehound stores resume {store.slug}` first")
    if state.busy:
        message = (f"store {store.slug} is busy: run {state.current_run_id} holds it ({state.crawl_leased_by}); "
                   "try again when it finishes (`pricehound status`)")
        print(json.dumps({"run": None, "busy": True, "message": message}) if as_json else message)
        return EXIT_FAILED
    with engine.begin() as conn:
        runs = schedule.lease_due(conn, lease_seconds=settings.lease_seconds, store_id=store.id,
                                  everything=args.now, ignore_pause=True, max_batch=None)
    if not runs:
        what = "watched targets that are not already leased" if args.now else "due targets"
        message = f"store {store.slug}: no {what}" + ("" if args.now else " (--now takes every watched target)")
        print(json.dumps({"run": None, "busy": False, "message": message}) if as_json else message)
        return EXIT_OK
    run = runs[0]
    paused = f" (its pause until {state.paused_until:%H:%M:%S} was overridden)" if state.paused else ""
    if args.wait:
        from workers import follow

        if not as_json:
            print(f"store {store.slug}: run {run.run_id} with {run.requested} targets{paused}; crawling...",
                  flush=True)
        report = follow.crawl_and_wait(engine, settings, run.run_id)
        print(follow.dumps(report.as_json()) if as_json else follow.render(report))
        return EXIT_OK if report.run["status"] == "succeeded" else EXIT_FAILED
    schedule.enqueue(runs, expires=settings.lease_seconds)
    if as_json:
        print(json.dumps({"run": run.run_id, "store": store.slug, "queued": run.requested,
                          "pause_overridden": bool(state.paused)}))
    else:
        print(f"store {store.slug}: run {run.run_id} queued with {run.requested} targets{paused}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """A listing's last observations, events and the alerts they made, with the rules behind them."""
    from workers import follow

    settings = get_settings()
    with _engine().connect() as conn:
        listing_id = follow.find_listing(conn, args.listing)
        found = follow.explain(conn, listing_id, cooldown_seconds=settings.alert_cooldown, rows=args.events)
    print(follow.dumps(follow.explain_json(found)) if args.json else follow.render_explain(found))
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
                    "and enqueue it for a worker (`celery -A workers worker`); with --wait, crawl it now "
                    "(by a worker if one listens on the crawl queue, else in this process) and report each "
                    "page's observation, the events and the alerts owed. Overrides the store's failure "
                    "pause; refuses while another crawl of the store is running.",
    )
    p.add_argument("store", help="store slug (`pricehound stores list`)")
    p.add_argument("--now", action="store_true", help="every watched target, due or not")
    p.add_argument("--wait", action="store_true",
                   help="crawl it now (by a worker if one is up, else in this process), then print each "
                        "page's observation, the events written and the alerts owed")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_crawl)

    p = subparsers.add_parser(
        "explain", help="why a listing shows what it shows: its last observations, events and alerts",
        description="A listing's current state, its last observations (what each page read as and the "
                    "rules that decided), its events and the alerts they made or did not make, and why.",
    )
    p.add_argument("listing", help="listing id or product page URL")
    p.add_argument("--events", type=int, default=10, help="how many recent events (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_explain)
