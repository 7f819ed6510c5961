# PYTHON_ARGCOMPLETE_OK
"""The `pricehound` command line.

The kernel's own commands live here (initdb, stores, users, watch, status). Each stage adds its
commands from a ``cli`` module of its own with ``register(subparsers)``, listed in
STAGE_COMMANDS, so a stage's commands sit beside the stage's code.

Exit codes: 0 done, 1 the work failed (a server unreachable, a crawl failed), 2 bad input
(nothing was written).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta

from pricehound import __version__, catalog
from pricehound.config import ConfigError, get_settings

log = logging.getLogger("pricehound.cli")

# Each stage module and the top-level commands its ``register`` adds: a command imports only the
# module(s) that define it, so `pricehound status` never loads Celery, Scrapy or FastAPI
# (tests/foundation/test_cli_speed.py holds this table to what each module registers; a command
# missing here still works, through importing every module).
STAGE_COMMANDS: dict[str, tuple[str, ...]] = {
    "spiders.cli": ("extract",),
    "workers.cli": ("runs", "crawl", "explain"),
    "alerts.cli": ("alerts",),
    "alerts.channels_cli": ("channels", "noise"),
    "web.cli": ("serve", "apikeys"),
    "demostore.cli": ("demo-store",),
    "pricehound.demo": ("demo",),
    "pricehound.run": ("run",),
    "pricehound.archive": ("history",),
    "pricehound.lists": ("lists",),
    "pricehound.products_cli": ("products", "rates"),
}
KERNEL_COMMANDS = ("initdb", "stores", "users", "watch", "status", "psql", "config", "beat", "metrics",
                   "completion")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def _engine():
    from pricehound.db import get_engine

    return get_engine(get_settings())


def _interval(raw: str) -> timedelta:
    """'90s', '5m', '2h', '1d' or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = raw.strip().lower()
    try:
        if raw and raw[-1] in units:
            return timedelta(seconds=float(raw[:-1]) * units[raw[-1]])
        return timedelta(seconds=float(raw))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a duration like 90s, 5m, 2h or 1d") from None


# -- handlers -----------------------------------------------------------------------------------

def cmd_initdb(args: argparse.Namespace) -> int:
    from pricehound.db import migrate

    result = migrate(_engine())
    for name in result.applied:
        print(f"applied {name}")
    print(f"schema version {result.version}" + ("" if result.applied else " (up to date: nothing to apply)"))
    return EXIT_OK


def _check_store_input(args: argparse.Namespace, selectors: dict | None) -> None:
    """Everything `stores add` can check without the database, so a store that no watch could
    ever use is refused now rather than on every `watch add` later: an IP address, localhost or
    a local-network name without --local, a currency that is not ISO 4217, unknown selector keys."""
    catalog.parse_domains(args.domains, is_local=args.local)
    catalog.parse_currency(args.currency)
    catalog.parse_selectors(selectors)


def cmd_stores_add(args: argparse.Namespace) -> int:
    try:
        selectors = json.loads(args.selectors) if args.selectors else None
    except json.JSONDecodeError as exc:
        raise catalog.InputError(f"--selectors must be a JSON object ({exc})") from None
    if selectors is not None and not isinstance(selectors, dict):
        raise catalog.InputError("--selectors must be a JSON object like {\"price\": \".price\"}")
    _check_store_input(args, selectors)
    with _engine().begin() as conn:
        store = catalog.add_store(
            conn, slug=args.slug, name=args.name or args.slug, domains=args.domains,
            spider=args.spider, currency=args.currency, delay=args.delay,
            concurrency=args.concurrency, min_interval=args.min_interval,
            max_interval=args.max_interval, selectors=selectors, is_local=args.local,
        )
        if args.resolve:
            store = catalog.set_resolve(conn, store, args.resolve)
        if args.render:
            store = catalog.set_render(conn, store, args.render)
        if args.proxy or args.proxy_rotation:
            store = catalog.set_proxy(conn, store, args.proxy or store.proxy_pool, args.proxy_rotation)
        search, sitemap = catalog.set_search(conn, store, search_url=args.search_url, sitemap_url=args.sitemap_url)
    print(f"store {store.slug} (id {store.id}) on {', '.join(store.allowed_domains)}, spider {store.spider}"
          + (f"; resolves {', '.join(store.resolve)}" if store.resolve else "")
          + ("; pages rendered in headless Chromium" if store.render == "js" else "") + _proxy_note(store)
          + (f"; searched at {search}" if search else f"; searched through {sitemap or 'its sitemap'}"))
    return EXIT_OK


