"""The schedule stage with everything real: Celery beat and workers in subprocesses, the Redis
broker, PostgreSQL, `python -m spiders.run` crawling the local demo stores."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa

from demostore import DemoStoreServer, demo_catalogue
from pricehound import catalog
from tests.schedule.conftest import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("spiders.run") is None, reason="needs spiders.run"),
]

FAST_CRAWLS = {
    "PRICEHOUND_BEAT_INTERVAL": "0.5",
    "PRICEHOUND_DOWNLOAD_TIMEOUT": "3",
    "PRICEHOUND_CRAWL_TIME_LIMIT": "60",
}


@pytest.fixture()
def shops():
    with DemoStoreServer(demo_catalogue(faults=False), slow_delay=2.0, timeout_hold=10.0) as server:
        yield server


def add_demo_store(db, shops: DemoStoreServer, slug: str, *, min_interval=timedelta(minutes=5),
                   max_interval=timedelta(hours=6)) -> catalog.Store:
    currency = next(s.currency for s in shops.catalogue() if s.slug == slug)
    with db.begin() as conn:
        return catalog.add_store(conn, slug=slug, name=slug, domains=[f"127.0.0.1:{shops.port(slug)}"],
                                 currency=currency, delay="0", min_interval=min_interval,
                                 max_interval=max_interval, is_local=True)


def watch_products(db, shops: DemoStoreServer, slug: str, product_ids: list[str],
                   email: str = "ann@example.com") -> dict[str, int]:
    """Watches made the way users make them; returns listing id per product id."""
    out = {}
    with db.begin() as conn:
        catalog.add_user(conn, email=email, verified=True)
        for pid in product_ids:
            out[pid] = catalog.add_watch(conn, email=email, url=shops.product_url(slug, pid)).listing_id
    return out


def product_ids(shops: DemoStoreServer, slug: str, n: int) -> list[str]:
    return [p.id for p in shops.products(slug)[:n]]


def scalar(db, sql: str, **params):
    with db.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_watches_become_prices_through_beat_dispatch_and_crawl_workers(db, shops, celery_procs):
    wood, kitchen = "northwind", "copperpot"
    add_demo_store(db, shops, wood)
    add_demo_store(db, shops, kitchen)
    listings = {**watch_products(db, shops, wood, product_ids(shops, wood, 3)),
                **watch_products(db, shops, kitchen, product_ids(shops, kitchen, 3))}
    celery_procs.beat(extra_env=FAST_CRAWLS)
    for name in ("w1", "w2"):  # two workers: politeness must hold across them
        celery_procs.worker(concurrency=2, extra_env=FAST_CRAWLS, name=name)

    wait_for(lambda: scalar(db, "SELECT count(*) FROM store_prices WHERE price IS NOT NULL") == 6
             and scalar(db, "SELECT count(*) FROM stores WHERE last_outcome IS NOT NULL") == 2,
             timeout=120, message="prices of all six watched pages", on_fail=celery_procs.logs)

    with db.connect() as conn:
        prices = dict(conn.execute(sa.text("SELECT listing_id, price FROM store_prices")).all())
        runs = conn.execute(sa.text("SELECT store_id, status, started_at, finished_at, requested, ok "
                                    "FROM crawl_runs ORDER BY started_at")).all()
        stores = conn.execute(sa.text("SELECT slug, failure_streak, last_outcome FROM stores ORDER BY slug")).all()
    for slug in (wood, kitchen):
        for product in shops.products(slug)[:3]:
            assert prices[listings[product.id]] == product.price
    assert [(s.slug, s.failure_streak, s.last_outcome) for s in stores] == [
        (kitchen, 0, "succeeded"), (wood, 0, "succeeded")]
    assert all(r.status == "succeeded" and r.ok == r.requested for r in runs if r.finished_at)
    for store_id in {r.store_id for r in runs}:  # one crawl per store at a time
        spans = [(r.started_at, r.finished_at) for r in runs if r.store_id == store_id and r.started_at]
        assert all(a[1] is not None and a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_sigkill_of_the_worker_mid_crawl_recrawls_after_the_lease_and_duplicates_no_history(
        db, shops, celery_procs):
    slug = "gadgetdepot"
    add_demo_store(db, shops, slug)
    pids = product_ids(shops, slug, 4)
    for pid in pids[1:]:  # one fast page, three that take 2 s each: the crawl is mid-way a while
        shops.set_product(slug, pid, status="slow")
    listings = watch_products(db, shops, slug, pids)
    crawl_env = {**FAST_CRAWLS, "PRICEHOUND_LEASE_SECONDS": "4"}
    celery_procs.beat(extra_env=crawl_env)
    doomed = celery_procs.worker(concurrency=1, extra_env=crawl_env, name="doomed")

    wait_for(lambda: scalar(db, "SELECT count(*) FROM crawl_runs WHERE status = 'running'"),
             timeout=90, message="the crawl to start", on_fail=celery_procs.logs)
    first_run = scalar(db, "SELECT id FROM crawl_runs WHERE status = 'running'")
    spider_pids = subprocess.run(["pgrep", "-f", f"spiders.run {first_run}$"], capture_output=True,
                                 text=True).stdout.split()
    assert spider_pids, celery_procs.logs()
    celery_procs.kill(doomed, signal.SIGKILL)  # the whole machine's worker dies, no clean-up

    def spider_gone() -> bool:
        return not subprocess.run(["pgrep", "-f", f"spiders.run {first_run}$"], capture_output=True).stdout
    wait_for(spider_gone, timeout=15, message="the orphaned spider to die with its worker")
    assert scalar(db, "SELECT status FROM crawl_runs WHERE id = :id", id=first_run) == "running"

    celery_procs.worker(concurrency=1, extra_env=crawl_env, name="rescuer")
    wait_for(lambda: scalar(db, "SELECT count(*) FROM crawl_runs WHERE status = 'succeeded'") >= 1
             and scalar(db, "SELECT count(*) FROM store_prices WHERE price IS NOT NULL") == 4,
             timeout=120, message="the targets to be crawled again", on_fail=celery_procs.logs)

    with db.connect() as conn:
        history = conn.execute(sa.text(
            "SELECT listing_id, count(*) AS n, count(DISTINCT (price, availability)) AS distinct_states "
            "FROM price_history_log GROUP BY listing_id")).all()
        later_runs = conn.execute(sa.text("SELECT listing_ids FROM crawl_runs WHERE id > :id AND status = 'succeeded'"),
                                  {"id": first_run}).scalars().all()
        waited = conn.execute(sa.text(
            "SELECT min(r.queued_at) - f.queued_at FROM crawl_runs r, crawl_runs f "
            "WHERE f.id = :id AND r.id > f.id GROUP BY f.queued_at"), {"id": first_run}).scalar_one()
    assert waited >= timedelta(seconds=4)  # nothing was leased again before the lease expired
    assert {h.listing_id for h in history} == set(listings.values())
    assert all(h.n == 1 == h.distinct_states for h in history)  # prices did not change: one row each
    recrawled = {i for ids in later_runs for i in ids}
    assert {listings[p] for p in pids[1:]} <= recrawled


def test_a_store_returning_500s_backs_off_longer_each_time_and_recovers(db, shops, celery_procs):
    slug = "dailybasket"
    add_demo_store(db, shops, slug, min_interval=timedelta(seconds=1), max_interval=timedelta(seconds=4))
    pids = product_ids(shops, slug, 2)
    for pid in pids:
        shops.set_product(slug, pid, status="error500")
    listings = watch_products(db, shops, slug, pids)
    celery_procs.beat(extra_env=FAST_CRAWLS)
    celery_procs.worker(concurrency=1, extra_env=FAST_CRAWLS)

    pauses: dict[int, timedelta] = {}

    def three_failures_seen() -> bool:
        with db.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT failure_streak, paused_until - last_crawl_at AS pause FROM stores")).one()
        if row.failure_streak and row.pause is not None:
            pauses[row.failure_streak] = row.pause
        return len(pauses) >= 3
    wait_for(three_failures_seen, timeout=180, interval=0.1, message="three failed crawls in a row",
             on_fail=celery_procs.logs)

    streaks = sorted(pauses)
    assert streaks[:3] == [1, 2, 3]
    assert [pauses[s].total_seconds() for s in streaks[:3]] == pytest.approx([1, 2, 4], abs=0.05)
    with db.connect() as conn:
        error = conn.execute(sa.text("SELECT last_error FROM stores")).scalar_one()
        assert conn.execute(sa.text("SELECT count(*) FROM store_prices WHERE price IS NOT NULL")).scalar_one() == 0
    assert "2 of 2 pages failed" in error and "HTTP 500" in error

    for pid in pids:  # the store recovers: the next try after the pause succeeds
        shops.set_product(slug, pid, status="ok")
    wait_for(lambda: scalar(db, "SELECT count(*) FROM store_prices WHERE price IS NOT NULL") == 2,
             timeout=90, message="prices once the store answers again", on_fail=celery_procs.logs)
    wait_for(lambda: scalar(db, "SELECT failure_streak FROM stores") == 0, timeout=30,
             message="the breaker to close")
    assert scalar(db, "SELECT count(*) FROM price_events WHERE kind = 'removed'") == 0
    assert set(listings.values()) == set(scalar(db, "SELECT array_agg(listing_id) FROM store_prices"))
