"""Write throughput: the crawl stage's batch writer against a COPY + one MERGE baseline.

Both write the same 100,000 observations (10% with a new price) over the same 100,000 listings
that already have a price, in batches of the same size, one transaction per batch, on a
throwaway database this script creates and drops:

- writer: pipelines.flush.flush_rows, exactly what a crawl runs per flush (load the batch, upsert
  store_prices, append price_history_log, insert price_events, update store_listings, the
  frontier and the crawl_runs counters);
- baseline: COPY the batch into a temporary table, then one statement that MERGEs it into
  store_prices (price, regular price, availability, observed_at, changed_at) and appends
  price_history_log for the rows whose price, currency or availability changed - the least
  work that keeps current prices and the history right.

A second baseline, ``contract``, is printed beside it (never the ``ratio``): the same COPY and
one statement that also does the two other writes every flush owes by the issue's contract - one
price_events row per change and the frontier row's next crawl (last_crawled_at, next_due_at) for
every observation - with none of the listing state (status, counters, identity) the writer keeps.
It says how much of the gap is the contract itself rather than how the writer does it.

The listings start in the state a previous crawl left them in (title and SKU as the
observations carry them), as they are on every crawl but a listing's first. Each round resets
the prices, history and events, vacuums, and runs both sides on the same observations; the
order alternates between rounds, and the median round of each side is reported.

Usage:  .venv/bin/python bench/write_throughput.py [--observations N] [--batch B] [--rounds R]
The last line printed is one JSON object; ratio = writer obs/s / baseline obs/s (medians).
On a machine shared with other work the wall times swing; the CPU seconds each side spent (the
PostgreSQL backend's, read from /proc when the server is on this host, plus this process's)
swing far less and are printed beside them (``cpu_ratio``: baseline CPU / writer CPU, minima).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pipelines.flush import Row, flush_rows  # noqa: E402
from pricehound.db import apply_schema, normalise_url  # noqa: E402

SEED_SQL = """
INSERT INTO stores (slug, name, allowed_domains, is_local) VALUES ('bench', 'Bench', '{shop.example}', false);
INSERT INTO store_listings (store_id, url, status, first_seen_at, title, sku)
SELECT 1, 'https://shop.example/p/' || g, 'active', pricehound_now() - interval '30 days', 'Product ' || g, 'SKU-' || g
  FROM generate_series(1, %(n)s) g;
INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at)
SELECT g, 10 + (g %% 500), 'USD', 'in_stock', pricehound_now() - interval '1 hour', pricehound_now() - interval '1 hour'
  FROM generate_series(1, %(n)s) g;
INSERT INTO user_crawler_priorities (listing_id, store_id, watchers, priority)
SELECT g, 1, 1, 0.69 FROM generate_series(1, %(n)s) g;
INSERT INTO crawl_runs (store_id, status) VALUES (1, 'running');
"""

RESET_SQL = """
TRUNCATE price_events, price_history_log CASCADE;
UPDATE store_prices SET price = 10 + (listing_id %% 500), currency = 'USD', availability = 'in_stock',
       regular_price = NULL, observed_at = pricehound_now() - interval '1 hour', changed_at = pricehound_now() - interval '1 hour';
VACUUM ANALYZE store_prices;
VACUUM ANALYZE store_listings;
VACUUM ANALYZE user_crawler_priorities;
"""

BASELINE_TEMP = """
CREATE TEMP TABLE IF NOT EXISTS bench_batch (
    listing_id bigint, price numeric(12,2), currency char(3), regular_price numeric(12,2),
    availability text, observed_at timestamptz
) ON COMMIT DELETE ROWS
"""

# The same planner settings the writer uses (pipelines/flush.py): index lookups by primary key.
# Left to itself the planner hash-joins the unanalysed batch table against all of store_prices,
# which made this baseline three times slower than it needs to be.
BASELINE_PLAN = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"

# Both baselines end with the same MERGE of current prices.
PRICES_MERGE = """
MERGE INTO store_prices sp
USING bench_batch b ON sp.listing_id = b.listing_id
WHEN MATCHED AND b.observed_at >= sp.observed_at THEN UPDATE
     SET price = b.price, currency = b.currency, regular_price = b.regular_price,
         availability = b.availability, observed_at = b.observed_at,
         changed_at = CASE WHEN (sp.price, sp.currency, sp.availability) IS DISTINCT FROM (b.price, b.currency, b.availability)
                           THEN b.observed_at ELSE sp.changed_at END
WHEN NOT MATCHED THEN INSERT (listing_id, price, currency, regular_price, availability, observed_at, changed_at)
     VALUES (b.listing_id, b.price, b.currency, b.regular_price, b.availability, b.observed_at, b.observed_at)
