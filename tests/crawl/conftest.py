"""Fixtures for end-to-end crawls: the demo stores on 127.0.0.1 and `python -m spiders.run`."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from demostore import DemoStoreServer, demo_catalogue
from tests.conftest import REPO_ROOT
from tests.pipelines.helpers import add_listings, add_run, add_store

# Short everything: a test crawl of a handful of pages takes a second or two.
FAST = ("RETRY_TIMES=1", "RETRY_BACKOFF_BASE=0.05", "RETRY_AFTER_MAX=0.1", "DOWNLOAD_TIMEOUT=1",
        "PRICEHOUND_WRITE_INTERVAL=0.2", "AUTOTHROTTLE_START_DELAY=0")


@pytest.fixture()
def shops():
    with DemoStoreServer(demo_catalogue(), slow_delay=0.05, timeout_hold=5.0,
                         oversize_bytes=400_000) as server:
        yield server


@dataclass
class CrawlTargets:
    store_id: int
    slug: str
    listing_ids: list[int]
    product_ids: list[str]

    def listing_for(self, product_id: str) -> int:
        return self.listing_ids[self.product_ids.index(str(product_id))]


@pytest.fixture()
def targets(db, shops):
    """Make a store row for a demo store and listings for some of its products."""

    def make(slug: str, product_ids: Sequence[str], *, spider: str = "generic", is_local: bool = True,
             host: str = "127.0.0.1") -> CrawlTargets:
        port = shops.port(slug)
        currency = next(s.currency for s in shops.catalogue() if s.slug == slug)
        store = add_store(db, slug, [f"{host}:{port}"], spider=spider, currency=currency, is_local=is_local)
        urls = [shops.product_url(slug, pid).replace("127.0.0.1", host) for pid in product_ids]
        return CrawlTargets(store.id, slug, add_listings(db, store.id, urls), [str(p) for p in product_ids])

    return make


@pytest.fixture()
def crawl(db, env):
    """Queue a run for the targets and crawl it in a subprocess; returns the CompletedProcess."""

    def run(t: CrawlTargets, listing_ids: Sequence[int] | None = None, *settings: str,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        run_id = add_run(db, t.store_id, list(listing_ids or t.listing_ids))
        args = [sys.executable, "-m", "spiders.run", str(run_id)]
        for setting in (*FAST, *settings):
            args += ["-s", setting]
        proc = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                              env={**env, "PRICEHOUND_MAX_RESPONSE_BYTES": "200000", **(extra_env or {})})
        proc.run_id = run_id  # type: ignore[attr-defined]
        return proc

    return run


def admin_set(shops: DemoStoreServer, store: str, product_id: str, **changes) -> dict:
    """Change a product through the demo store's admin API, as an operator would."""
    url = f"{shops.admin_url()}products/{store}/{product_id}"
    request = urllib.request.Request(url, data=json.dumps(changes).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
