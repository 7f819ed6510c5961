"""`pricehound demo`: the whole pipeline on the embedded default, end to end, in about a minute.

It starts embedded PostgreSQL and Redis, a local SES stand-in and the demo store (six shops,
160 products in six page shapes), seeds users and watches, then runs a real Celery worker,
beat and the HTTP service as child processes. It plays a scripted scenario on the store — a
sale across a target price, a 20% drop, a sell-out, a restock, a removal, a storm of 500s and
timeouts on one shop, a page that briefly shows no stock — lets beat dispatch the crawls, and
ends with the alerts that were sent, why, and the ones correctly not sent. Emails go through
the same SES code path as production and are also written as .eml files.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("pricehound.demo")



@dataclass(frozen=True)
class Scripted:
    """One scripted watch: who watches what, what happens to it, and what must (not) be mailed."""

    key: str
    user: str
    store: str
    index: int               # position of the product in the store's catalogue
    expect: str | None       # the notification kind owed, or None: nothing may be sent
    why: str
    target_price: str | None = None
    min_drop_percent: str | None = None


SCRIPT = (
    Scripted("target", "ann", "northwind", 5, "target_reached",
             "price crosses Ann's target", target_price=None),
    Scripted("drop20", "bob", "copperpot", 6, "price_drop",
             "price falls 20%, Bob asked for 15%", min_drop_percent="15"),
    Scripted("soldout", "ann", "gadgetdepot", 5, "sold_out", "the item sells out"),
    Scripted("restock", "bob", "voltmarkt", 1, "back_in_stock", "the sold-out item comes back"),
    Scripted("removed", "ann", "dailybasket", 6, "removed", "the page is gone (404) on two crawls in a row"),
    Scripted("small", "bob", "northwind", 7, None, "a 5% drop is below Bob's 30% threshold",
             min_drop_percent="30"),
    Scripted("storm", "ann", "maison-lumiere", 5, None, "the shop answers 500s and times out: transient"),
    Scripted("storm2", "bob", "maison-lumiere", 6, None, "the shop answers 500s and times out: transient"),
    Scripted("blip", "bob", "copperpot", 7, None, "the page briefly shows no stock signal"),
    Scripted("unverified", "cat", "northwind", 5, None, "Cat never confirmed her address"),
)
EXAMPLE_QUERY = "e.g. -c 'TABLE price_history_log ORDER BY observed_at DESC LIMIT 20'"
USERS = {"ann": "ann@demo.pricehound.test", "bob": "bob@demo.pricehound.test",
         "cat": "cat@demo.pricehound.test", "shopper": "shopper@demo.pricehound.test"}


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = sys.stdout
        self.started = time.monotonic()

    # -- output ---------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:5.1f}s] {text}", file=self.out, flush=True)

    # -- set-up ---------------------------------------------------------------------------------

    def start_services(self) -> None:
        from demostore import DemoStoreServer, demo_catalogue
        from demostore.ses import LocalSES
        from pricehound import embedded
        from pricehound.config import Settings
        from pricehound.db import apply_schema, empty_all_tables, get_engine

        base = Settings.from_env()
        self.data_dir = base.data_dir
        self.say(f"starting embedded PostgreSQL and Redis in {self.data_dir}")
        resolved = embedded.resolve(base)
        self.engine = get_engine(resolved)
        version = apply_schema(self.engine)
        with self.engine.begin() as conn:
            empty_all_tables(conn)
        import redis

        redis.Redis.from_url(resolved.redis_url).flushdb()
        self.say(f"schema version {version} applied; previous demo data cleared")

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.ses = LocalSES()
        self.ses.start()
        ses_host, ses_port = self.ses.get_host_and_port()
        self.email_dir = self.data_dir / "emails"
        self.email_dir.mkdir(parents=True, exist_ok=True)
        for old in self.email_dir.glob("*.eml"):
            old.unlink()

        render = bool(getattr(self.args, "render", False))
        if render and not os.path.exists(base.chromium_path):
            self.say(f"no Chromium at {base.chromium_path}: the script-built shop is left out "
                     "(install Debian's chromium, or set PRICEHOUND_CHROMIUM_PATH)")
            render = False
        self.shop = DemoStoreServer(demo_catalogue(faults=False, script_shop=render), slow_delay=1.0,
                                    timeout_hold=6.0)
        self.web_port = _free_port()
        self.env = {
            **os.environ,
            **embedded.export_urls(resolved),
            "PRICEHOUND_SES_ENDPOINT_URL": f"http://{ses_host}:{ses_port}",
            "PRICEHOUND_SES_REGION": "us-east-1",
            "PRICEHOUND_SES_SENDER": "pricehound demo <alerts@demo.pricehound.test>",
            "PRICEHOUND_SES_MAX_SEND_RATE": "20",
            "PRICEHOUND_EMAIL_DIR": str(self.email_dir),
            "PRICEHOUND_PUBLIC_URL": f"http://127.0.0.1:{self.web_port}",
            "PRICEHOUND_ALERT_BATCH_WINDOW": "2",
            "PRICEHOUND_DOWNLOAD_DELAY": "0",
            "PRICEHOUND_DOWNLOAD_TIMEOUT": "3",
            "PRICEHOUND_BEAT_INTERVAL": "1",
            "PRICEHOUND_REMOVED_AFTER": "2",
            "PRICEHOUND_LEASE_SECONDS": "120",
            "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_DEFAULT_REGION": "us-east-1",
        }
        self.settings = Settings.from_env(self.env)
        _verify_sender(self.settings)
        self.say(f"local SES stand-in on {ses_host}:{ses_port}; demo store: "
                 f"{len(self.shop.store_slugs)} shops, {sum(len(self.shop.products(s)) for s in self.shop.store_slugs)} products")

    def seed(self) -> None:
        from pricehound import catalog

        with self.engine.begin() as conn:
            for slug in self.shop.store_slugs:
                products = self.shop.products(slug)
                store = catalog.add_store(
                    conn, slug=slug, name=slug.replace("-", " ").title(), is_local=True,
                    domains=[demo_host(slug)],
                    currency=products[0].currency, delay=0, concurrency=4,
                    min_interval=timedelta(minutes=30), max_interval=timedelta(hours=6),
                )
                # each shop keeps a real-looking domain; the crawl connects to the local server
                catalog.set_resolve(conn, store, [f"{demo_host(slug)}:127.0.0.1:{self.shop.port(slug)}"])
                if any(s.slug == slug and s.needs_render for s in self.shop.catalogue()):
                    catalog.set_render(conn, store, "js")  # its prices are filled in by script
            self.user_ids = {
                name: catalog.add_user(conn, email=email, name=name.title(), verified=(name != "cat"))
                for name, email in USERS.items()
            }
            self.scripted: dict[str, dict[str, Any]] = {}
            scripted_products = set()
            for s in SCRIPT:
                product = self.shop.products(s.store)[s.index]
                target = s.target_price
                if s.key == "target":
                    target = _percent_of(product.price, 90)
                watch = catalog.add_watch(conn, email=USERS[s.user], url=self.product_url(s.store, product.id),
                                          target_price=target, min_drop_percent=s.min_drop_percent)
                self.scripted[s.key] = {"spec": s, "product": product, "watch": watch, "target": target}
                scripted_products.add((s.store, product.id))
            background = 0
            for slug in self.shop.store_slugs:
                for product in self.shop.products(slug):
                    if (slug, product.id) in scripted_products:
                        continue
                    catalog.add_watch(conn, email=USERS["shopper"], url=self.product_url(slug, product.id),
                                      notify=["sale", "sold_out", "back_in_stock", "removed"])
                    background += 1
        self.say(f"seeded {len(USERS)} users ({USERS['cat']} unverified), {len(SCRIPT)} scripted watches "
                 f"and {background} background watches")

    def product_url(self, slug: str, product_id: Any) -> str:
        """A product's URL on its shop's own domain (mapped to the local server, see seed)."""
        return f"http://{demo_host(slug)}{self.shop.product_path(slug, product_id)}"

    def start_processes(self) -> None:
        from pricehound import supervisor

        self.log_dir = self.data_dir / "logs"
        specs = [*supervisor.worker_specs(crawl_concurrency=3), supervisor.beat_spec(self.data_dir),
                 supervisor.web_spec("127.0.0.1", self.web_port)]
        self.sup = supervisor.Supervisor(specs, self.env, log_dir=self.log_dir, grace=15)
        self.sup.start()
        self.say(f"started Celery worker, beat and the HTTP service (logs in {self.log_dir})")

    # -- the scenario ---------------------------------------------------------------------------

    def make_due(self) -> float:
        """Make every watched listing due now; beat's next tick dispatches them."""
        with self.engine.begin() as conn:
            started = conn.execute(sa.text("SELECT extract(epoch FROM pricehound_now())")).scalar_one()
            conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() WHERE watchers > 0"))
        return float(started)

    def wait_round(self, name: str, since: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            p = self.progress(since)
            line = (f"{name}: crawls {p['runs_done']}/{p['runs']} · pages {p['pages']} · "
                    f"prices written {p['history']} · events {p['events']} · emails sent {p['sent']}"
                    + (f" · {p['paused']} shop(s) backing off" if p["paused"] else ""))
            if line != last:
                self.say(line)
                last = line
            if p["remaining"] == 0 and p["open_runs"] == 0 and p["unsent"] == 0 and p["unevaluated"] == 0:
                return
            if time.monotonic() > deadline:
                self.say(f"{name}: still waiting after {timeout:.0f}s ({p}); moving on")
                return
            if not all(self.sup.alive().values()):
                self.sup.poll()
            time.sleep(0.5)

    def progress(self, since: float) -> dict[str, int]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.text(
                """
                SELECT
                  (SELECT count(*) FROM crawl_runs WHERE queued_at >= to_timestamp(:s)) AS runs,
                  (SELECT count(*) FROM crawl_runs WHERE queued_at >= to_timestamp(:s)
                      AND status NOT IN ('queued', 'running')) AS runs_done,
                  (SELECT count(*) FROM crawl_runs WHERE status IN ('queued', 'running')) AS open_runs,
                  (SELECT coalesce(sum(ok + removed + failed), 0) FROM crawl_runs
                    WHERE queued_at >= to_timestamp(:s)) AS pages,
                  (SELECT count(*) FROM price_history_log) AS history,
                  (SELECT count(*) FROM price_events) AS events,
                  (SELECT count(*) FROM price_events WHERE evaluated_at IS NULL) AS unevaluated,
                  (SELECT count(*) FROM notifications WHERE status = 'sent') AS sent,
                  (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')) AS unsent,
                  (SELECT count(*) FROM stores WHERE paused_until > pricehound_now()) AS paused,
                  (SELECT count(*) FROM user_crawler_priorities p JOIN stores s ON s.id = p.store_id
                    WHERE p.watchers > 0
                      AND (p.last_crawled_at IS NULL OR p.last_crawled_at < to_timestamp(:s))
                      AND NOT coalesce(s.paused_until > pricehound_now(), false)) AS remaining
                """), {"s": since}).one()
        return {k: int(v) for k, v in row._mapping.items()}

    def change(self, key: str, **changes: Any) -> None:
        item = self.scripted[key]
        self.shop.set_product(item["spec"].store, item["product"].id, **changes)

    def play(self) -> None:
        round_timeout = self.args.round_timeout
        since = self.make_due()
        self.wait_round("first crawl", since, round_timeout)

        self.say("the shops change: a sale across Ann's target, a 20% drop, a sell-out, a restock, "
                 "a page gone, a 5% drop, a storm of 500s and timeouts, a page with no stock signal")
        p = self.scripted
        self.change("target", price=_percent_of(p["target"]["product"].price, 85))
        self.change("drop20", price=_percent_of(p["drop20"]["product"].price, 80))
        self.change("soldout", availability="out_of_stock")
        self.change("restock", availability="in_stock")
        self.change("removed", status="gone404")
        self.change("small", price=_percent_of(p["small"]["product"].price, 95))
        self.change("storm", status="error500")
        self.change("storm2", status="timeout")
        self.change("blip", status="no_availability")
        since = self.make_due()
        self.wait_round("second crawl", since, round_timeout)

        self.say("the stock signal is back; the gone page is still gone; the storm goes on")
        self.change("blip", status="ok")
        since = self.make_due()
        self.wait_round("third crawl", since, round_timeout)

    # -- the summary ----------------------------------------------------------------------------

    def summary(self) -> bool:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                """
                SELECT n.id, u.email, n.kind, n.status, n.item_id, l.url, n.provider_message_id
                  FROM notifications n
                  JOIN users u ON u.id = n.user_id
                  LEFT JOIN shopping_list_items i ON i.id = n.item_id
                  LEFT JOIN store_listings l ON l.id = i.listing_id
                 WHERE n.kind NOT IN ('verify', 'login')
                 ORDER BY n.id
                """)).all()
        by_item: dict[int, list[Any]] = {}
        for r in rows:
            by_item.setdefault(r.item_id, []).append(r)
        ok = True
        print("\nAlerts owed and sent", file=self.out)
        print(f"  {'':2} {'who':<5} {'shop':<15} {'alert':<15} {'status':<8} why", file=self.out)
        for item in self.scripted.values():
            spec: Scripted = item["spec"]
            got = by_item.get(item["watch"].id, [])
            if spec.expect is None:
                continue
            sent = [r for r in got if r.kind == spec.expect and r.status == "sent"]
            mark = "✓" if len(sent) == 1 and len(got) == 1 else "✗"
            ok &= mark == "✓"
            status = sent[0].status if sent else (got[0].status if got else "missing")
            print(f"  {mark:2} {spec.user:<5} {spec.store:<15} {spec.expect:<15} {status:<8} {spec.why}", file=self.out)
        print("\nAlerts correctly not sent", file=self.out)
        for item in self.scripted.values():
            spec = item["spec"]
            if spec.expect is not None:
                continue
            got = by_item.get(item["watch"].id, [])
            mark = "✓" if not got else "✗"
            ok &= mark == "✓"
            extra = "" if not got else f"  (but got: {', '.join(r.kind for r in got)})"
            print(f"  {mark:2} {spec.user:<5} {spec.store:<15} {'—':<15} {'':<8} {spec.why}{extra}", file=self.out)
        scripted_items = {item["watch"].id for item in self.scripted.values()}
        stray = [r for r in rows if r.item_id not in scripted_items]
        if stray:
            ok = False
            print(f"\n✗ {len(stray)} alert(s) nobody was owed: " + ", ".join(f"{r.kind} to {r.email}" for r in stray),
                  file=self.out)
        emails = sorted(self.email_dir.glob("*.eml"))
        print(f"\nEmails written ({len(emails)}) in {self.email_dir}:", file=self.out)
        for path in emails:
            print(f"  {path.name}  {_subject(path)}", file=self.out)
        return ok

    def where_things_are(self) -> None:
        from pricehound import tokens

        token = tokens.sign("manage", {"u": self.user_ids["ann"]}, self.settings.signing_secret,
                            max_age=7 * 86400)
        print(f"""
Data is left in place in {self.data_dir}.
  SQL:    PRICEHOUND_DATA_DIR={self.data_dir} .venv/bin/pricehound psql
          {EXAMPLE_QUERY}
  Emails: {self.email_dir}
  Logs:   {self.log_dir}
  One crawl from page to alert (while the demo runs):
          PRICEHOUND_DATA_DIR={self.data_dir} .venv/bin/pricehound crawl {self.shop.store_slugs[0]} --now --wait
  Why a listing shows what it shows:
          PRICEHOUND_DATA_DIR={self.data_dir} .venv/bin/pricehound explain LISTING_ID_OR_URL
  Manage Ann's watches (while the demo runs): {self.settings.public_url}/manage?token={token}""",
              file=self.out)

    def stop(self) -> None:
        for name, closer in (("processes", lambda: self.sup.stop()), ("demo store", lambda: self.shop.stop()),
                             ("SES stand-in", lambda: self.ses.stop())):
            _quietly(name, closer)


