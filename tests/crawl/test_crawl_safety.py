"""The crawler fetches only a store's own domains and never a private address unless the store
is marked local: every request and every redirect is checked."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.pipelines.helpers import add_listings, add_store, rows


def failure_of(db, listing_id):
    return rows(db, "SELECT consecutive_failures, last_failure_reason, status FROM store_listings WHERE id = :l",
                l=listing_id)[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_url_is_refused_for_a_store_not_marked_local(db, shops, targets, crawl, host):
    t = targets("northwind", ["1001", "1004"], is_local=False, host=host)
    since = shops.last_seq()
    proc = crawl(t)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for lid in t.listing_ids:
        assert failure_of(db, lid) == {"consecutive_failures": 1, "last_failure_reason": "blocked_url",
                                       "status": "active"}
    assert shops.served_log(since) == [], "nothing was fetched"
    assert rows(db, "SELECT failed, ok FROM crawl_runs")[0] == {"failed": 2, "ok": 0}


def test_the_same_store_marked_local_is_crawled(db, shops, targets, crawl):
    t = targets("northwind", ["1004"], is_local=True)
    assert crawl(t).returncode == 0
    assert rows(db, "SELECT ok FROM crawl_runs")[0] == {"ok": 1}


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):  # noqa: N802
        if self.path == "/robots.txt":
            body = b"User-agent: *\nAllow: /\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(302)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def redirector(shops):
    """A local 'store' whose product pages all redirect to another store's product."""
    handler = type("Handler", (_Redirector,), {"target": shops.product_url("gadgetdepot", "4001")})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_redirect_off_the_stores_domains_is_refused(db, shops, crawl, redirector):
    store = add_store(db, "redirector", [f"127.0.0.1:{redirector}"], is_local=True)
    [lid] = add_listings(db, store.id, [f"http://127.0.0.1:{redirector}/products/kettle"])
    since = shops.last_seq()
    from tests.crawl.conftest import CrawlTargets

    proc = crawl(CrawlTargets(store.id, "redirector", [lid], ["kettle"]))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert failure_of(db, lid)["last_failure_reason"] == "blocked_url"
    assert shops.served_log(since) == [], "the redirect target was never fetched"


def test_the_crawl_resolves_through_the_guarded_resolver():
    from pricehound.config import Settings
    from spiders import settings as base
    from spiders.settings import crawl_settings
    from spiders.targets import CrawlRun, StoreConfig

    assert base.TWISTED_DNS_RESOLVER == "spiders.resolver.GuardedResolver"

    def store(is_local):
        return StoreConfig(id=1, slug="s", spider="generic", allowed_domains=("shop.example", "127.0.0.1:8101"),
                           default_currency="USD", download_delay=0, concurrency=2, is_local=is_local)

    local = crawl_settings(CrawlRun(1, "queued", store(True), ()), Settings())
    assert local["PRICEHOUND_ALLOW_PRIVATE_HOSTS"] == ["shop.example", "127.0.0.1:8101"]
    assert crawl_settings(CrawlRun(1, "queued", store(True), ()),
                          Settings(allow_local_stores=False))["PRICEHOUND_ALLOW_PRIVATE_HOSTS"] == []
    assert crawl_settings(CrawlRun(1, "queued", store(False), ()), Settings())["PRICEHOUND_ALLOW_PRIVATE_HOSTS"] == []


@pytest.mark.parametrize("lookup", ["loopback", "rebinding"])
def test_a_store_name_resolving_to_loopback_is_refused_for_a_store_not_marked_local(
        db, shops, targets, crawl, lookup):
    """With "rebinding" the pre-flight check hears a public address and passes the request; the
    connection's own lookup hears 127.0.0.1, and the resolver refuses it at connect time."""
    t = targets("northwind", ["1001", "1004"], is_local=False, host="shop.example")
    since = shops.last_seq()
    proc = crawl(t, None, f"PRICEHOUND_DNS_LOOKUP=tests.crawl.dns_table.{lookup}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    for lid in t.listing_ids:
        assert failure_of(db, lid) == {"consecutive_failures": 1, "last_failure_reason": "blocked_url",
                                       "status": "active"}
    assert shops.served_log(since) == [], "nothing was fetched"
    assert rows(db, "SELECT failed, ok FROM crawl_runs")[0] == {"failed": 2, "ok": 0}
    if lookup == "rebinding":
        assert "refused at connect time" in proc.stderr
        assert rows(db, "SELECT stats->'pricehound/failed/blocked_url' AS n FROM crawl_runs")[0]["n"] == 2


def test_a_local_store_on_a_name_resolving_to_loopback_is_crawled(db, shops, targets, crawl):
    t = targets("northwind", ["1001", "1004"], is_local=True, host="shop.example")
    proc = crawl(t, None, "PRICEHOUND_DNS_LOOKUP=tests.crawl.dns_table.loopback")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rows(db, "SELECT ok, failed FROM crawl_runs")[0] == {"ok": 2, "failed": 0}