def _proxy_note(store: catalog.Store) -> str:
    return f"; through proxy pool {store.proxy_pool} ({store.proxy_rotation})" if store.proxy_pool else ""


def cmd_stores_edit(args: argparse.Namespace) -> int:
    """Change a store's host mapping, how its pages are fetched (--render), its proxy pool or how
    it is searched (--search-url, --sitemap-url): settings `stores add` does not replace."""
    proxy_given = bool(args.proxy or args.no_proxy or args.proxy_rotation)
    searching = (args.search_url is not None or args.sitemap_url is not None
                 or args.no_search_url or args.no_sitemap_url)
    if args.resolve is None and not args.no_resolve and args.render is None and not proxy_given and not searching:
        raise catalog.InputError("nothing to change: give --resolve HOST:PORT:ADDRESS, --no-resolve, "
                                 "--render js|none, --proxy POOL, --proxy-rotation, --no-proxy, "
                                 "--search-url URL or --sitemap-url URL")
    with _engine().begin() as conn:
        store = catalog.get_store(conn, args.slug)
        if args.resolve is not None or args.no_resolve:
            store = catalog.set_resolve(conn, store, [] if args.no_resolve else args.resolve)
        if args.render is not None:
            store = catalog.set_render(conn, store, args.render)
        if proxy_given:
            pool = None if args.no_proxy else (args.proxy or store.proxy_pool)
            store = catalog.set_proxy(conn, store, pool, args.proxy_rotation)
        if searching:
            search, sitemap = catalog.set_search(conn, store, search_url=args.search_url,
                                                 sitemap_url=args.sitemap_url, clear_search=args.no_search_url,
                                                 clear_sitemap=args.no_sitemap_url)
            print(f"store {store.slug}: searched at {search}" if search
                  else f"store {store.slug}: searched through {sitemap or 'its sitemap (robots.txt, /sitemap.xml)'}")
    shown = ", ".join(store.resolve) if store.resolve else "DNS (no mapping)"
    print(f"store {store.slug}: {shown}; render {store.render}; "
          + (_proxy_note(store)[2:] if store.proxy_pool else "no proxy (direct)"))
    return EXIT_OK


def _search_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--search-url", metavar="URL",
                   help="how to search the store for a watched product: a URL on its domains with {query} "
                        "where the words go, e.g. 'https://acme.com/search?q={query}'")
    p.add_argument("--sitemap-url", metavar="URL",
                   help="the store's sitemap, searched when it has no search URL (default: robots.txt's "
                        "Sitemap lines, else /sitemap.xml)")