"""

# One statement: history for the rows that changed (read against the prices as they were before
# this statement: data-modifying CTEs share one snapshot), then the MERGE of current prices.
BASELINE_MERGE = """
WITH history AS (
    INSERT INTO price_history_log (listing_id, observed_at, price, currency, regular_price, availability)
    SELECT b.listing_id, b.observed_at, b.price, b.currency, b.regular_price, b.availability
      FROM bench_batch b LEFT JOIN store_prices p ON p.listing_id = b.listing_id
     WHERE p.listing_id IS NULL
        OR (b.observed_at >= p.observed_at
            AND (p.price, p.currency, p.availability) IS DISTINCT FROM (b.price, b.currency, b.availability))
)
""" + PRICES_MERGE

# The contract's writes and nothing else: history and an event per change, current prices, and the
# next crawl of every observed listing (the same interval function and store bounds the writer uses).
CONTRACT_MERGE = """
WITH old AS MATERIALIZED (
    SELECT b.*, p.listing_id IS NOT NULL AS had_price, p.price AS old_price, p.currency AS old_currency,
           p.availability AS old_availability,
           p.listing_id IS NULL
           OR (b.observed_at >= p.observed_at
               AND (p.price, p.currency, p.availability) IS DISTINCT FROM (b.price, b.currency, b.availability))
               AS changed
      FROM bench_batch b LEFT JOIN store_prices p ON p.listing_id = b.listing_id
), history AS (
    INSERT INTO price_history_log (listing_id, observed_at, price, currency, regular_price, availability)
    SELECT listing_id, observed_at, price, currency, regular_price, availability FROM old WHERE changed
), events AS (
    INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, old_availability,
                              new_availability, occurred_at)
    SELECT listing_id,
           CASE WHEN availability = 'out_of_stock' AND old_availability <> 'out_of_stock' THEN 'sold_out'
                WHEN old_availability = 'out_of_stock' AND availability <> 'out_of_stock' THEN 'back_in_stock'
                WHEN price < old_price THEN 'price_drop' ELSE 'price_rise' END,
           old_price, price, currency, old_availability, availability, observed_at
      FROM old
     WHERE changed AND had_price AND old_currency = currency
       AND (price IS DISTINCT FROM old_price OR availability IS DISTINCT FROM old_availability)
), frontier AS (
    UPDATE user_crawler_priorities f
       SET last_crawled_at = o.observed_at,
           next_due_at = pricehound_now() + crawl_interval(f.priority, s.min_interval, s.max_interval),
           updated_at = pricehound_now()
      FROM old o, stores s
     WHERE f.listing_id = o.listing_id AND s.id = f.store_id
)
""" + PRICES_MERGE


def observations(n: int, changed_share: float, seed: int = 7) -> list[Row]:
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    out = []
    for lid in range(1, n + 1):
        price = Decimal(10 + lid % 500)
        if rng.random() < changed_share:
            price -= Decimal("1.50")
        out.append(Row(lid, "ok", None, price.quantize(Decimal("0.01")), "USD", None, "in_stock",
                       f"Product {lid}", f"SKU-{lid}", None, None, now + timedelta(microseconds=lid), False))
    return out


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a PostgreSQL backend on this host, or None."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


def timed(run, engine, rows: list[Row], batch: int) -> tuple[float, float | None]:
    """Wall seconds and CPU seconds (backend + this process) of one side's whole run."""
    with engine.connect() as conn:
        pid = int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar())
    server0, client0 = backend_cpu(pid), time.process_time()
    wall = run(engine, rows, batch)
    server1 = backend_cpu(pid)
    cpu = None if server0 is None or server1 is None else server1 - server0 + time.process_time() - client0
    return wall, cpu


