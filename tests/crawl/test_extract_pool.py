"""Pages read in worker processes: the same readings as in-process, and a dying worker names its page."""

from __future__ import annotations

import asyncio
import os
import urllib.request

import pytest

from spiders.extract_pool import (
    EXTRACTION_CRASHED,
    QUEUED_PAGES,
    ExtractionCrashed,
    ExtractionPool,
    futures_process,
    pool_size,
    read_page,
)
from tests.crawl.conftest import CrawlTargets
from tests.crawl.crashing_reader import CRASH_ON_ENV
from tests.crawl.crashing_reader import read as crashing_read
from tests.crawl.test_crawl_run import SHAPES, listing_state, run_row
from tests.pipelines.helpers import add_listings, add_store, rows

# counters that describe the pages, not timings (CPU, retry jitter) or how many flushes wrote them
TIMING_STATS = ("pricehound/cpu_seconds", "pricehound/flushes", "pricehound/retry/wait_seconds")


def fetch_pages(shops) -> list[tuple[bytes, str, str | None, str]]:
    """Two product pages of every demo shop: (body, url, charset, store currency)."""
    pages = []
    for store in shops.catalogue():
        for product in store.products[:2]:
            url = shops.product_url(store.slug, product.id)
            with urllib.request.urlopen(url, timeout=10) as response:
                pages.append((response.read(), url, response.headers.get_content_charset(), store.currency))
    return pages


async def read_all(pool: ExtractionPool, pages) -> list:
    return await asyncio.gather(*(pool.read(body, url, default_currency=currency, encoding=charset)
                                  for body, url, charset, currency in pages), return_exceptions=True)


def test_pool_size_defaults_to_the_spare_cores_and_zero_means_in_process():
    assert [pool_size(None, cpus) for cpus in (1, 2, 3, 8, 64)] == [1, 1, 2, 4, 4]
    assert pool_size(0) == 0 and pool_size(3, cpus=2) == 3
    assert ExtractionPool(0).in_process


def test_worker_processes_read_every_demo_shape_as_the_crawl_process_does(shops):
    pages = fetch_pages(shops)
    pool = ExtractionPool(2).start()
    try:
        readings = asyncio.run(read_all(pool, pages))
    finally:
        pool.close()
    expected = [read_page(body, url, currency, None, charset) for body, url, charset, currency in pages]
    assert readings == expected
    assert {r.page_kind for r in readings} == {"product"} and pool.crashes == 0


def test_a_page_that_kills_its_reader_is_named_and_every_other_page_is_read(shops, monkeypatch):
    pages = fetch_pages(shops)
    victim = pages[3][1]
    monkeypatch.setenv(CRASH_ON_ENV, victim)
    pool = ExtractionPool(1, crashing_read).start()
    try:
        readings = asyncio.run(read_all(pool, pages))
        again = asyncio.run(read_all(pool, pages[:1]))  # the rebuilt pool keeps reading
    finally:
        pool.close()
    for (body, url, charset, currency), reading in zip(pages, readings, strict=True):
        if url == victim:
            assert isinstance(reading, ExtractionCrashed) and victim in str(reading)
        else:
            assert reading == read_page(body, url, currency, None, charset), url
    assert pool.crashes == 1
    assert again == readings[:1]


def test_workers_have_pages_queued_ahead_and_other_executors_keep_the_default():
    default = futures_process.EXTRA_QUEUED_CALLS
    pool = ExtractionPool(1).start()
    try:
        # the pipe to the worker holds QUEUED_PAGES more pages than it is reading, so it does not
        # idle while the crawl process's helper threads wait for the GIL
        assert pool._executor._call_queue._maxsize == 1 + QUEUED_PAGES
        assert futures_process.EXTRA_QUEUED_CALLS == default
    finally:
        pool.close()


def test_closing_the_pool_stops_its_workers():
    import multiprocessing

    pool = ExtractionPool(2).start()
    asyncio.run(pool.read(b"<html><body><h1>Kettle</h1><span class=price>$5.00</span></body></html>",
                          "http://127.0.0.1/p/1"))
    assert multiprocessing.active_children()
    pool.close()
    assert multiprocessing.active_children() == []


def _same_store_twice(db, shops, slug: str, product_ids: list[str]) -> list[CrawlTargets]:
    """Two store rows over the same demo shop, so two first crawls of the same pages can be compared."""
    currency = next(s.currency for s in shops.catalogue() if s.slug == slug)
    out = []
    for suffix in ("in-process", "pool"):
        store = add_store(db, f"{slug}-{suffix}", [f"127.0.0.1:{shops.port(slug)}"], currency=currency)
        urls = [shops.product_url(slug, pid) for pid in product_ids]
        out.append(CrawlTargets(store.id, slug, add_listings(db, store.id, urls), product_ids))
    return out


def _outcome(db, t: CrawlTargets, run_id: int) -> tuple:
    states = [dict(listing_state(db, t.listing_for(pid)), pid=pid) for pid in t.product_ids]
    run = run_row(db, run_id)
    counters = tuple(run[k] for k in ("status", "requested", "ok", "changed", "removed", "failed", "dropped"))
    stats = {k: v for k, v in run["stats"].items() if k.startswith("pricehound/") and k not in TIMING_STATS}
    return states, counters, stats


@pytest.mark.parametrize("slug", ["northwind", "voltmarkt", "gadgetdepot", "maison-lumiere"])
def test_a_crawl_with_reader_processes_records_what_an_in_process_crawl_does(db, shops, crawl, slug):
    product_ids = list(SHAPES[slug])
    in_process, pooled = _same_store_twice(db, shops, slug, product_ids)
    a = crawl(in_process, None, "PRICEHOUND_EXTRACT_WORKERS=0")
    b = crawl(pooled, None, "PRICEHOUND_EXTRACT_WORKERS=2")
    assert a.returncode == 0 and b.returncode == 0, (a.stderr[-2000:], b.stderr[-2000:])
    assert _outcome(db, in_process, a.run_id) == _outcome(db, pooled, b.run_id)
    assert "pricehound/cpu_seconds" in run_row(db, b.run_id)["stats"]


def test_a_page_that_kills_its_reader_is_a_failed_observation_and_the_crawl_goes_on(db, shops, targets, crawl):
    product_ids = ["1001", "1002", "1003", "1004"]
    t = targets("northwind", product_ids)
    victim = shops.product_path("northwind", "1003")
    proc = crawl(t, None, "PRICEHOUND_EXTRACT_WORKERS=1",
                 "PRICEHOUND_EXTRACT_READER=tests.crawl.crashing_reader.read",
                 extra_env={CRASH_ON_ENV: victim})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for pid in product_ids:
        state = listing_state(db, t.listing_for(pid))
        if pid == "1003":
            assert (state["consecutive_failures"], state["last_failure_reason"], state["price"]) == (
                1, EXTRACTION_CRASHED, None)
        else:
            assert state["price"] == shops.product("northwind", pid).price, (pid, state)
    run = run_row(db, proc.run_id)
    assert (run["status"], run["ok"], run["failed"]) == ("succeeded", 3, 1)
    assert run["stats"][f"pricehound/failed/{EXTRACTION_CRASHED}"] == 1
    assert rows(db, "SELECT count(*) AS n FROM store_listings WHERE id = ANY(:ids) AND last_failure_reason IS NULL",
                ids=t.listing_ids)[0]["n"] == 3
    assert os.environ.get(CRASH_ON_ENV) is None