def cmd_stores_list(args: argparse.Namespace) -> int:
    with _engine().connect() as conn:
        stores = catalog.list_stores(conn)
    if args.json:
        for s in stores:
            print(json.dumps({"id": s.id, "slug": s.slug, "name": s.name, "domains": list(s.allowed_domains),
                              "spider": s.spider, "currency": s.default_currency,
                              "delay": str(s.download_delay), "concurrency": s.concurrency,
                              "local": s.is_local, "active": s.active, "resolve": list(s.resolve),
                              "render": s.render,
                              "proxy_pool": s.proxy_pool, "proxy_rotation": s.proxy_rotation,
                              "platform": s.platform, "search_url": s.search_url, "sitemap_url": s.sitemap_url}))
        return EXIT_OK
    if not stores:
        print("no stores yet: add one with `pricehound stores add --slug SLUG --domains example.com`")
        return EXIT_OK
    print(f"{'slug':<20} {'spider':<14} {'cur':<4} {'delay':>6} {'conc':>4}  domains")
    for s in stores:
        flags = "" if s.active else "  (inactive)"
        flags += "  (local)" if s.is_local else ""
        flags += f"  (resolves {', '.join(s.resolve)})" if s.resolve else ""
        flags += "  (renders js)" if s.render == "js" else ""
        flags += f"  (proxy {s.proxy_pool}, {s.proxy_rotation})" if s.proxy_pool else ""
        flags += f"  (platform {s.platform})" if s.platform else ""
        flags += f"  (searched at {s.search_url})" if s.search_url else ""
        print(f"{s.slug:<20} {s.spider:<14} {s.default_currency:<4} {s.download_delay!s:>6} "
              f"{s.concurrency:>4}  {', '.join(s.allowed_domains)}{flags}")
    return EXIT_OK


