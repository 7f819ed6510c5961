"""`pricehound crawl STORE --now --wait` against the bare crawl it wraps, on the embedded default.

An operator's one command from page to alert should cost little beyond the crawl itself. This
script serves one demo shop on 127.0.0.1 (real-looking domain through the store's host mapping),
starts the embedded PostgreSQL of a fresh data directory (no DATABASE_URL, no REDIS_URL, no
worker: what a new operator has), seeds a store, a verified user and N watches, and then, for
each round, crawls every watched page twice, each time in a fresh process:

- wait: ``pricehound crawl SHOP --now --wait --json`` - lease, spider process, writer, events,
  alert evaluation, report, store released;
- bare: ``python -m spiders.run RUN_ID`` on a run inserted by hand: the crawl alone.

A price changes on the shop before each ``wait`` so every round writes events and owes alerts.
Overhead is wait's wall time minus bare's; the goal is overhead under 10 s. The order of the two
sides alternates per round; the figures are medians over the rounds.

Usage:  .venv/bin/python bench/crawl_wait.py [--products 20] [--rounds 5] [--with-broker]
With --with-broker the embedded Redis runs too (no worker): crawl --wait then asks the workers
(one second's wait for an answer) and hands the events to the alert queue as a crawl does.
The last line printed is one JSON object; ratio = wait wall time / bare wall time (median).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SHOP = "northwind"


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return took, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20, help="watched pages of the shop")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--with-broker", action="store_true",
                        help="also run the embedded Redis (no worker): crawl --wait asks the workers first")
    args = parser.parse_args()

    import sqlalchemy as sa

    from demostore import DemoStoreServer, demo_catalogue

    with DemoStoreServer(demo_catalogue(faults=False)) as shops, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PRICEHOUND_") and k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(PRICEHOUND_DATA_DIR=tmp, PRICEHOUND_LOG_LEVEL="WARNING", PYTHONPATH=ROOT,
                   PRICEHOUND_ALERT_BATCH_WINDOW="0")
        os.environ.clear()
        os.environ.update(env)
        from pricehound import catalog
        from pricehound.config import get_settings
        from pricehound.db import apply_schema, get_engine

        get_settings.cache_clear()
        started = time.perf_counter()
        engine = get_engine(get_settings())  # starts the embedded PostgreSQL; kept up by this process
        apply_schema(engine)
        print(f"embedded PostgreSQL up and schema applied in {time.perf_counter() - started:.1f} s", flush=True)
        if args.with_broker:
            from pricehound import embedded

            embedded.redis_url(get_settings().data_dir)  # kept up by this process, like a broker nobody serves
        host, port = f"www.{SHOP}.example", shops.port(SHOP)
        products = shops.products(SHOP)[: args.products]
        with engine.begin() as conn:
            store = catalog.add_store(conn, slug=SHOP, name="Northwind", domains=[host], is_local=True, delay=0,
                                      concurrency=4, currency=products[0].currency)
            catalog.set_resolve(conn, store, [f"{host}:127.0.0.1:{port}"])
            catalog.add_user(conn, email="ann@example.com", verified=True)
            listing_ids = [catalog.add_watch(conn, email="ann@example.com",
                                             url=f"http://{host}{shops.product_path(SHOP, p.id)}").listing_id
                           for p in products]
        python = sys.executable
        wait_cmd = [python, "-m", "pricehound.cli", "crawl", SHOP, "--now", "--wait", "--json"]
        # a first crawl so every round compares re-crawls (the first reading writes all history)
        run(wait_cmd, env)

        results = []
        for round_no in range(args.rounds):
            product = products[round_no % len(products)]
            shops.set_product(SHOP, product.id, price=str((product.price * Decimal("0.8")).quantize(Decimal("0.01"))))

            def wait_side() -> tuple[float, dict]:
                took, proc = run(wait_cmd, env)
                return took, json.loads(proc.stdout)

            def bare_side() -> float:
                with engine.begin() as conn:
                    run_id = conn.execute(sa.text(
                        "INSERT INTO crawl_runs (store_id, listing_ids, requested) VALUES (:s, :l, :n) RETURNING id"),
                        {"s": store.id, "l": listing_ids, "n": len(listing_ids)}).scalar_one()
                took, _ = run([python, "-m", "spiders.run", str(run_id), "-s", "PRICEHOUND_HANDOFF=false"], env)
                return took

            if round_no % 2:
                bare = bare_side()
                wait, report = wait_side()
            else:
                wait, report = wait_side()
                bare = bare_side()
            shops.set_product(SHOP, product.id, price=str(product.price))
            results.append({"wait": wait, "bare": bare, "overhead": wait - bare, "events": len(report["events"]),
                            "owed": len(report["owed"]), "mode": report["mode"],
                            "crawl_s": report["crawl_seconds"]})
            print(f"round {round_no + 1}: crawl --wait {wait:.2f} s ({report['mode']}; {len(report['events'])} events, "
                  f"{len(report['owed'])} alerts owed), bare spiders.run {bare:.2f} s, overhead {wait - bare:.2f} s",
                  flush=True)
        engine.dispose()
        if args.with_broker:
            from pricehound import embedded

            embedded.stop()  # before the data directory goes

    wait_median = statistics.median(r["wait"] for r in results)
    bare_median = statistics.median(r["bare"] for r in results)
    overhead = statistics.median(r["overhead"] for r in results)
    print(f"median of {len(results)} rounds: crawl --wait {wait_median:.2f} s, bare crawl {bare_median:.2f} s, "
          f"overhead {overhead:.2f} s (goal < 10 s)")
    print(json.dumps({"bench": "crawl_wait", "broker": bool(args.with_broker), "pages": len(listing_ids),
                      "rounds": len(results),
                      "wait_s": round(wait_median, 2), "bare_s": round(bare_median, 2),
                      "overhead_s": round(overhead, 2), "ratio": round(wait_median / bare_median, 3),
                      "round_overheads": [round(r["overhead"], 2) for r in results]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
