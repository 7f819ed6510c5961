"""Freshness: the demand schedule against the budgeted revisit plan, one store, a simulated week.

    .venv/bin/python bench/freshness.py                    # a week; defaults below
    .venv/bin/python bench/freshness.py --days 3 --warmup-hours 12 --seed 1

A simulated day costs a few thousand real statements (dispatch, writer flushes, plans): 2-4
minutes of wall time each on the shared 2-core development machine, most of it waiting for
PostgreSQL (BENCHMARKS.md).

One store (download delay --delay s, concurrency 1, intervals 5 min .. 6 h) with --listings
listings. Their prices change as Poisson processes with rates the scheduler never sees: a few
volatile listings (--volatile-share, a change every 15 min to 2 h), the rest slow (median a
change every 3 days, log-normal spread). --watches watchers, one watch each, pick listings by a
Zipf law (s = --zipf), every tenth of them premium, so a few listings are hot and most have one
watcher.

Time is virtual: the process's clock (pricehound.clock, fixed) is set to each simulated instant,
so pricehound_now() in every statement says the same. The real scheduling SQL runs against a
real PostgreSQL (a database of its own on --admin-url, dropped afterwards): dispatch is
workers.schedule.lease_due (beat ticks every --beat s of virtual time), every observation goes
through the real writer (pipelines.flush.flush_rows: prices, history, events, the frontier and
its change-rate window), and the plan is plan_revisits() every --plan-every s. The simulator
plays the crawler: a run fetches its listings in order, one every --delay s, reads each
listing's simulated price at that instant, flushes every --flush-seconds of crawling, and
releases the store when done.

Both policies run in the same process on the same change sequences: first the demand schedule
(PRICEHOUND_REVISIT_POLICY=demand), then the budgeted plan with its budget share set so it
fetches the same number of pages (measured, then corrected once if it missed by more than 3%).
A change is detected at the first visit at or after it. Reported over the changes of watched
listings (nobody's watch, no crawl, under either policy) after
--warmup-hours (both policies start cold) and before the last hour: the share detected within
3 minutes and within 1 hour, p50/p95 detection delay for all listings and hot ones (demand at or
over PRICEHOUND_HOT_DEMAND), pages fetched. The last line is JSON; ``ratio`` is the budgeted
plan's changes seen within 3 minutes over the demand schedule's.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import sqlalchemy as sa  # noqa: E402

START = datetime(2027, 1, 4, tzinfo=timezone.utc)
DETECT_FAST = 180.0
DETECT_HOUR = 3600.0


@dataclass
class Listing:
    """One simulated product page: its change times and the price after each change."""

    rate_per_hour: float
    changes: list[float] = field(default_factory=list)   # seconds since START
    prices: list[Decimal] = field(default_factory=list)  # prices[0] before any change
    listing_id: int = 0

    def price_at(self, t: float) -> Decimal:
        return self.prices[bisect.bisect_right(self.changes, t)]


def make_listings(n: int, *, days: float, volatile_share: float, seed: int,
                  rate_changes: dict[int, tuple[float, float]] | None = None) -> list[Listing]:
    """Listings with Poisson change times over ``days``. ``rate_changes`` maps an index to
    (from_second, new_rate_per_hour): the listing changes at its own rate until then, then at
    the new one (a page that starts changing often)."""
    rng = random.Random(seed)
    horizon = days * 86400.0
    out = []
    for i in range(n):
        if rng.random() < volatile_share:
            rate = 1.0 / rng.uniform(0.25, 2.0)          # a change every 15 min .. 2 h
        else:
            rate = math.exp(rng.gauss(math.log(1 / 72.0), 1.0))  # median every 3 days
        listing = Listing(rate_per_hour=rate, prices=[Decimal(f"{rng.uniform(10, 500):.2f}")])
        t = 0.0
        switch = (rate_changes or {}).get(i)
        while True:
            current = switch[1] if switch and t >= switch[0] else rate
            step = rng.expovariate(current / 3600.0)
            if switch and t < switch[0] <= t + step:
                t = switch[0]  # memoryless: restart at the switch with the new rate
                continue
            t += step
            if t >= horizon:
                break
            factor = Decimal(str(round(rng.uniform(0.85, 0.95) if rng.random() < 0.6 else rng.uniform(1.05, 1.15), 3)))
            listing.changes.append(t)
            listing.prices.append(max(Decimal("1.00"), (listing.prices[-1] * factor).quantize(Decimal("0.01"))))
        out.append(listing)
    return out


def zipf_watchers(n_listings: int, watches: int, s: float, seed: int) -> list[int]:
    """For each watch, the index of the listing it watches (rank-ordered Zipf, shuffled ranks)."""
    rng = random.Random(seed + 1)
    weights = [1.0 / (k + 1) ** s for k in range(n_listings)]
    ranks = list(range(n_listings))
    rng.shuffle(ranks)  # popularity independent of volatility
    picks = rng.choices(range(n_listings), weights=weights, k=watches)
    return [ranks[p] for p in picks]


def set_clock(t: float) -> None:
    from pricehound import clock

    clock.set_clock(clock.Clock(fixed=START + timedelta(seconds=t)))


def seed_store(engine: sa.engine.Engine, listings: list[Listing], watched: list[int], *, delay: float,
               premium_every: int = 10) -> int:
    """The store, its listings and the watches (one user each), set-based; returns the store id."""
    from pricehound import catalog
    from pricehound.db import empty_all_tables

    set_clock(0.0)
    with engine.begin() as conn:
        empty_all_tables(conn)
        store = catalog.add_store(conn, slug="simshop", name="Sim Shop", domains=["shop.sim.example"],
                                  delay=str(delay), concurrency=1)
        ids = conn.execute(sa.text(
            """
            INSERT INTO store_listings (store_id, url)
            SELECT :s, 'https://shop.sim.example/p/' || g FROM generate_series(1, :n) g
            RETURNING id
            """), {"s": store.id, "n": len(listings)}).scalars().all()
        for listing, lid in zip(listings, sorted(ids), strict=True):
            listing.listing_id = lid
        conn.execute(sa.text(
            """
            INSERT INTO users (email, verified_at, account_type)
            SELECT 'w' || g || '@sim.example', pricehound_now(),
                   CASE WHEN g % :premium = 0 THEN 'premium' ELSE 'free' END
              FROM generate_series(1, :n) g
            """), {"n": len(watched), "premium": premium_every})
        conn.execute(sa.text("INSERT INTO shopping_lists (user_id, name) SELECT id, 'Watching' FROM users"))
        conn.execute(sa.text(
            """
            INSERT INTO shopping_list_items (list_id, listing_id)
            SELECT l.id, w.listing_id
              FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM shopping_lists) l
              JOIN unnest(CAST(:watched AS bigint[])) WITH ORDINALITY AS w(listing_id, n) ON w.n = l.n
            """), {"watched": [listings[i].listing_id for i in watched]})
        return store.id


CLAIM = sa.text("UPDATE crawl_runs SET status = 'running', started_at = pricehound_now() WHERE id = :id "
                "RETURNING listing_ids")
FINISH = sa.text(
    """
    WITH r AS (UPDATE crawl_runs SET status = 'succeeded', finished_at = pricehound_now() WHERE id = :id)
    UPDATE stores SET crawl_lease_until = NULL, crawl_leased_by = NULL, current_run_id = NULL,
                      last_outcome = 'succeeded', last_crawl_at = pricehound_now()
     WHERE id = :store_id
    """
)
NEXT_DUE = sa.text("SELECT extract(epoch FROM min(next_due_at) - :start) FROM user_crawler_priorities WHERE watchers > 0")


@dataclass
class SimResult:
    policy: str
    visits: dict[int, list[float]]
    pages: int
    plans: list
    seconds: float
    hot: set[int]


def simulate(engine: sa.engine.Engine, settings, listings: list[Listing], store_id: int, *, policy: str,
             days: float, delay: float, beat: float = 5.0, plan_every: float = 600.0,
             flush_seconds: float = 20.0, progress: bool = False) -> SimResult:
    """Play the crawler for ``days`` of virtual time under ``policy``; return every visit."""
    from pipelines.flush import Row, flush_rows
    from pricehound import freshness
    from workers import schedule

    by_id = {x.listing_id: x for x in listings}
    visits: dict[int, list[float]] = {x.listing_id: [] for x in listings}
    horizon = days * 86400.0
    t = 0.0
    next_plan = 0.0
    pages = 0
    plans = []
    started = time.perf_counter()
    next_report = 86400.0
    while t < horizon:
        if t >= next_plan:
            set_clock(t)
            with engine.begin() as conn:
                plans = freshness.plan(conn, settings, policy=policy)
            next_plan = t + plan_every
        set_clock(t)
        with engine.begin() as conn:
            runs = schedule.lease_due(conn, lease_seconds=1200, leased_by="sim")
            ids = conn.execute(CLAIM, {"id": runs[0].run_id}).scalar_one() if runs else None
        if runs:
            run_id = runs[0].run_id
            batch: list = []
            batch_start = t
            for k, lid in enumerate(ids):
                at = t + k * delay
                if batch and at - batch_start >= flush_seconds:
                    pages += _flush(engine, flush_rows, batch, run_id, batch_start)
                    batch, batch_start = [], at
                listing = by_id[lid]
                batch.append(Row(lid, "ok", None, listing.price_at(at), "USD", None, "in_stock", None, None, None,
                                 None, START + timedelta(seconds=at), False))
                visits[lid].append(at)
            if batch:
                pages += _flush(engine, flush_rows, batch, run_id, batch_start)
            end = t + len(ids) * delay
            set_clock(end)
            with engine.begin() as conn:
                conn.execute(FINISH, {"id": run_id, "store_id": store_id})
            t = math.ceil(end / beat) * beat  # the next beat tick after the run
            continue
        with engine.connect() as conn:
            due = conn.execute(NEXT_DUE, {"start": START}).scalar()
        wake = min(float(due) if due is not None else horizon, next_plan, horizon)
        t = max(t + beat, math.ceil(wake / beat) * beat)
        if progress and t >= next_report:
            print(f"  {policy}: day {t / 86400:.0f}, {pages} pages, {time.perf_counter() - started:.0f} s", flush=True)
            next_report += 86400.0
    with engine.connect() as conn:
        hot = set(conn.execute(sa.text("SELECT listing_id FROM user_crawler_priorities WHERE hot")).scalars())
    return SimResult(policy=policy, visits=visits, pages=pages, plans=plans,
                     seconds=time.perf_counter() - started, hot=hot)


def _flush(engine, flush_rows, batch, run_id: int, at: float) -> int:
    """One writer flush with the clock at the batch's first reading (the real writer flushes
    every 2 s, so its clock trails a reading by at most that)."""
    set_clock(at)
    with engine.begin() as conn:
        flush_rows(conn, batch, run_id=run_id)
    return len(batch)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def detection(listings: list[Listing], result: SimResult, *, start: float, end: float, horizon: float,
              only: set[int] | None = None) -> dict:
    """Delay from each change in [start, end) to the first visit at or after it (a change never
    seen counts from it to the end of the run, and as seen neither within 3 min nor 1 h)."""
    delays = []
    for listing in listings:
        if only is not None and listing.listing_id not in only:
            continue
        seen = result.visits[listing.listing_id]
        for c in listing.changes:
            if not start <= c < end:
                continue
            i = bisect.bisect_left(seen, c)
            delays.append(seen[i] - c if i < len(seen) else horizon - c)
    n = len(delays)
    return {
        "changes": n,
        "within_3min": sum(1 for d in delays if d <= DETECT_FAST),
        "within_1h": sum(1 for d in delays if d <= DETECT_HOUR),
        "share_3min": round(sum(1 for d in delays if d <= DETECT_FAST) / n, 4) if n else None,
        "share_1h": round(sum(1 for d in delays if d <= DETECT_HOUR) / n, 4) if n else None,
        "p50_s": _r(percentile(delays, 0.5)), "p95_s": _r(percentile(delays, 0.95)),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=float, default=7.0)
    p.add_argument("--listings", type=int, default=800)
    p.add_argument("--watches", type=int, default=1200)
    p.add_argument("--zipf", type=float, default=0.8, help="Zipf exponent of watchers over listings")
    p.add_argument("--volatile-share", type=float, default=0.1)
    p.add_argument("--delay", type=float, default=2.0, help="the store's download delay, s")
    p.add_argument("--beat", type=float, default=5.0, help="seconds between dispatch ticks")
    p.add_argument("--plan-every", type=float, default=600.0, help="virtual seconds between revisit plans")
    p.add_argument("--flush-seconds", type=float, default=60.0, help="virtual seconds of crawling per writer flush")
    p.add_argument("--warmup-hours", type=float, default=24.0)
    p.add_argument("--hot-max-revisit", type=float, default=180.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--admin-url", default=os.environ.get("PRICEHOUND_BENCH_PG_ADMIN_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/postgres"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from pricehound import clock
    from pricehound.config import Settings
    from pricehound.db import apply_schema, get_engine, normalise_url

    name = f"pricehound_bench_freshness_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_url(args.admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # a scratch database: a commit need not wait for the disk (thousands of small flushes)
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = sa.engine.make_url(normalise_url(args.admin_url)).set(database=name)
    plain = url.render_as_string(hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    previous = clock.current()
    try:
        settings = Settings(database_url=plain, redis_url="redis://127.0.0.1:6379/15",
                            hot_max_revisit=args.hot_max_revisit)
        engine = get_engine(settings)
        apply_schema(engine)
        listings = make_listings(args.listings, days=args.days, volatile_share=args.volatile_share, seed=args.seed)
        watched = zipf_watchers(args.listings, args.watches, args.zipf, args.seed)
        horizon = args.days * 86400.0
        window = (args.warmup_hours * 3600.0, horizon - 3600.0)
        capacity = 3600.0 / max(args.delay, 1.0)
        print(f"freshness: {args.listings} listings ({sum(len(x.changes) for x in listings)} changes in "
              f"{args.days:g} days), {args.watches} watches (Zipf {args.zipf}), delay {args.delay} s "
              f"({capacity:.0f} pages/h polite capacity); measuring changes from hour {args.warmup_hours:g}",
              flush=True)

        results = {}
        store_id = seed_store(engine, listings, watched, delay=args.delay)
        results["demand"] = simulate(engine, settings, listings, store_id, policy="demand", days=args.days,
                                     delay=args.delay, beat=args.beat, plan_every=args.plan_every,
                                     flush_seconds=args.flush_seconds, progress=True)
        target_pages = results["demand"].pages
        # a plan's pages are its budget plus what rides along with runs (rows due within a run's
        # length are taken early) and second readings: about a tenth more, so start a tenth lower
        share = min(1.0, target_pages / args.days / 24.0 / capacity / 1.1)
        for attempt in range(2):
            store_id = seed_store(engine, listings, watched, delay=args.delay)
            run = simulate(engine, settings.with_overrides(revisit_budget_share=share), listings, store_id,
                           policy="budgeted", days=args.days, delay=args.delay, beat=args.beat,
                           plan_every=args.plan_every, flush_seconds=args.flush_seconds, progress=True)
            results["budgeted"] = run
            miss = run.pages / target_pages - 1
            print(f"  budgeted with budget share {share:.3f}: {run.pages} pages against {target_pages} "
                  f"({miss:+.1%})", flush=True)
            if abs(miss) <= 0.03 or attempt:
                break
            share = min(1.0, share * target_pages / run.pages)
        engine.dispose()
        hot = results["budgeted"].hot | results["demand"].hot
        crawled = {listings[i].listing_id for i in watched}  # nobody watches the others: never crawled
        report = {}
        for policy, res in results.items():
            report[policy] = {
                "pages": res.pages, "sim_seconds": round(res.seconds, 1),
                "all": detection(listings, res, start=window[0], end=window[1], horizon=horizon, only=crawled),
                "hot": detection(listings, res, start=window[0], end=window[1], horizon=horizon, only=hot),
            }
        plan = results["budgeted"].plans[0] if results["budgeted"].plans else None
        print()
        print(f"{'policy':<9} {'pages':>6} {'<=3 min':>8} {'<=1 h':>7} {'p50 s':>8} {'p95 s':>9} "
              f"{'hot <=3m':>9} {'hot p50':>8} {'hot p95':>8}")
        for policy, r in report.items():
            a, h = r["all"], r["hot"]
            print(f"{policy:<9} {r['pages']:>6} {a['share_3min']:>8.1%} {a['share_1h']:>7.1%} {a['p50_s']:>8} "
                  f"{a['p95_s']:>9} {h['share_3min'] or 0:>9.1%} {h['p50_s']!s:>8} {h['p95_s']!s:>8}")
        print(f"changes measured: {report['demand']['all']['changes']} on {len(crawled)} watched listings "
              f"({report['demand']['hot']['changes']} on {len(hot)} hot listings)")
        if plan is not None:
            print(f"last budgeted plan: budget {plan.budget_pages_per_hour:.0f} pages/h, planned "
                  f"{plan.planned_pages_per_hour:.0f}, hot floor {'held' if plan.floor_honoured else 'NOT held'} "
                  f"(hot revisit {plan.hot_revisit})")
        base = report["demand"]["all"]["within_3min"]
        ratio = report["budgeted"]["all"]["within_3min"] / base if base else None
        print(json.dumps({
            "bench": "freshness", "days": args.days, "listings": args.listings, "watches": args.watches,
            "delay_s": args.delay, "seed": args.seed, "warmup_hours": args.warmup_hours,
            "budget_share": round(share, 4), "hot_listings": len(hot), **report,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "ratio_means": "changes detected within 3 min, budgeted plan over demand schedule, same pages",
        }), flush=True)
        return 0
    finally:
        clock.set_clock(previous)
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
