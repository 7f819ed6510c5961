"""`pricehound alerts ...`: run the alert stage's work by hand (ops, the demo, debugging)."""

from __future__ import annotations

import argparse
import json

import sqlalchemy as sa

from pricehound import catalog
from pricehound.config import get_settings
from pricehound.db import get_engine


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate every unevaluated event now, then say what is owed to whom (and, with
    --send-now, what became of it)."""
    from alerts import evaluate, outbox, report

    settings = get_settings()
    engine = get_engine(settings)
    with engine.connect() as conn:
        ids = evaluate.unevaluated_event_ids(conn, older_than_seconds=0, limit=args.limit)
    result = evaluate.evaluate_events(engine, ids, cooldown_seconds=settings.alert_cooldown,
                                      window_seconds=0 if args.send_now else settings.alert_batch_window)
    sent_line = None
    status = 0
    if result.notification_ids and not args.send_now:
        outbox.enqueue_send(result.notification_ids, countdown=settings.alert_batch_window,
                            user_ids=result.user_ids)
    if args.send_now:
        sent_line, status = _send_due(args.limit)
    with engine.connect() as conn:
        owed = report.owed(conn, result.notification_ids)
    if args.json:
        print(json.dumps({"events": result.events, "owed": [o.as_json() for o in owed],
                          "send": sent_line}))
        return status
    print(f"evaluated {result.events} event(s): {len(result.notification_ids)} notification(s)")
    for line in report.render_owed(owed):
        print(line)
    if sent_line:
        print(sent_line)
    return status


def _send_due(limit: int) -> tuple[str, int]:
    """Send every pending row that is due, in this process: a summary line and the exit code."""
    from alerts import send

    engine = get_engine()
    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(sa.text(
            "SELECT id FROM notifications WHERE status = 'pending' AND send_after <= pricehound_now() ORDER BY user_id, id "
            "LIMIT :n"), {"n": limit}).scalars()]
    outcome = send.send_notifications(ids)
    line = (f"sent {outcome.messages} email(s) for {len(outcome.sent)} notification(s); "
            f"{len(outcome.failed)} failed, {len(outcome.suppressed)} suppressed, {len(outcome.retry_ids)} to retry")
    return line, 1 if outcome.retry_ids or outcome.failed else 0


def cmd_send(args: argparse.Namespace) -> int:
    line, status = _send_due(args.limit)
    print(line)
    return status


def cmd_verify(args: argparse.Namespace) -> int:
    from alerts import optin, outbox

    with get_engine().begin() as conn:
        user_id = catalog.user_id_for_email(conn, args.email)
        notification = optin.request_verification(conn, user_id)
    if notification is None:
        print(f"{args.email} is verified already")
        return 0
    outbox.enqueue_send([notification])
    print(f"verification email queued for {args.email} (notification {notification})")
    return 0


def cmd_poll_bounces(args: argparse.Namespace) -> int:
    from alerts import bounces

    queue_url = get_settings().ses_events_queue_url
    if not queue_url:
        raise catalog.InputError("set PRICEHOUND_SES_EVENTS_QUEUE_URL to the SQS queue that receives SES events")
    print(f"suppressed {bounces.poll_queue(queue_url)} new address(es)")
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``alerts`` and its subcommands to the pricehound command line."""
    p = subparsers.add_parser("alerts", help="evaluate price events and send alert emails by hand")
    sub = p.add_subparsers(dest="alerts_command", metavar="COMMAND")

    q = sub.add_parser("evaluate", help="turn every unevaluated price event into outbox rows now")
    q.add_argument("--limit", type=int, default=100_000, help="at most this many events (default 100000)")
    q.add_argument("--send-now", action="store_true", help="skip the batch window and send in this process")
    q.add_argument("--json", action="store_true", help="print one JSON document: events and what is owed to whom")
    q.set_defaults(handler=cmd_evaluate)

    q = sub.add_parser("send", help="send every pending notification that is due, in this process")
    q.add_argument("--limit", type=int, default=1000, help="at most this many rows (default 1000)")
    q.set_defaults(handler=cmd_send)

    q = sub.add_parser("verify", help="email a user the link that confirms their address (double opt-in)")
    q.add_argument("--email", required=True)
    q.set_defaults(handler=cmd_verify)

    q = sub.add_parser("poll-bounces", help="read SES bounce/complaint events from SQS once")
    q.set_defaults(handler=cmd_poll_bounces)
    return p
