"""`pricehound channels ...` and `pricehound noise`: a user's alert channels and noise settings."""

from __future__ import annotations

import argparse
import json

from pricehound import catalog
from pricehound.config import get_settings
from pricehound.db import get_engine


def _user(conn, email: str) -> int:
    return catalog.user_id_for_email(conn, email)


def _line(c) -> str:
    kinds = ",".join(c.alert_kinds) if c.alert_kinds else "none"
    extra = f"  last error: {c.last_error}" if c.last_error else ""
    return f"{c.id:>6}  {c.kind:<8} {c.status:<10} {c.shown_target():<40} kinds={kinds}{extra}"


def cmd_add(args: argparse.Namespace) -> int:
    from alerts import channels

    engine = get_engine(get_settings())
    with engine.begin() as conn:
        channel, secret = channels.add_channel(conn, _user(conn, args.email), args.kind, args.target, label=args.label,
                                               alert_kinds=args.kinds)
    print(f"added {channel.kind} channel {channel.id} ({channel.status})")
    if secret:
        print(f"signing secret (shown once; verify X-Pricehound-Signature with it): {secret}")
    if args.test and channel.kind != "email":
        return _test(engine, channel.user_id, channel.id)
    if channel.kind != "email":
        print(f"send it a test message before alerts flow: pricehound channels test --email {args.email} {channel.id}")
    return 0


def _test(engine, user_id: int, channel_id: int) -> int:
    from alerts import channels

    result = channels.send_test(engine, user_id, channel_id)
    if not result.delivered:
        print(f"test message to channel {channel_id} failed: {result.error}")
        print("fix the endpoint and run `pricehound channels test` again")
        return 1
    if result.needs_code:
        print(f"test message sent to channel {channel_id}; confirm with the code it carries: "
              f"pricehound channels confirm --email EMAIL {channel_id} CODE")
    else:
        print(f"channel {channel_id} verified: alerts flow to it")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    engine = get_engine(get_settings())
    with engine.connect() as conn:
        user_id = _user(conn, args.email)
    return _test(engine, user_id, args.id)


def cmd_confirm(args: argparse.Namespace) -> int:
    from alerts import channels

    with get_engine(get_settings()).begin() as conn:
        channel = channels.confirm(conn, _user(conn, args.email), args.id, args.code)
    print(f"channel {channel.id} verified: alerts flow to it")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from alerts import channels

    with get_engine(get_settings()).connect() as conn:
        found = channels.list_channels(conn, _user(conn, args.email))
    if args.json:
        print(json.dumps([c.public() for c in found]))
        return 0
    if not found:
        print(f"{args.email}: no channels besides the account's email (which gets every alert kind)")
    for c in found:
        print(_line(c))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from alerts import channels

    with get_engine(get_settings()).begin() as conn:
        channel = channels.remove_channel(conn, _user(conn, args.email), args.id)
    print(f"removed {channel.kind} channel {channel.id}")
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from alerts import channels

    with get_engine(get_settings()).begin() as conn:
        channel = channels.route(conn, _user(conn, args.email), args.id, args.kinds)
    print(_line(channel))
    return 0


def cmd_noise(args: argparse.Namespace) -> int:
    from alerts import noise

    cap: int | None | str = "keep"
    if args.daily_cap is not None:
        cap = None if args.daily_cap.strip().lower() in ("none", "off", "0") else _int(args.daily_cap, "--daily-cap")
    with get_engine(get_settings()).begin() as conn:
        prefs = noise.set_prefs(conn, _user(conn, args.email), time_zone=args.time_zone, quiet=args.quiet,
                                daily_cap=cap, digest=args.digest, digest_hour=args.digest_hour)
    print(json.dumps(noise.describe(prefs)))
    return 0


def _int(text: str, flag: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise catalog.InputError(f"{flag} takes a whole number (or none), got {text!r}") from None


def _id(text: str) -> int:
    value = int(text)
    if not 1 <= value <= catalog.MAX_ID:
        raise argparse.ArgumentTypeError("a channel id is a positive number (see `channels list`)")
    return value


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("channels", help="a user's alert channels: webhooks, Apprise URLs, email routing",
                              description="Channels besides the account's email. A webhook or Apprise channel gets "
                                          "alerts once a test message verified it.")
    sub = p.add_subparsers(dest="channels_command", metavar="COMMAND")

    q = sub.add_parser("add", help="add a webhook, Apprise or email-routing channel (unverified until tested)")
    q.add_argument("--email", required=True, help="the user's account email")
    q.add_argument("--kind", required=True, choices=("webhook", "apprise", "email"))
    q.add_argument("--target", help="webhook URL (https://...) or Apprise URL (ntfy://ntfy.sh/topic, tgram://...); "
                                    "none for email")
    q.add_argument("--label", help="a name to tell channels apart")
    q.add_argument("--kinds", help="alert kinds routed here, comma-separated (default all; 'none' pauses it)")
    q.add_argument("--test", action="store_true", help="send the test message right away")
    q.set_defaults(handler=cmd_add)

    q = sub.add_parser("list", help="a user's channels, their status and routing")
    q.add_argument("--email", required=True)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_list)

    q = sub.add_parser("test", help="send a channel its test message (a webhook answering 2xx is verified)")
    q.add_argument("--email", required=True)
    q.add_argument("id", type=_id)
    q.set_defaults(handler=cmd_test)

    q = sub.add_parser("confirm", help="confirm an Apprise channel with the code its test message carried")
    q.add_argument("--email", required=True)
    q.add_argument("id", type=_id)
    q.add_argument("code")
    q.set_defaults(handler=cmd_confirm)

    q = sub.add_parser("route", help="choose which alert kinds go to a channel")
    q.add_argument("--email", required=True)
    q.add_argument("id", type=_id)
    q.add_argument("--kinds", required=True, help="comma-separated alert kinds, 'all' or 'none'")
    q.set_defaults(handler=cmd_route)

    q = sub.add_parser("remove", help="remove a channel (and what it still owed)")
    q.add_argument("--email", required=True)
    q.add_argument("id", type=_id)
    q.set_defaults(handler=cmd_remove)

    n = subparsers.add_parser("noise", help="a user's time zone, quiet hours, daily cap and digest schedule",
                              description="Show (and with options, change) when a user hears from pricehound.")
    n.add_argument("--email", required=True)
    n.add_argument("--time-zone", help="IANA name, e.g. Europe/Berlin")
    n.add_argument("--quiet", help="quiet hours HH:MM-HH:MM in the user's zone, or off")
    n.add_argument("--daily-cap", help="alerts told at once per day (the rest wait for the digest), or none")
    n.add_argument("--digest", choices=("immediate", "hourly", "daily", "weekly"))
    n.add_argument("--digest-hour", type=int, help="hour (0-23) of the daily/weekly digest and of capped alerts")
    n.set_defaults(handler=cmd_noise)
    return p