def cmd_users_add(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        user_id = catalog.add_user(conn, email=args.email, name=args.name, premium=args.premium,
                                   verified=args.verified)
        if args.admin:
            from pricehound import operators

            operators.set_admin(conn, user_id, True)
    state = "verified" if args.verified else "unverified: no alerts until the address is confirmed"
    state += "; admin: may open /admin" if args.admin else ""
    print(f"user {user_id} <{catalog.parse_email(args.email)}> ({state})")
    return EXIT_OK


def _change_existing_watch(conn, args: argparse.Namespace) -> int | None:
    """`watch add` on a URL the user already watches (in that list): change only the options
    given and say what changed; None when there is no such watch yet."""
    given = {name: value for name, value in (("target_price", args.target_price),
                                             ("min_drop_percent", args.min_drop_percent),
                                             ("notify", args.notify)) if value is not None}
    found = catalog.change_existing_watch(conn, email=args.email, url=args.url, list_name=args.list, **given)
    if found is None:
        return None
    watch, changes, active = found

    def shown(value) -> str:
        return "none" if value is None else ",".join(value) if isinstance(value, list) else str(value)

    what = "; ".join(f"{name} {shown(old)} -> {shown(new)}" for name, (old, new) in changes.items())
    print(f"watch {watch.id}: {watch.url} at {watch.store_slug} (listing {watch.listing_id}) already watched: "
          + (f"changed {what}" if what else "nothing changed")
          + ("" if active else " (the watch is paused; resume it on the manage page)"))
    return EXIT_OK


def cmd_watch_add_product(args: argparse.Namespace) -> int:
    """A product watch: the product by name, "#ID" or GTIN, at the given stores or any store."""
    from pricehound import products

    catalog.parse_email(args.email)
    catalog.parse_money(args.target_price, "target price")
    catalog.parse_percent(args.min_drop_percent)
    catalog.parse_notify(args.notify)
    with _engine().begin() as conn:
        watch = products.add_product_watch(
            conn, email=args.email, product=args.product, gtin=args.gtin, stores=args.stores,
            target_price=args.target_price, min_drop_percent=args.min_drop_percent, notify=args.notify,
            list_name=args.list)
        stores = products.watch_stores(conn, watch.id)
    where = ",".join(watch.store_slugs) if watch.store_slugs else "any store"
    print(f"watch {watch.id}: product #{watch.product_id} {watch.product_name} at {where}"
          + (" (a new product: pricehound looks for it at the stores)" if watch.created_product else ""))
    for s in stores:
        price = f" {s.price} {s.currency}, {s.availability}" if s.price is not None else ""
        print(f"  {s.store}: {s.status}{price}")
    return EXIT_OK


def cmd_watch_add(args: argparse.Namespace) -> int:
    given = [name for name, value in (("--url", args.url), ("--product", args.product), ("--gtin", args.gtin))
             if value is not None]
    if not given:
        raise catalog.InputError("say what to watch: --url URL, --product 'name' (or '#ID'), or --gtin CODE")
    if args.url is not None and len(given) > 1:
        raise catalog.InputError("--url watches one page; --product and --gtin watch a product: give one of them")
    if args.url is None:
        return cmd_watch_add_product(args)
    if args.stores is not None:
        raise catalog.InputError("--stores goes with --product or --gtin (a URL is at one store already)")
    # validate everything that needs no database first, so bad input never waits on a server
    catalog.parse_email(args.email)
    catalog.parse_money(args.target_price, "target price")
    catalog.parse_percent(args.min_drop_percent)
    catalog.parse_notify(args.notify, url_watch=True)
    with _engine().begin() as conn:
        existing = _change_existing_watch(conn, args)
        if existing is not None:
            return existing
        watch = catalog.add_watch(
            conn, email=args.email, url=args.url, target_price=args.target_price,
            min_drop_percent=args.min_drop_percent, notify=args.notify, list_name=args.list,
        )
    print(f"watch {watch.id}: {watch.url} at {watch.store_slug} (listing {watch.listing_id})")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Counts, the schedule per store and the queue depths (the queues may be unreachable while
    the database answers: that is shown, not fatal)."""
    from alerts import disputes
    from pipelines import held
    from pricehound import freshness, status

    with _engine().connect() as conn:
        counts = status.counts(conn)
        stores, now = status.store_schedule(conn)
        held_runs = held.held_runs(conn)
        dispute_counts = disputes.per_store(conn)
        proxies = status.proxy_failures(conn)
        revisit_plans = freshness.plans(conn)
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
                          "disputes": dispute_counts,
                          "revisit_plans": [p.as_json() for p in revisit_plans],
                          "proxy_failures": [p.__dict__ for p in proxies]}))
        return EXIT_OK
    print(status.render(counts))
    print()
    print(status.render_schedule(stores, now))
    print()
    print(freshness.render(revisit_plans))
    print()
    print(status.render_queues(depths, redis_error))
    print()
    print(held.render(held_runs))
    print()
    print(disputes.render(dispute_counts))
    print()
    print(status.render_proxy_failures(proxies))
    return EXIT_OK


def cmd_psql(args: argparse.Namespace) -> int:
    """psql on pricehound's database; with the embedded default, the server runs while psql does."""
    import shutil
    import subprocess

    from pricehound import embedded

    settings = get_settings()
    url = settings.database_url or embedded.postgres_url(settings.data_dir)
    bundled = None
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH

        bundled = POSTGRES_BIN_PATH / "psql"
    except Exception:  # pgserver missing or laid out differently: fall back to PATH
        pass
    psql = str(bundled) if bundled and bundled.exists() else shutil.which("psql")
    if psql is None:
        raise catalog.InputError("psql is not installed; connect with any client to " + url)
    extra = ["-c", args.command] if args.command else []
    return subprocess.call([psql, url, *extra])


def cmd_config(args: argparse.Namespace) -> int:
    from pricehound.config import VARIABLES

    settings = get_settings()
    if args.markdown:
        print("| variable | default | what it is for |")
        print("|---|---|---|")
        for var in VARIABLES:
            default = "(embedded)" if var.env in ("DATABASE_URL", "REDIS_URL") else (
                "(generated)" if var.env == "PRICEHOUND_SECRET_KEY" else var.default)
            shown = "unset" if default is None else f"`{default}`" if not str(default).startswith("(") else default
            print(f"| `{var.env}` | {shown} | {var.doc} |")
        return EXIT_OK
    for var in VARIABLES:
        print(f"{var.env}={_shown_setting(var.env, getattr(settings, var.attr))}")
    return EXIT_OK


SECRET_SETTINGS = ("PRICEHOUND_SECRET_KEY", "PRICEHOUND_SECRET_KEY_OLD", "PRICEHOUND_SMTP_PASSWORD",
                   "PRICEHOUND_METRICS_TOKEN")


def _shown_setting(name: str, value) -> str:
    """A setting as `config` prints it: secrets as (set), passwords in URLs as ***."""
    from pricehound.config import mask_url

    if value is None or value == ():
        return ""
    if name in SECRET_SETTINGS:
        return "(set)"
    if isinstance(value, str) and "://" in value:
        return mask_url(value) or ""
    return str(value)


# -- parser -------------------------------------------------------------------------------------

RENDER_HELP = ("js: fetch the store's pages through headless Chromium, for shops whose prices are filled "
               "in by script (`pricehound status` advises it); none: read the HTML as served (default)")


def _proxy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--proxy", metavar="POOL", help="crawl through this pool of PRICEHOUND_PROXY_POOLS "
                   "(only its name is stored; proxies and passwords stay in the environment)")
    p.add_argument("--proxy-rotation", choices=catalog.PROXY_ROTATIONS,
                   help="round_robin: each request the next proxy (default); sticky: a listing keeps its proxy")


