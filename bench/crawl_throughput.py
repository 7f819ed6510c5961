"""Crawl throughput: the full crawl against bare Scrapy on the same local pages.

Serves a generated demo catalogue (demostore.make_catalogue, >= 2,000 product pages across the
six page shapes) on 127.0.0.1 and crawls every page twice, one process per store each time:

- full: `python -m spiders.run RUN_ID` - the store's spider, extraction, validation and the
  batched PostgreSQL writer, on a throwaway database this script creates and drops;
- bare: a Scrapy spider that requests the same URLs with the same settings (robots.txt, no
  delay, same concurrency) and throws every response away: no extraction, no pipeline.

Both figures are pages per second of crawl time (Scrapy's elapsed_time_seconds: spider open to
spider closed, which for the full crawl includes waiting for the writer's last flush). Wall time
with process start-up is printed too.

Usage:  .venv/bin/python bench/crawl_throughput.py [--stores 6] [--per-store 350] [--concurrency 8] [--rounds 1]
The last line printed is one JSON object; ratio = full pages/s / bare pages/s. With --rounds N
the whole comparison runs N times (a fresh database each time, the order of the two sides
alternating) and the round with the median ratio is reported; CPU per page of the crawl process,
the demo store, PostgreSQL and the rest of the (shared) machine is printed for each side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SAME_SETTINGS = ("AUTOTHROTTLE_ENABLED=false", "DOWNLOAD_DELAY=0", "LOG_LEVEL=WARNING")


def cpu_now() -> dict[str, float]:
    """CPU seconds so far: crawl children, this process (the demo store), PostgreSQL, the machine.

    Read before and after each crawl; the differences say where the crawl's CPU went and how
    busy the shared machine was (``busy``: all processes, ``cores`` x wall = everything).
    """
    import psutil

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    pg = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        pg += t.user + t.system + t.children_user + t.children_system
    machine = psutil.cpu_times()
    return {"crawl": children.ru_utime + children.ru_stime, "server": own.ru_utime + own.ru_stime,
            "postgres": pg, "busy": machine.user + machine.nice + machine.system + machine.irq
            + machine.softirq, "wall": time.perf_counter()}


def _own_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def bare_crawl(url_file: str, concurrency: int, user_agent: str) -> int:
    """The baseline process: fetch each URL, keep nothing."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    with open(url_file) as fh:
        urls = [line.strip() for line in fh if line.strip()]
    cpu = {"seconds": 0.0}

    class BareSpider(scrapy.Spider):
        name = "bare"

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.cpu_at_open = _own_cpu()

        def closed(self, reason):
            cpu["seconds"] = _own_cpu() - self.cpu_at_open

        async def start(self):
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):
            return None

    settings = {"ROBOTSTXT_OBEY": True, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0,
                "CONCURRENT_REQUESTS": max(concurrency, 8), "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
                "USER_AGENT": user_agent, "LOG_LEVEL": os.environ.get("BENCH_SCRAPY_LOG", "WARNING"), "TELNETCONSOLE_ENABLED": False}
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    print(json.dumps({"elapsed": stats.get("elapsed_time_seconds"), "cpu": cpu["seconds"],
                      "responses": stats.get("downloader/response_count")}))
    return 0


def crawl_round(args: argparse.Namespace, round_no: int, stores: list, shops, tmp: str) -> dict:
    """Crawl every store once each way on a fresh database; return both sides' totals."""
    from pricehound import catalog
    from pricehound.db import apply_schema, normalise_url

    name = f"pricehound_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_url(args.admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db_url = sa.engine.make_url(normalise_url(args.admin_url)).set(database=name).render_as_string(
        hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    engine = sa.create_engine(normalise_url(db_url))
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": ROOT, "PRICEHOUND_LOG_LEVEL": "WARNING",
           "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")}
    out: dict = {"pages": 0, "crawl_s": {"full": 0.0, "bare": 0.0}, "wall_s": {"full": 0.0, "bare": 0.0},
                 "cpu": {"full": {}, "bare": {}},
                 "window_cpu": {"full": 0.0, "bare": 0.0}}  # crawl process CPU, spider open to close
    try:
        apply_schema(engine)
        for store in stores:
            urls = [shops.product_url(store.slug, p.id) for p in store.products]
            out["pages"] += len(urls)
            with engine.begin() as conn:
                row = catalog.add_store(conn, slug=store.slug[:60], name=store.name,
                                        domains=[f"127.0.0.1:{shops.port(store.slug)}"],
                                        currency=store.currency, delay=0, concurrency=args.concurrency,
                                        is_local=True, spider="shopify" if store.shape == "shopify" else "generic")
                ids = [int(conn.execute(sa.text(
                    "INSERT INTO store_listings (store_id, url) VALUES (:s, :u) RETURNING id"),
                    {"s": row.id, "u": u}).scalar()) for u in urls]
                run_id = int(conn.execute(sa.text(
                    "INSERT INTO crawl_runs (store_id, listing_ids) VALUES (:s, :l) RETURNING id"),
                    {"s": row.id, "l": ids}).scalar())
            url_file = os.path.join(tmp, f"{store.slug}.txt")
            with open(url_file, "w") as fh:
                fh.write("\n".join(urls))
            # alternate the order per store and round so neither side always runs on a warmer server
            runs = [("bare", [sys.executable, os.path.abspath(__file__), "--bare", url_file,
                              "--concurrency", str(args.concurrency)]),
                    ("full", [sys.executable, "-m", "spiders.run", str(run_id),
                              *sum((["-s", s] for s in SAME_SETTINGS), [])])]
            if (len(url_file) + round_no) % 2:
                runs.reverse()
            for kind, cmd in runs:
                before = cpu_now()
                started = time.perf_counter()
                proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
                elapsed = time.perf_counter() - started
                after = cpu_now()
                for key, value in after.items():
                    out["cpu"][kind][key] = out["cpu"][kind].get(key, 0.0) + value - before[key]
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"{kind} crawl of {store.slug} failed")
                out["wall_s"][kind] += elapsed
                if kind == "full":
                    with engine.connect() as conn:
                        run_stats = conn.execute(sa.text(
                            "SELECT stats FROM crawl_runs WHERE id = :r"), {"r": run_id}).scalar()
                    out["crawl_s"]["full"] += float(run_stats["elapsed_time_seconds"])
                    out["window_cpu"]["full"] += float(run_stats.get("pricehound/cpu_seconds") or 0)
                else:
                    reported = json.loads(proc.stdout.strip().splitlines()[-1])
                    out["crawl_s"]["bare"] += float(reported["elapsed"])
                    out["window_cpu"]["bare"] += float(reported["cpu"])
            print(f"{store.slug:28s} {store.shape:12s} {len(urls):5d} pages", flush=True)
        with engine.connect() as conn:
            out["stored"] = conn.execute(sa.text("SELECT count(*) FROM store_prices")).scalar()
            out["ok"] = conn.execute(sa.text("SELECT sum(ok) FROM crawl_runs")).scalar()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    out["full"] = out["pages"] / out["crawl_s"]["full"]
    out["bare"] = out["pages"] / out["crawl_s"]["bare"]
    out["ratio"] = out["full"] / out["bare"]
    return out


