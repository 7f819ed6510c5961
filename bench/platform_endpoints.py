"""Platform endpoints against product pages: the same listings read both ways in one run.

Serves a generated demo catalogue of the three platform shapes (Shopify, WooCommerce, Magento;
demostore.make_catalogue) on 127.0.0.1 and crawls each store's listings twice per round, one
`python -m spiders.run` process each, on a throwaway database this script creates and drops:

- page: the generic spider with platform endpoints switched off (PRICEHOUND_PLATFORM_ENDPOINTS
  false): every listing is its product page, read by the extraction chain;
- endpoint: the same spider with the store's platform known (stores.platform): every listing
  is its platform's JSON endpoint, with the page read only where the reconciliation asks
  (about one listing in ten to check the endpoint, and pre-orders where the endpoint cannot
  say so).

Per side: listings per second of crawl time (Scrapy's elapsed_time_seconds), requests per
listing, crawl-process CPU ms per listing (readers included) and accuracy: the share of
listings whose recorded price and availability equal what the demo store served.

Usage:  .venv/bin/python bench/platform_endpoints.py [--per-store 150] [--rounds 3] [--concurrency 8]
The last line printed is one JSON object; ratio = endpoint listings/s / page listings/s (median
round by ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SHAPES = ("shopify", "woocommerce", "magento")
SAME = ("AUTOTHROTTLE_ENABLED=false", "DOWNLOAD_DELAY=0", "LOG_LEVEL=WARNING")


def crawl_side(engine, env, shops, store, store_id: int, ids: list[int], side: str) -> dict:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE stores SET platform = :p WHERE id = :s"),
                     {"p": store.shape if side == "endpoint" else None, "s": store_id})
        run_id = int(conn.execute(sa.text("INSERT INTO crawl_runs (store_id, listing_ids) VALUES (:s, :l) RETURNING id"),
                                  {"s": store_id, "l": ids}).scalar())
    settings = [*SAME, f"PRICEHOUND_PLATFORM_ENDPOINTS={'true' if side == 'endpoint' else 'false'}"]
    cmd = [sys.executable, "-m", "spiders.run", str(run_id), *sum((["-s", s] for s in settings), [])]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{side} crawl of {store.slug} failed")
    with engine.connect() as conn:
        stats = conn.execute(sa.text("SELECT stats FROM crawl_runs WHERE id = :r"), {"r": run_id}).scalar()
        seen = conn.execute(sa.text(
            "SELECT l.url, o.price, o.availability FROM listing_observations o JOIN store_listings l "
            "ON l.id = o.listing_id WHERE o.crawl_run_id = :r AND o.kind = 'ok'"), {"r": run_id}).all()
    truth = {shops.product_url(store.slug, p.id): (p.price, p.availability) for p in shops.products(store.slug)}
    right = sum(1 for url, price, availability in seen if truth.get(url) == (price, availability))
    return {"listings": len(ids), "seconds": float(stats["elapsed_time_seconds"]),
            "requests": int(stats.get("downloader/request_count", 0)), "right": right,
            "cpu": float(stats.get("pricehound/cpu_seconds") or 0)}


def one_round(args, round_no: int, shops, stores) -> dict:
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
    totals = {side: {"listings": 0, "seconds": 0.0, "requests": 0, "right": 0, "cpu": 0.0} for side in ("page", "endpoint")}
    try:
        apply_schema(engine)
        for n, store in enumerate(stores):
            urls = [shops.product_url(store.slug, p.id) for p in store.products]
            with engine.begin() as conn:
                row = catalog.add_store(conn, slug=store.slug[:60], name=store.name,
                                        domains=[f"127.0.0.1:{shops.port(store.slug)}"], currency=store.currency,
                                        delay=0, concurrency=args.concurrency, is_local=True)
                ids = [int(conn.execute(sa.text("INSERT INTO store_listings (store_id, url) VALUES (:s, :u) RETURNING id"),
                                        {"s": row.id, "u": u}).scalar()) for u in urls]
            sides = ["page", "endpoint"] if (n + round_no) % 2 == 0 else ["endpoint", "page"]
            for side in sides:
                got = crawl_side(engine, env, shops, store, row.id, ids, side)
                for key, value in got.items():
                    totals[side][key] += value
            print(f"round {round_no + 1}: {store.slug:24s} {store.shape:12s} {len(urls)} listings", flush=True)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    out = {}
    for side, t in totals.items():
        out[side] = {"listings_per_s": round(t["listings"] / t["seconds"], 1),
                     "requests_per_listing": round(t["requests"] / t["listings"], 2),
                     "cpu_ms_per_listing": round(1000 * t["cpu"] / t["listings"], 2),
                     "accuracy": round(t["right"] / t["listings"], 4)}
    out["ratio"] = round(out["endpoint"]["listings_per_s"] / out["page"]["listings_per_s"], 3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-store", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--admin-url", default=os.environ.get("PRICEHOUND_BENCH_PG_ADMIN_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    from demostore import DemoStoreServer, make_catalogue

    stores = make_catalogue(len(SHAPES), args.per_store, seed=7, shapes=SHAPES)
    results = []
    with DemoStoreServer(stores) as shops:
        for round_no in range(max(1, args.rounds)):
            results.append(one_round(args, round_no, shops, stores))
            print(f"round {round_no + 1}: {json.dumps(results[-1])}", flush=True)
    median = sorted(results, key=lambda r: r["ratio"])[(len(results) - 1) // 2]
    print(f"page:     {median['page']}")
    print(f"endpoint: {median['endpoint']}")
    print(json.dumps({"bench": "platform_endpoints", "stores": len(SHAPES), "per_store": args.per_store,
                      "rounds": len(results), "page": median["page"], "endpoint": median["endpoint"],
                      "ratio": median["ratio"], "round_ratios": [r["ratio"] for r in results]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