def command_of(argv: Sequence[str] | None) -> str | None:
    """The top-level command named in ``argv`` (its first word that is not an option)."""
    return next((a for a in argv or () if not a.startswith("-")), None)


def stage_modules(command: str | None) -> list[str]:
    """The stage modules to load for ``command``: none for the kernel's own commands, the
    module(s) that define a stage command, every one for help, completion or an unknown word."""
    if command in KERNEL_COMMANDS:
        return []
    owners = [module for module, names in STAGE_COMMANDS.items() if command in names]
    return owners or list(STAGE_COMMANDS)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (given ``argv``) just what its command needs."""
    parser = argparse.ArgumentParser(
        prog="pricehound",
        description="Watch products across online stores; crawl politely; email watchers when prices "
                    "drop, items sell out, come back or disappear.",
        epilog="Configuration comes from the environment (DATABASE_URL, REDIS_URL, ...): see README.md. "
               "With neither URL set, embedded PostgreSQL and Redis start under the data directory.",
    )
    parser.add_argument("--version", action="version", version=f"pricehound {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("initdb", help="create or update the database schema (safe to run again)",
                       description="Apply what the database lacks of schema.sql (the baseline) and the numbered "
                                   "migrations in pricehound/migrations, in order, each recorded in "
                                   "schema_version. Safe to run again; refuses a database migrated by a "
                                   "newer pricehound.")
    p.set_defaults(handler=cmd_initdb)

    stores = sub.add_parser("stores", help="add and list the stores pricehound crawls")
    stores_sub = stores.add_subparsers(dest="stores_command", metavar="ACTION", required=True)
    p = stores_sub.add_parser("add", help="add a store, or update it if the slug exists")
    p.add_argument("--slug", required=True, help="short unique name, e.g. acme")
    p.add_argument("--name", help="display name (default: the slug)")
    p.add_argument("--domains", required=True, help="comma-separated allowed domains, e.g. acme.com,shop.acme.com")
    p.add_argument("--spider", default="generic", help="Scrapy spider for this store (default: generic)")
    p.add_argument("--currency", default="USD", help="ISO 4217 currency when a page names none (default: USD)")
    p.add_argument("--delay", default="1.0", help="seconds between requests to this store (default: 1.0)")
    p.add_argument("--concurrency", type=int, default=2, help="parallel requests to this store (default: 2)")
    p.add_argument("--min-interval", type=_interval, default=timedelta(minutes=5),
                   help="most often a hot listing is crawled (default: 5m)")
    p.add_argument("--max-interval", type=_interval, default=timedelta(hours=6),
                   help="least often a cold listing is crawled (default: 6h)")
    p.add_argument("--selectors", help='JSON of CSS/XPath selectors, e.g. {"price": ".price", "availability": ".stock"}')
    p.add_argument("--local", action="store_true",
                   help="allow private/loopback addresses (demo store and tests only)")
    p.add_argument("--resolve", action="append", metavar="HOST:PORT:ADDRESS",
                   help="like curl --resolve: crawl HOST (on PORT, or * for any) at ADDRESS instead of what "
                        "DNS says; repeatable; local stores only")
    p.add_argument("--render", choices=catalog.RENDER_MODES, help=RENDER_HELP)
    _proxy_options(p)
    _search_options(p)
    p.set_defaults(handler=cmd_stores_add)
    p = stores_sub.add_parser("edit", help="change a store's host mapping (--resolve), rendering (--render), proxy "
                                           "(--proxy) or how it is searched (--search-url)")
    p.add_argument("slug", help="the store (`pricehound stores list`)")
    p.add_argument("--resolve", action="append", metavar="HOST:PORT:ADDRESS",
                   help="like curl --resolve: crawl HOST (on PORT, or * for any) at ADDRESS; repeatable; "
                        "replaces the store's mapping; local stores only")
    p.add_argument("--no-resolve", action="store_true", help="drop the mapping: crawl by DNS again")
    p.add_argument("--render", choices=catalog.RENDER_MODES, help=RENDER_HELP)
    _proxy_options(p)
    p.add_argument("--no-proxy", action="store_true", help="crawl the store directly again")
    _search_options(p)
    p.add_argument("--no-search-url", action="store_true", help="forget the search URL (search the sitemap)")
    p.add_argument("--no-sitemap-url", action="store_true",
                   help="forget the sitemap URL (use robots.txt's Sitemap lines, else /sitemap.xml)")
    p.set_defaults(handler=cmd_stores_edit)
    p = stores_sub.add_parser("list", help="list stores")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=cmd_stores_list)

    users = sub.add_parser("users", help="add users who receive alerts")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    p = users_sub.add_parser("add", help="add a user (unverified unless --verified)")
    p.add_argument("--email", required=True)
    p.add_argument("--name")
    p.add_argument("--premium", action="store_true", help="premium account: crawled more often")
    p.add_argument("--verified", action="store_true", help="mark the address as already confirmed")
    p.add_argument("--admin", action="store_true", help="may open the operator's page (/admin)")
    p.set_defaults(handler=cmd_users_add)

    watch = sub.add_parser("watch", help="watch a product page for a user")
    watch_sub = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    p = watch_sub.add_parser("add", help="watch a URL, or a product at several stores (--product/--gtin)",
                             description="Watch one product page (--url), or a product wherever it is sold: "
                                         "--product 'Acme Kettle 1.7 l' (or '#ID') or --gtin CODE, at --stores "
                                         "a,b (default: any store). A product watch follows every listing "
                                         "linked to the product at those stores.")
    p.add_argument("--email", required=True, help="the watcher (must exist: `pricehound users add`)")
    p.add_argument("--url", help="product page URL on one of a store's allowed domains")
    p.add_argument("--product", help="a product by name or '#ID' (a name no product has makes a new one)")
    p.add_argument("--gtin", help="a product by GTIN/EAN/UPC/ISBN")
    p.add_argument("--stores", help="comma-separated store slugs for a product watch (default: any store)")
    p.add_argument("--target-price", help="alert when the price reaches this or lower")
    p.add_argument("--min-drop-percent", help="alert on drops of at least this percent (default: any drop)")
    p.add_argument("--notify", help=f"comma-separated alert kinds (default: {','.join(catalog.DEFAULT_NOTIFY)}; "
                                    f"also: {','.join(k for k in catalog.NOTIFY_KINDS if k not in catalog.DEFAULT_NOTIFY)}; "
                                    f"cheapest_store needs a product watch)")
    p.add_argument("--list", default=catalog.DEFAULT_LIST_NAME, help="shopping list name (default: Watching)")
    p.set_defaults(handler=cmd_watch_add)

    p = sub.add_parser("status", help="counts of stores, listings, watches, due crawls, pending emails",
                       description="Counts; per store the due and leased targets, the running crawl, the last "
                                   "outcome and the circuit breaker; the depth of each queue; held runs; "
                                   "disputed alerts.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("psql", help="open psql on pricehound's database (the embedded one by default)")
    p.add_argument("-c", "--command", help="run one SQL command and exit, e.g. -c 'TABLE price_comparison'")
    p.set_defaults(handler=cmd_psql)

    p = sub.add_parser("config", help="show the configuration in effect (from the environment)")
    p.add_argument("--markdown", action="store_true", help="print the documented table of variables")
    p.set_defaults(handler=cmd_config)

    # operators' verbs (users list/disable, stores pause/resume/remove, watch list/remove/import,
    # history export, beat health, metrics, completion): light imports, so always registered
    from pricehound import opscli

    opscli.register(sub)

    for module_name in stage_modules(command_of(argv)) if argv is not None else STAGE_COMMANDS:
        try:
            spec = importlib.util.find_spec(module_name)
        except ModuleNotFoundError:  # the stage's package is not there at all
            spec = None
        if spec is not None:
            importlib.import_module(module_name).register(sub)
    return parser


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop, a supervisor) ends a command the way Ctrl-C or a normal
    exit does: finally blocks and exit hooks run, so embedded PostgreSQL and Redis this process
    started are stopped (or left to the processes still using them) instead of leaking."""
    import signal

    def _terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


