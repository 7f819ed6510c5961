"""One /metrics scrape against a large cluster's database, beside `pricehound status`.

Builds a throwaway database on the PostgreSQL at PRICEHOUND_BENCH_PG (default
postgresql://postgres@127.0.0.1:5432/postgres) with set-based SQL: 200 stores, 200,000 watched
listings in the frontier (10% due, waiting up to an hour), 30 days of crawl runs (one per store
every 2 minutes: 432,000 runs, with Scrapy stats), 300,000 price events over 30 days and 300,000
notifications (most sent, some pending, failed or suppressed), then ANALYZE.

Then, in the same run and on the same data, each several times:
  status   the counts `pricehound status` reads (pricehound.status.COUNTS_SQL), the existing
           ops query, as the baseline;
  scrape   pricehound.metrics.SNAPSHOT_SQL, everything /metrics serves from PostgreSQL.
Latency p50/p95/p99 of each; ratio = scrape p50 / status p50.

Usage:  .venv/bin/python bench/metrics_scrape.py [--listings N] [--rounds N] [--keep]
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pricehound import metrics, status  # noqa: E402
from pricehound.db import apply_schema, normalise_url  # noqa: E402

ADMIN_URL = os.environ.get("PRICEHOUND_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

GENERATE = [
    "INSERT INTO stores (slug, name, allowed_domains) "
    "SELECT 'store' || s, 'Store ' || s, ARRAY['store' || s || '.example'] FROM generate_series(1, :stores) s",
    "UPDATE stores SET failure_streak = 2, paused_until = pricehound_now() + interval '5 minutes' WHERE id % 25 = 0",
    """INSERT INTO store_listings (store_id, url, title)
       SELECT (i % :stores) + 1, 'https://store' || ((i % :stores) + 1) || '.example/p/' || i, 'Item ' || i
         FROM generate_series(1, :listings) i""",
    # the frontier straight in (its trigger is the watch stage's work, not what this measures)
    """INSERT INTO user_crawler_priorities (listing_id, store_id, priority, watchers, next_due_at, last_crawled_at)
       SELECT id, store_id, random(), 1,
              CASE WHEN id % 10 = 0 THEN pricehound_now() - random() * interval '1 hour'
                   ELSE pricehound_now() + random() * interval '6 hours' END,
              pricehound_now() - interval '1 hour'
         FROM store_listings""",
    """INSERT INTO crawl_runs (store_id, status, requested, ok, removed, failed, dropped, stats,
                               queued_at, started_at, finished_at)
       SELECT s, CASE WHEN t % 50 = 0 THEN 'failed' ELSE 'succeeded' END, 30, 27, 1, 2, 0,
              jsonb_build_object('downloader/response_count', 31, 'pricehound/failed/timeout', 1,
                                 'pricehound/failed/http_5xx', 1, 'pricehound/removed/http_404', 1,
                                 'finish_reason', 'finished', 'elapsed_time_seconds', 55.2),
              pricehound_now() - t * interval '2 minutes' - interval '70 seconds',
              pricehound_now() - t * interval '2 minutes' - interval '60 seconds',
              pricehound_now() - t * interval '2 minutes'
         FROM generate_series(1, :stores) s, generate_series(0, :runs_per_store - 1) t""",
    """INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, occurred_at)
       SELECT (i % :listings) + 1, (ARRAY['price_drop', 'price_rise', 'sold_out', 'back_in_stock'])[i % 4 + 1],
              10, 9, 'USD', pricehound_now() - (i::float / :events) * interval '30 days'
         FROM generate_series(1, :events) i""",
    "INSERT INTO users (email, verified_at) SELECT 'u' || u || '@example.com', pricehound_now() FROM generate_series(1, 1000) u",
    """INSERT INTO notifications (user_id, kind, dedupe_key, status, sent_at, created_at, updated_at)
       SELECT (i % 1000) + 1, 'price_drop', 'k' || i,
              CASE WHEN i % 100 = 0 THEN 'pending' WHEN i % 100 = 1 THEN 'failed'
                   WHEN i % 100 = 2 THEN 'suppressed' ELSE 'sent' END,
              CASE WHEN i % 100 > 2 THEN pricehound_now() - (i::float / :notes) * interval '30 days' END,
              pricehound_now() - (i::float / :notes) * interval '30 days',
              pricehound_now() - (i::float / :notes) * interval '30 days'
         FROM generate_series(1, :notes) i""",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(engine: sa.engine.Engine, statement: sa.TextClause, params: dict, rounds: int) -> list[float]:
    out = []
    with engine.connect() as conn:
        conn.execute(statement, params).all()  # warm the cache once
        for _ in range(rounds):
            start = time.perf_counter()
            conn.execute(statement, params).all()
            out.append((time.perf_counter() - start) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(percentile(ms, 0.95), 2),
            "p99_ms": round(percentile(ms, 0.99), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--listings", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    name = f"pricehound_bench_metrics_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(normalise_url(ADMIN_URL)).set(database=name)
    engine = sa.create_engine(url)
    try:
        apply_schema(engine)
        params = {"stores": args.stores, "listings": args.listings, "runs_per_store": args.days * 720,
                  "events": 300_000, "notes": 300_000}
        start = time.perf_counter()
        with engine.begin() as conn:
            for sql in GENERATE:
                conn.execute(sa.text(sql), params)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        built = time.perf_counter() - start
        print(f"built in {built:.0f} s: {args.stores} stores, {args.listings} frontier rows, "
              f"{args.stores * args.days * 720} crawl runs", file=sys.stderr)
        base = timed(engine, sa.text(status.COUNTS_SQL), {}, args.rounds)
        scrape = timed(engine, metrics.SNAPSHOT_SQL,
                       {"window": metrics.WINDOW_SECONDS, "send_window": metrics.SEND_RATE_SECONDS}, args.rounds)
        with engine.connect() as conn:
            row = conn.execute(metrics.SNAPSHOT_SQL, {"window": metrics.WINDOW_SECONDS,
                                                      "send_window": metrics.SEND_RATE_SECONDS}).one()
        result = {
            "bench": "metrics_scrape", "stores": args.stores, "frontier_rows": args.listings,
            "crawl_runs": args.stores * args.days * 720, "rounds": args.rounds,
            "due_targets": row.due["count"], "runs_last_hour": sum(row.runs_by_status.values()),
            "status": summary(base), "scrape": summary(scrape),
            "ratio": {"p50": round(statistics.median(scrape) / statistics.median(base), 3),
                      "p95": round(percentile(scrape, 0.95) / percentile(base, 0.95), 3),
                      "p99": round(percentile(scrape, 0.99) / percentile(base, 0.99), 3)},
        }
        print(json.dumps(result))
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
