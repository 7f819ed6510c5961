"""Operators' commands, for people and for scripts.

    pricehound users list [--json]              pricehound users disable|enable EMAIL
    pricehound stores pause|resume SLUG         pricehound stores remove SLUG --yes
    pricehound watch list [--email E] [--store S] [--json]
    pricehound watch remove ID... [--email E]   pricehound watch import FILE --email E
    pricehound history export [--store S] [--listing ID] [--since T] [--until T] [--format csv|jsonl]
    pricehound completion bash                  the shell completion snippet (argcomplete)

They join the kernel's `users`, `stores` and `watch` groups (built in pricehound/cli.py). Every
list command takes --json and then prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pricehound import catalog, operators
from pricehound.config import get_settings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _engine():
    from pricehound.db import get_engine

    return get_engine(get_settings())


def action_group(subparsers: Any, name: str, help_text: str) -> Any:
    """The ACTION subparsers of the top-level command ``name``, made if no module made it yet,
    so two modules can each add actions to one command (`history export` beside others)."""
    parser = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=help_text)
        return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its subparsers here
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def _print_json_lines(rows: list[Any]) -> None:
    from dataclasses import asdict

    for row in rows:
        print(json.dumps(operators.jsonable(asdict(row))))


# -- users --------------------------------------------------------------------------------------

def cmd_users_list(args: argparse.Namespace) -> int:
    with _engine().connect() as conn:
        users = operators.list_users(conn, status=args.status, admins_only=args.admins)
    if args.json:
        _print_json_lines(users)
        return EXIT_OK
    if not users:
        print("no users" + (" match" if args.status or args.admins else " yet: add one with "
                            "`pricehound users add --email ADDRESS`"))
        return EXIT_OK
    print(f"{'id':>6}  {'email':<32} {'status':<9} {'type':<8} {'verified':<9} {'watches':>7}")
    for u in users:
        flags = "  admin" if u.is_admin else ""
        print(f"{u.id:>6}  {u.email:<32} {u.status:<9} {u.account_type:<8} "
              f"{'yes' if u.verified_at else 'no':<9} {u.watches:>7}{flags}")
    return EXIT_OK


def _cmd_users_status(args: argparse.Namespace, status: str) -> int:
    with _engine().begin() as conn:
        user_id, before, sessions = operators.set_user_status(conn, args.email, status)
    address = catalog.parse_email(args.email)
    if before == status:
        print(f"user {user_id} <{address}> was already {status}")
    elif status == "disabled":
        print(f"user {user_id} <{address}> disabled: no more emails; {sessions} session(s) ended")
    else:
        print(f"user {user_id} <{address}> enabled: alerts go out again")
    return EXIT_OK


def cmd_users_disable(args: argparse.Namespace) -> int:
    return _cmd_users_status(args, "disabled")


def cmd_users_enable(args: argparse.Namespace) -> int:
    return _cmd_users_status(args, "active")


def cmd_users_admin(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        user_id = catalog.user_id_for_email(conn, args.email)
        operators.set_admin(conn, user_id, not args.revoke)
    address = catalog.parse_email(args.email)
    print(f"user {user_id} <{address}> " + ("may no longer open /admin" if args.revoke else "may open /admin"))
    return EXIT_OK


# -- stores -------------------------------------------------------------------------------------

def cmd_stores_pause(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        store, was_running = operators.pause_store(conn, args.slug, args.reason)
    print(f"store {store.slug} paused: no crawl is dispatched until `pricehound stores resume {store.slug}`"
          if was_running else f"store {store.slug} was already paused")
    return EXIT_OK


def cmd_stores_resume(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        store, was_paused = operators.resume_store(conn, args.slug)
    print(f"store {store.slug} resumed: due pages are dispatched again"
          if was_paused else f"store {store.slug} was not paused")
    return EXIT_OK


def cmd_stores_remove(args: argparse.Namespace) -> int:
    engine = _engine()
    if not args.yes:
        with engine.connect() as conn:
            store = catalog.get_store(conn, args.slug)
            contents = operators.store_contents(conn, store)
        print(f"removing store {store.slug} would delete {contents.describe()}. Nothing was deleted: "
              f"run `pricehound stores remove {store.slug} --yes` to remove it", file=sys.stderr)
        return EXIT_BAD_INPUT
    with engine.begin() as conn:
        store, contents = operators.remove_store(conn, args.slug)
    print(f"store {store.slug} removed with {contents.describe()}")
    return EXIT_OK


# -- watches ------------------------------------------------------------------------------------

def cmd_watch_list(args: argparse.Namespace) -> int:
    active = True if args.active else False if args.paused else None
    with _engine().connect() as conn:
        watches = operators.list_watches(conn, email=args.email, store=args.store, active=active,
                                         limit=args.limit)
    if args.json:
        _print_json_lines(watches)
        return EXIT_OK
    if not watches:
        print("no watches match")
        return EXIT_OK
    print(f"{'id':>6}  {'email':<28} {'store':<14} {'target':>10} {'price':>12}  url")
    for w in watches:
        price = f"{w.price} {w.currency}" if w.price is not None else "-"
        target = str(w.target_price) if w.target_price is not None else "-"
        paused = "" if w.active else "  (paused)"
        print(f"{w.id:>6}  {w.email:<28} {(w.store or 'any'):<14} {target:>10} {price:>12}  {w.url or '-'}{paused}")
    return EXIT_OK


def cmd_watch_remove(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        removed = operators.remove_watches(conn, args.ids, email=args.email)
    wanted = sorted({catalog.parse_id(i, "watch id") for i in args.ids})
    missing = [i for i in wanted if i not in removed]
    if removed:
        print(f"removed watch{'es' if len(removed) > 1 else ''} {', '.join(map(str, removed))}")
    if missing:
        whose = f" of {catalog.parse_email(args.email)}" if args.email else ""
        print(f"no watch{whose} with id {', '.join(map(str, missing))} (`pricehound watch list` shows them)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def cmd_watch_import(args: argparse.Namespace) -> int:
    """Read the file, try every line in one transaction, then commit per the rule in
    operators.import_watches (all or nothing, unless --keep-valid)."""
    from pathlib import Path

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise catalog.InputError(f"cannot read {args.file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise catalog.InputError(f"{args.file} is not UTF-8 text") from None
    lines = operators.read_import(text)
    if not lines:
        raise catalog.InputError(f"{args.file} holds no URLs")
    engine = _engine()
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            report = operators.import_watches(conn, email=args.email, lines=lines, list_name=args.list,
                                              keep_valid=args.keep_valid, dry_run=args.dry_run)
        except BaseException:
            trans.rollback()
            raise
        if report.written:
            trans.commit()
        else:
            trans.rollback()
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        for r in report.results:
            print(f"line {r.line}: {'accepted' if r.accepted else 'refused'}: {r.reason}"
                  + ("" if r.accepted else f" ({r.url})" if r.url else ""))
        if report.written:
            outcome = f"{report.accepted} watches written" + (
                f"; {report.refused} lines refused and skipped" if report.refused else "")
        elif args.dry_run:
            outcome = "dry run: nothing written"
        elif report.refused:
            outcome = (f"nothing written: {report.refused} of {len(report.results)} lines refused; fix them, "
                       "or write the accepted lines with --keep-valid")
        else:
            outcome = "nothing written"
        print(outcome)
    if report.refused and not report.written:
        return EXIT_BAD_INPUT
    return EXIT_OK


# -- history ------------------------------------------------------------------------------------

def cmd_history_export(args: argparse.Namespace) -> int:
    from pricehound import history_export

    since = history_export.parse_when(args.since, "--since")
    until = history_export.parse_when(args.until, "--until")
    out = sys.stdout if args.output in (None, "-") else None
    with _engine().connect() as conn:
        records = history_export.rows(conn, store=args.store, listing_ids=args.listing, since=since, until=until)
        first = next(records, None)  # the filters are checked (an unknown store refused) before a file is made
        if out is None:
            out = open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        progress = _progress if sys.stderr.isatty() else None
        try:
            count = history_export.write(out, args.format, _chain(first, records), progress=progress)
        finally:
            if out is not sys.stdout:
                out.close()
    where = "" if out is sys.stdout else f" to {args.output}"
    print(f"{chr(13) if progress else ''}exported {count} history rows{where}", file=sys.stderr)
    return EXIT_OK


def _progress(count: int) -> None:
    print(f"\rexported {count} rows...", end="", file=sys.stderr, flush=True)


def _chain(first: Any, rest: Any) -> Any:
    if first is not None:
        yield first
    yield from rest


# -- metrics and health ---------------------------------------------------------------------------

def cmd_beat_health(args: argparse.Namespace) -> int:
    """Exit 0 while beat's heartbeat is fresh, 1 when it is old, missing or unreadable."""
    from pricehound import heartbeat
    from pricehound.redisconn import get_redis

    settings = get_settings()
    max_age = args.max_age if args.max_age is not None else heartbeat.default_max_age(settings.beat_interval)
    try:
        age = heartbeat.age(get_redis(settings))
    except Exception as exc:  # noqa: BLE001 - unreachable Redis: beat cannot work either
        print(f"beat: unknown, Redis did not answer ({type(exc).__name__}: {exc})", file=sys.stderr)
        return EXIT_FAILED
    if age is None:
        print("beat: no heartbeat; is `celery -A workers beat` running?", file=sys.stderr)
        return EXIT_FAILED
    if age > max_age:
        print(f"beat: last heartbeat {age:.0f}s ago (more than {max_age:.0f}s): beat is down or stuck",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"beat: alive, last heartbeat {age:.1f}s ago")
    return EXIT_OK