def demo_host(slug: str) -> str:
    """The demo shop's domain: reserved for examples (RFC 2606), so it never reaches a real site."""
    return f"www.{slug}.example"


def _percent_of(price: Decimal, percent: int) -> Decimal:
    return (price * percent / 100).quantize(Decimal("0.01"))


def _quietly(name: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:  # stopping must go on whatever one part does
        log.warning("stopping %s: %s", name, exc)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _verify_sender(settings: Any) -> None:
    """The SES stand-in, like SES, only sends from verified identities."""
    import boto3

    client = boto3.client("sesv2", region_name=settings.ses_region, endpoint_url=settings.ses_endpoint_url,
                          aws_access_key_id="demo", aws_secret_access_key="demo")
    from email.utils import parseaddr

    client.create_email_identity(EmailIdentity=parseaddr(settings.ses_sender)[1])


def _subject(path: Path) -> str:
    from email import policy
    from email.parser import BytesParser

    with open(path, "rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh, headersonly=True)
    return str(msg.get("Subject", ""))


def external_servers() -> list[str]:
    """The configured servers the demo would wipe (DATABASE_URL, REDIS_URL), passwords hidden."""
    from pricehound.config import Settings, mask_url

    settings = Settings.from_env()
    return [f"{name}={mask_url(url)}" for name, url in (("DATABASE_URL", settings.database_url),
                                                         ("REDIS_URL", settings.redis_url)) if url]


def cmd_demo(args: argparse.Namespace) -> int:
    external = external_servers()
    if external and not args.yes:
        print("pricehound demo empties every pricehound table and flushes Redis before it plays.\n"
              f"It would do that to {' and '.join(external)}.\n"
              "Unset them to use the embedded servers (make demo does), or pass --yes if these are "
              "throw-away servers.", file=sys.stderr)
        return 2
    demo = Demo(args)
    ok = False
    try:
        demo.start_services()
        demo.seed()
        demo.start_processes()
        demo.play()
        ok = demo.summary()
        demo.where_things_are()
        keep = args.keep_running if args.keep_running is not None else sys.stdin.isatty()
        if keep:
            print("\nThe demo keeps running (beat, worker, web); Ctrl-C stops everything.", flush=True)
            from pricehound.supervisor import run_until_signalled

            run_until_signalled(demo.sup)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process", flush=True)
    finally:
        if hasattr(demo, "sup"):
            demo.stop()
        elif hasattr(demo, "shop"):
            _quietly("demo store", demo.shop.stop)
    elapsed = time.monotonic() - demo.started
    print(f"\n{'every alert as expected' if ok else 'SOME ALERTS WERE NOT AS EXPECTED'} "
          f"(demo took {elapsed:.0f}s)", flush=True)
    if args.json:
        print(json.dumps({"ok": ok, "seconds": round(elapsed, 1)}))
    return 0 if ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on a local demo store (what `make demo` runs)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keep-running", dest="keep_running", action="store_true", default=None,
                   help="after the summary, keep worker, beat and web running until Ctrl-C "
                        "(default when run from a terminal)")
    p.add_argument("--exit", dest="keep_running", action="store_false", help="exit after the summary")
    p.add_argument("--round-timeout", type=float, default=90.0, help="longest wait for one crawl round (s)")
    p.add_argument("--json", action="store_true", help="print a last JSON line with the outcome")
    p.add_argument("--render", action="store_true",
                   help="add a shop whose prices are filled in by script, crawled through headless Chromium")
    p.add_argument("--yes", action="store_true",
                   help="run even though DATABASE_URL or REDIS_URL is set: their pricehound data is wiped")
    p.set_defaults(handler=cmd_demo)
