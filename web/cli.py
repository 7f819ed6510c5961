"""`pricehound serve` and `pricehound apikeys` (partner keys)."""

from __future__ import annotations

import argparse
import json
import logging

log = logging.getLogger("pricehound.web")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pricehound import logs
    from pricehound.config import get_settings
    from pricehound.db import apply_schema, get_engine

    settings = get_settings()
    host = args.host or settings.http_host
    port = args.port if args.port is not None else settings.http_port
    # the schema is idempotent: applying it at start means a fresh database just works
    apply_schema(get_engine(settings))
    log.info("serving on http://%s:%s (public URL %s)", host, port, settings.public_url)
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, workers=args.workers,
                proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
                log_level=settings.log_level.lower(), access_log=args.access_log,
                log_config=logs.uvicorn_config(settings.log_level))
    return 0


def _engine():
    from pricehound.config import get_settings
    from pricehound.db import get_engine

    return get_engine(get_settings())


def cmd_apikeys_create(args: argparse.Namespace) -> int:
    from web import apikeys

    with _engine().begin() as conn:
        record, key = apikeys.create_key(conn, args.name)
    print(f"API key {record.prefix} for {record.name} (shown once; store it now):")
    print(key)
    return 0


def cmd_apikeys_list(args: argparse.Namespace) -> int:
    from web import apikeys

    with _engine().connect() as conn:
        keys = apikeys.list_keys(conn)
    if args.json:
        for k in keys:
            print(json.dumps({"prefix": k.prefix, "name": k.name, "created_at": k.created_at.isoformat(),
                              "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                              "revoked": k.revoked_at is not None}))
        return 0
    if not keys:
        print("no API keys yet: create one with `pricehound apikeys create --name PARTNER`")
        return 0
    print(f"{'prefix':<10} {'state':<8} {'last used':<20} name")
    for k in keys:
        used = k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never"
        print(f"{k.prefix:<10} {'revoked' if k.revoked_at else 'active':<8} {used:<20} {k.name}")
    return 0


def cmd_apikeys_revoke(args: argparse.Namespace) -> int:
    from web import apikeys

    with _engine().begin() as conn:
        record = apikeys.revoke_key(conn, args.prefix)
    print(f"API key {record.prefix} ({record.name}) revoked")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP service (sign-up, watches, manage and unsubscribe pages)",
                       description="Serve the JSON API (/v1, docs at /docs), the pages behind email links "
                                   "and /healthz with uvicorn.")
    p.add_argument("--host", help="address to listen on (default: PRICEHOUND_HTTP_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: PRICEHOUND_HTTP_PORT, 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                   help="proxies whose X-Forwarded-For is trusted for client addresses (default: 127.0.0.1)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(handler=cmd_serve)

    keys = sub.add_parser("apikeys", help="partner API keys: create, list, revoke")
    keys_sub = keys.add_subparsers(dest="apikeys_command", metavar="ACTION", required=True)
    p = keys_sub.add_parser("create", help="create a key for a partner site (printed once)")
    p.add_argument("--name", required=True, help="who the key is for, e.g. the partner's site")
    p.set_defaults(handler=cmd_apikeys_create)
    p = keys_sub.add_parser("list", help="list keys (prefix, state, last use)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=cmd_apikeys_list)
    p = keys_sub.add_parser("revoke", help="revoke a key by its prefix")
    p.add_argument("prefix", help="the 8 characters after phk_ (or the whole key)")
    p.set_defaults(handler=cmd_apikeys_revoke)