def _closed_pipe() -> int:
    """The reader went away (`pricehound config | head`): stop quietly. Python would otherwise
    complain once more when it flushes stdout at exit, so stdout is pointed at the null device."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_OK


def refuse_control_characters(argv: Sequence[str]) -> str | None:
    """Why an argument cannot be used (it holds a control character), or None: nothing with one
    is ever written, and it would only show up later as a refusal from PostgreSQL."""
    for arg in argv:
        ch = catalog.control_character(arg)
        if ch is not None:
            return f"argument {arg!r} contains a control character ({ch!r}); remove it"
    return None


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer a shell's completion request (argcomplete, when installed; it exits when it
    answered). Without argcomplete the command line works the same, without completion."""
    import os

    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def main(argv: Sequence[str] | None = None) -> int:
    from pricehound import logs

    argv = list(sys.argv[1:] if argv is None else argv)
    problem = refuse_control_characters(argv)
    if problem:
        print(f"pricehound: error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parser = build_parser(argv)
    _complete(parser)
    args = parser.parse_args(argv)
    _exit_cleanly_on_sigterm()
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"pricehound: configuration error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    logs.configure("DEBUG" if args.verbose else settings.log_level)
    try:
        return int(args.handler(args) or 0)
    except catalog.InputError as exc:
        print(f"pricehound: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("pricehound: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()
    except Exception as exc:  # the last line of defence: a readable message, the trace in debug
        from sqlalchemy.exc import OperationalError, ProgrammingError

        from pricehound.db import MigrationError, SchemaTooNew
        from pricehound.embedded import EmbeddedUnavailable

        if isinstance(exc, (SchemaTooNew, MigrationError, EmbeddedUnavailable)):
            print(f"pricehound: {exc}", file=sys.stderr)
        elif isinstance(exc, ProgrammingError) and "does not exist" in str(exc.orig):
            print("pricehound: the database has no pricehound schema (or an old one): "
                  "run `pricehound initdb` first", file=sys.stderr)
        elif isinstance(exc, OperationalError):
            where = "the embedded PostgreSQL" if settings.database_url is None else "PostgreSQL (DATABASE_URL)"
            print(f"pricehound: cannot reach {where}: {str(exc.orig).strip().splitlines()[0]}. "
                  "Is the server running and the URL right?", file=sys.stderr)
        else:
            print(f"pricehound: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        log.debug("traceback", exc_info=True)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