def run_writer(engine, rows: list[Row], batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        with engine.begin() as conn:
            flush_rows(conn, rows[i:i + batch], run_id=1, removed_after=2)
    return time.perf_counter() - started


def run_baseline(engine, rows: list[Row], batch: int, statement: str = BASELINE_MERGE) -> float:
    started = time.perf_counter()
    for i in range(0, len(rows), batch):
        buf = io.StringIO()
        for r in rows[i:i + batch]:
            regular = "\\N" if r.regular_price is None else r.regular_price
            buf.write(f"{r.listing_id}\t{r.price}\t{r.currency}\t{regular}\t{r.availability}\t"
                      f"{r.observed_at.isoformat()}\n")
        buf.seek(0)
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                cur.execute(BASELINE_TEMP)
                cur.copy_expert("COPY bench_batch FROM STDIN", buf)
                cur.execute(BASELINE_PLAN)
                cur.execute(statement)
            raw.commit()
        finally:
            raw.close()
    return time.perf_counter() - started


def run_contract(engine, rows: list[Row], batch: int) -> float:
    return run_baseline(engine, rows, batch, CONTRACT_MERGE)


def reset(admin_engine_url: str) -> None:
    eng = sa.create_engine(admin_engine_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        for statement in RESET_SQL.replace("%%", "%").split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
    eng.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.10)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--admin-url", default=os.environ.get("PRICEHOUND_BENCH_PG_ADMIN_URL",
                                                               "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    name = f"pricehound_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_url(args.admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(normalise_url(args.admin_url)).set(database=name)
    db_url = url.render_as_string(hide_password=False)
    engine = sa.create_engine(db_url, pool_size=1, max_overflow=0)  # one backend: its CPU is the side's
    try:
        apply_schema(engine)
        raw = engine.raw_connection()
        with raw.cursor() as cur:
            cur.execute(SEED_SQL, {"n": args.observations})
        raw.commit()
        raw.close()
        rows = observations(args.observations, args.changed)
        writer_times, baseline_times, contract_times = [], [], []
        cpu: dict[str, list[float]] = {"writer": [], "baseline": [], "contract": []}
        sides = [("writer", run_writer, writer_times), ("baseline", run_baseline, baseline_times),
                 ("contract", run_contract, contract_times)]
        for round_no in range(args.rounds):  # alternate, so neither side always runs on a warmer cache
            for side, run, times in (sides if round_no % 2 == 0 else sides[::-1]):
                reset(db_url)
                wall, seconds = timed(run, engine, rows, args.batch)
                times.append(wall)
                if seconds is not None:
                    cpu[side].append(seconds)
        count = "SELECT count(*) FROM {}"
        reset(db_url)
        run_writer(engine, rows, args.batch)
        with engine.connect() as conn:
            history = conn.execute(sa.text(count.format("price_history_log"))).scalar()
            events = conn.execute(sa.text(count.format("price_events"))).scalar()
        reset(db_url)
        run_baseline(engine, rows, args.batch)
        with engine.connect() as conn:
            baseline_history = conn.execute(sa.text(count.format("price_history_log"))).scalar()
        reset(db_url)
        run_contract(engine, rows, args.batch)
        with engine.connect() as conn:
            contract_events = conn.execute(sa.text(count.format("price_events"))).scalar()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    writer_s, baseline_s = statistics.median(writer_times), statistics.median(baseline_times)
    writer = args.observations / writer_s
    baseline = args.observations / baseline_s
    contract = args.observations / statistics.median(contract_times)
    shown = lambda times: ", ".join(f"{t:.2f}" for t in times)  # noqa: E731
    print(f"observations: {args.observations}, changed: {args.changed:.0%}, batch: {args.batch}, "
          f"rounds: {args.rounds}")
    print(f"writer:   {writer:10.0f} obs/s  (median {writer_s:.2f}s of [{shown(writer_times)}]; "
          f"{history} history rows, {events} events)")
    print(f"baseline: {baseline:10.0f} obs/s  (median {baseline_s:.2f}s of [{shown(baseline_times)}]; "
          f"COPY + one MERGE with history, {baseline_history} history rows)")
    print(f"contract: {contract:10.0f} obs/s  (median {statistics.median(contract_times):.2f}s of "
          f"[{shown(contract_times)}]; the baseline plus an event per change and every frontier row, "
          f"{contract_events} events; writer / contract {writer / contract:.2f})")
    cpu_ratio = min(cpu["baseline"]) / min(cpu["writer"]) if cpu["writer"] and cpu["baseline"] else None
    contract_cpu_ratio = (min(cpu["contract"]) / min(cpu["writer"])) if cpu["writer"] and cpu["contract"] else None
    if cpu_ratio is not None:
        print(f"CPU (PostgreSQL backend + client), least of {args.rounds}: writer {min(cpu['writer']):.2f} s, "
              f"baseline {min(cpu['baseline']):.2f} s; cpu_ratio {cpu_ratio:.2f}")
    print(f"ratio:    {writer / baseline:.2f}  (goal >= 0.8)")
    print(json.dumps({"bench": "write_throughput", "observations": args.observations,
                      "changed_share": args.changed, "batch": args.batch, "rounds": args.rounds,
                      "writer_obs_per_s": round(writer, 1), "baseline_obs_per_s": round(baseline, 1),
                      "writer_s": [round(t, 3) for t in writer_times],
                      "baseline_s": [round(t, 3) for t in baseline_times],
                      "history_rows": history, "baseline_history_rows": baseline_history, "events": events,
                      "writer_cpu_s": [round(t, 3) for t in cpu["writer"]],
                      "baseline_cpu_s": [round(t, 3) for t in cpu["baseline"]],
                      "cpu_ratio": None if cpu_ratio is None else round(cpu_ratio, 3),
                      "contract_obs_per_s": round(contract, 1),
                      "contract_s": [round(t, 3) for t in contract_times], "contract_events": contract_events,
                      "contract_cpu_s": [round(t, 3) for t in cpu["contract"]],
                      "writer_vs_contract": round(writer / contract, 3),
                      "writer_vs_contract_cpu": None if contract_cpu_ratio is None else round(contract_cpu_ratio, 3),
                      "ratio": round(writer / baseline, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