def cmd_metrics_show(args: argparse.Namespace) -> int:
    from prometheus_client import generate_latest

    from pricehound import metrics
    from pricehound.redisconn import get_redis

    print(generate_latest(metrics.registry(_engine(), get_redis())).decode(), end="")
    return EXIT_OK


def cmd_metrics_serve(args: argparse.Namespace) -> int:
    """Serve /metrics for Prometheus until stopped (Ctrl-C or SIGTERM)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app

    from pricehound import metrics
    from pricehound.redisconn import get_redis

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    app = make_wsgi_app(metrics.registry(_engine(), get_redis()))
    with make_server(args.host, args.port, app, handler_class=Quiet) as server:
        print(f"metrics on http://{args.host}:{server.server_port}/metrics", flush=True)
        server.serve_forever()
    return EXIT_OK


# -- completion ---------------------------------------------------------------------------------

def cmd_completion(args: argparse.Namespace) -> int:
    try:
        import argcomplete
    except ImportError:
        print("pricehound: shell completion needs argcomplete: pip install 'pricehound[completion]'",
              file=sys.stderr)
        return EXIT_FAILED
    print(argcomplete.shellcode(["pricehound"], shell=args.shell))
    return EXIT_OK


# -- parser -------------------------------------------------------------------------------------

def register(sub: Any) -> None:
    users = action_group(sub, "users", "add and list the users who receive alerts")
    p = users.add_parser("list", help="list users: status, verified, watches, admin")
    p.add_argument("--status", choices=("active", "disabled"), help="only users with this status")
    p.add_argument("--admins", action="store_true", help="only users marked admin")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=cmd_users_list)
    p = users.add_parser("disable", help="stop every email to a user and end their sessions")
    p.add_argument("email")
    p.set_defaults(handler=cmd_users_disable)
    p = users.add_parser("enable", help="undo `users disable`")
    p.add_argument("email")
    p.set_defaults(handler=cmd_users_enable)

    p = users.add_parser("admin", help="let a user open the operator's page (/admin), or --revoke it")
    p.add_argument("email")
    p.add_argument("--revoke", action="store_true", help="take the admin flag away")
    p.set_defaults(handler=cmd_users_admin)

    stores = action_group(sub, "stores", "add and list the stores pricehound crawls")
    p = stores.add_parser("pause", help="stop dispatching crawls of a store until resumed (shown in status)")
    p.add_argument("slug", help="the store (`pricehound stores list`)")
    p.add_argument("--reason", help="a note for other operators (shown on /admin)")
    p.set_defaults(handler=cmd_stores_pause)
    p = stores.add_parser("resume", help="dispatch a paused store again")
    p.add_argument("slug")
    p.set_defaults(handler=cmd_stores_resume)
    p = stores.add_parser("remove", help="delete a store with its listings, history, events, watches and runs",
                          description="Without --yes, says what would be deleted and deletes nothing (exit 2).")
    p.add_argument("slug")
    p.add_argument("--yes", action="store_true", help="really delete it")
    p.set_defaults(handler=cmd_stores_remove)

    watch = action_group(sub, "watch", "watch a product page for a user")
    p = watch.add_parser("list", help="list watches with their store, target and current price")
    p.add_argument("--email", help="only this user's watches")
    p.add_argument("--store", help="only watches of this store's pages")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--active", action="store_true", help="only active watches")
    state.add_argument("--paused", action="store_true", help="only paused watches")
    p.add_argument("--limit", type=int, help="at most this many")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=cmd_watch_list)
    p = watch.add_parser("remove", help="stop watches by id (`watch list` shows ids)")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--email", help="only if the watch is this user's")
    p.set_defaults(handler=cmd_watch_remove)
    p = watch.add_parser(
        "import", help="watch many URLs for one user from a file (URLs, or CSV with url,target,kinds)",
        description="Each line is accepted or refused with a reason. All lines are checked in one "
                    "transaction; if any is refused nothing is written (exit 2) unless --keep-valid, "
                    "which writes the accepted lines. A CSV needs a header naming url (target and kinds "
                    "optional; kinds separated by ; or |); otherwise each line is one URL. "
                    "Blank lines and lines starting with # are skipped.")
    p.add_argument("file", help="the file, or - for standard input")
    p.add_argument("--email", required=True, help="the watcher (must exist)")
    p.add_argument("--list", default=catalog.DEFAULT_LIST_NAME, help="shopping list name (default: Watching)")
    p.add_argument("--keep-valid", action="store_true", help="write the accepted lines even if others are refused")
    p.add_argument("--dry-run", action="store_true", help="check every line, write nothing")
    p.add_argument("--json", action="store_true", help="print the per-line report as one JSON object")
    p.set_defaults(handler=cmd_watch_import)

    history = action_group(sub, "history", "the price history: export it")
    p = history.add_parser("export", help="stream price history rows as CSV or JSON lines",
                           description="Rows of price_history_log (one per change of price or stock), "
                                       "oldest first, read through a server-side cursor so memory stays flat.")
    p.add_argument("--store", help="only this store's listings")
    p.add_argument("--listing", action="append", metavar="ID", help="only this listing (repeatable)")
    p.add_argument("--since", help="from this time on (ISO date/time, UTC unless given; or 7d, 12h ago)")
    p.add_argument("--until", help="before this time (same forms)")
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="default: csv")
    p.add_argument("-o", "--output", help="write to this file (default: standard output)")
    p.set_defaults(handler=cmd_history_export)

    beat = action_group(sub, "beat", "beat's health")
    p = beat.add_parser("health", help="exit 0 while beat writes its heartbeat, 1 when it is old or missing",
                        description="For container health checks: reads the heartbeat beat writes into Redis.")
    p.add_argument("--max-age", type=float, metavar="SECONDS",
                   help="oldest acceptable heartbeat (default: 6 dispatch ticks, at least 60 s)")
    p.set_defaults(handler=cmd_beat_health)

    metrics = action_group(sub, "metrics", "Prometheus metrics of the whole cluster")
    p = metrics.add_parser("serve", help="serve /metrics for Prometheus (the workers' exporter)",
                           description="Figures are read from PostgreSQL and Redis at each scrape, so one "
                                       "exporter reports the whole cluster; run one, anywhere.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=9108, help="port (default: 9108)")
    p.set_defaults(handler=cmd_metrics_serve)
    p = metrics.add_parser("show", help="print the metrics once, as Prometheus reads them")
    p.set_defaults(handler=cmd_metrics_show)

    p = sub.add_parser("completion", help="print the shell completion snippet (needs argcomplete)",
                       description="eval \"$(pricehound completion bash)\" in ~/.bashrc completes commands "
                                   "and options.")
    p.add_argument("shell", nargs="?", default="bash", choices=("bash", "zsh", "fish", "tcsh"))
    p.set_defaults(handler=cmd_completion)