def report(r: dict, label: str) -> None:
    pages = r["pages"]
    print(f"{label}full crawl:  {r['full']:8.1f} pages/s  ({r['crawl_s']['full']:.1f}s crawling, "
          f"{r['wall_s']['full']:.1f}s wall with start-up)")
    print(f"{label}bare Scrapy: {r['bare']:8.1f} pages/s  ({r['crawl_s']['bare']:.1f}s crawling, "
          f"{r['wall_s']['bare']:.1f}s wall with start-up)")
    print(f"{label}ratio:      {r['ratio']:.2f}  (goal >= 0.85)")
    cores = os.cpu_count() or 1
    for kind in ("full", "bare"):
        c = r["cpu"][kind]
        other = c["busy"] - c["crawl"] - c["server"] - c["postgres"]
        print(f"{label}CPU ms/page, {kind}: crawl process {1000 * c['crawl'] / pages:.2f} "
              f"({1000 * r['window_cpu'][kind] / pages:.2f} while crawling), demo store "
              f"{1000 * c['server'] / pages:.2f}, PostgreSQL {1000 * c['postgres'] / pages:.2f}, "
              f"rest of the machine {1000 * other / pages:.2f}; machine busy "
              f"{100 * c['busy'] / (cores * c['wall']):.0f}% of {cores} cores", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=6)
    parser.add_argument("--per-store", type=int, default=350)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat on a fresh database each time; the figures are the median round's")
    parser.add_argument("--admin-url", default=os.environ.get("PRICEHOUND_BENCH_PG_ADMIN_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--bare", metavar="URL_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        from pricehound.config import get_settings

        return bare_crawl(args.bare, args.concurrency, get_settings().crawler_user_agent)

    from demostore import DemoStoreServer, make_catalogue

    stores = make_catalogue(args.stores, args.per_store, seed=3)
    results = []
    with DemoStoreServer(stores) as shops, tempfile.TemporaryDirectory() as tmp:
        for round_no in range(max(1, args.rounds)):
            results.append(crawl_round(args, round_no, stores, shops, tmp))
            if args.rounds > 1:
                report(results[-1], f"round {round_no + 1}: ")
    median = sorted(results, key=lambda r: r["ratio"])[(len(results) - 1) // 2]
    pages = median["pages"]
    print(f"pages: {pages} in {args.stores} stores; full crawl stored {median['stored']} prices ({median['ok']} ok)"
          + (f"; median of {len(results)} rounds by ratio" if len(results) > 1 else ""))
    report(median, "")
    print(json.dumps({"bench": "crawl_throughput", "pages": pages, "stores": args.stores,
                      "concurrency": args.concurrency, "full_pages_per_s": round(median["full"], 1),
                      "bare_pages_per_s": round(median["bare"], 1), "stored_prices": median["stored"],
                      "full_wall_s": round(median["wall_s"]["full"], 1),
                      "bare_wall_s": round(median["wall_s"]["bare"], 1), "ratio": round(median["ratio"], 3),
                      "round_ratios": [round(r["ratio"], 3) for r in results],
                      "cpu_ms_per_page": {kind: {k: round(1000 * v / pages, 2) for k, v in c.items() if k != "wall"}
                                          for kind, c in median["cpu"].items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
