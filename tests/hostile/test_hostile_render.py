"""The address guard holds inside the browser: a rendered page cannot make Chromium fetch a
private address, by script, by a redirect of its own requests or of the page itself, nor reach a
host off the store's domains, nor move a name to loopback after it was checked (DNS rebinding).

"Private" here is a second server on 127.0.0.1 that is not on the store's domains: exactly what a
store marked local may not reach. It records every request, and must record none.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from pricehound import catalog
from spiders.guardproxy import REFUSED_HEADER, GuardProxy
from tests.crawl.conftest import CrawlTargets, crawl, targets  # noqa: F401 - fixtures
from tests.localhttp import base_url, http_server
from tests.pipelines.helpers import add_listings, add_store, rows
from tests.render.conftest import browser_url, render_crawl, shops  # noqa: F401 - fixtures

PRODUCT = ('<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product",'
           '"name":"Hostile Kettle","offers":{"@type":"Offer","price":"19.99","priceCurrency":"USD",'
           '"availability":"https://schema.org/InStock"}}</script>')


PRODUCT_JS = json.dumps(PRODUCT).replace("</", "<\\/")  # a JS string that cannot close the script


def _page(script: str) -> str:
    """An app shell whose script first tries something, then shows the product either way."""
    return (f"<!DOCTYPE html><html><head><title>Shop</title>"
            f'<script src="http://cdn.thirdparty.example/track.js"></script></head>'
            f'<body><div id="root"></div><script>(async () => {{ try {{ {script} }} catch (e) {{}}'
            f" document.head.insertAdjacentHTML('beforeend', {PRODUCT_JS});"
            f" document.getElementById('root').innerHTML = '<h1>Hostile Kettle</h1>'; }})();</script>"
            f"</body></html>")


@pytest.fixture()
def private_server():
    """The address no crawl of this store may reach; it counts what reaches it."""
    hits: list[str] = []

    class Secret(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(b"metadata-credentials")

        def log_message(self, *args):
            pass

    with http_server(Secret) as server:
        yield base_url(server), hits


@pytest.fixture()
def hostile_store(private_server):
    secret, _hits = private_server
    pages = {
        "/p/fetches-private": _page(f"await fetch({json.dumps(secret + '/latest/meta-data/')});"),
        "/p/redirected-xhr": _page("await fetch('/bounce');"),
    }

    class Store(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/robots.txt":
                return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
            if self.path in ("/bounce", "/p/redirects-itself"):
                self.send_response(302)
                self.send_header("Location", secret + "/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            page = pages.get(self.path)
            if page is None:
                return self._send(404, b"not found", "text/plain")
            return self._send(200, page.encode(), "text/html; charset=utf-8")

        def _send(self, code, body, ctype):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with http_server(Store) as server:
        yield base_url(server)


def test_a_rendered_page_reaches_no_private_address_by_script_or_redirect(db, hostile_store, private_server,
                                                                          render_crawl):  # noqa: F811
    _secret, hits = private_server
    port = hostile_store.rsplit(":", 1)[1]
    store = add_store(db, "hostile", [f"127.0.0.1:{port}"], is_local=True)
    with db.begin() as conn:
        catalog.set_render(conn, store, "js")
    paths = ["/p/fetches-private", "/p/redirected-xhr", "/p/redirects-itself"]
    ids = add_listings(db, store.id, [hostile_store + p for p in paths])
    proc = render_crawl(CrawlTargets(store.id, "hostile", ids, paths))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert hits == [], "the private server was reached"
    state = {r["url"].rsplit("/", 1)[1]: r for r in rows(
        db, "SELECT l.url, l.last_failure_reason, p.price FROM store_listings l "
            "LEFT JOIN store_prices p ON p.listing_id = l.id WHERE l.store_id = :s", s=store.id)}
    # the pages that tried by script still read as the product they show; the page that
    # redirects the browser to the private address is a refusal, never a removal
    stats = rows(db, "SELECT stats FROM crawl_runs WHERE id = :r", r=proc.run_id)[0]["stats"]
    assert str(state["fetches-private"]["price"]) == "19.99", (state, stats)
    assert str(state["redirected-xhr"]["price"]) == "19.99", (state, stats)
    assert state["redirects-itself"]["last_failure_reason"] == "blocked_url", (state, stats)
    # at the proxy: the foreign tracker, the private fetch, the redirected XHR and the redirected page
    assert stats["pricehound/render/refused"] >= 4, stats
    assert "cdn.thirdparty.example:80 is not one of the store's domains" in proc.stderr, "a third-party host"
    assert f"127.0.0.1:{_secret.rsplit(':', 1)[1]} is not one of the store's domains" in proc.stderr


def test_dns_rebinding_cannot_move_a_rendered_page_to_loopback(db, shops, targets, render_crawl):  # noqa: F811
    """The crawl's own check hears a public address; the proxy, the only resolver the browser
    has, hears 127.0.0.1 and refuses: nothing is fetched."""
    t = targets("lumenlabs", ["7001"], is_local=False, host="shop.example")
    with db.begin() as conn:
        catalog.set_render(conn, catalog.get_store(conn, "lumenlabs"), "js")
    since = shops.last_seq()
    proc = render_crawl(t, None, "PRICEHOUND_DNS_LOOKUP=tests.crawl.dns_table.rebinding")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert shops.served_log(since) == [], "nothing was fetched"
    assert rows(db, "SELECT last_failure_reason FROM store_listings WHERE id = :l",
                l=t.listing_ids[0])[0]["last_failure_reason"] == "blocked_url"


def _through(proxy_url: str, url: str) -> tuple[int, str | None]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy_url}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.headers.get(REFUSED_HEADER)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get(REFUSED_HEADER)


@pytest.mark.parametrize("target", [
    "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/",
    "http://2130706433/", "http://localhost/", "http://printer.local/", "http://elsewhere.example/"])
def test_the_proxy_refuses_what_the_crawl_refuses(target):
    """The proxy alone, for every spelling the crawl's URL rules refuse."""
    loop = asyncio.new_event_loop()
    proxy = GuardProxy(["shop.example", "127.0.0.1"], allow_private=False, lookup=lambda host: ["93.184.216.34"])
    loop.run_until_complete(proxy.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        status, why = _through(proxy.url, target)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(proxy.close())
        loop.close()
    assert status == 403 and why, (target, status)
