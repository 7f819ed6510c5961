"""The 200-but-not-the-product family end to end: a real crawl of a local store that answers 200
with a maintenance, queue, login, geo-block, rate-limit or error body. No gone event, a failed
observation with the page's reason, a store failure counted, no email."""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from alerts import evaluate
from tests.conftest import REPO_ROOT
from tests.crawl.conftest import FAST
from tests.localhttp import http_server
from tests.pipelines.helpers import add_listings, add_run, add_store, rows, scalar
from workers import crawl

PRODUCT = """<html><head><title>Kettle {n}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product", "name": "Kettle {n}",
"offers": {{"@type": "Offer", "price": "40.00", "priceCurrency": "USD", "availability": "https://schema.org/InStock"}}}}
</script></head><body><h1>Kettle {n}</h1><p class="price">$40.00</p><p>In stock</p>
<button>Add to cart</button></body></html>"""

NOT_THE_PRODUCT = {
    "maintenance": ("<html><head><title>We'll be back soon</title></head><body><h1>Down for maintenance</h1>"
                    "<p>Our store is currently undergoing scheduled maintenance. We'll be back shortly.</p></body></html>"),
    "queue": ("<html><head><title>You are now in line</title></head><body><h1>You are now in line</h1><p>Thank you "
              "for your patience. You are in the queue. Your estimated wait time is 5 minutes.</p></body></html>"),
    "login_wall": ("<html><head><title>Sign in</title></head><body><h1>Please sign in to continue</h1><form>"
                   "<input type='email' name='email'><input type='password' name='password'><button>Sign in</button>"
                   "</form></body></html>"),
    "geo_block": ("<html><head><title>Not available in your region</title></head><body><h1>Sorry, this store is not "
                  "available in your country</h1><p>We are unable to serve visitors from your region.</p></body></html>"),
    "rate_limited": ("<html><head><title>429 Too Many Requests</title></head><body><h1>429 Too Many Requests</h1>"
                     "<p>You have sent too many requests. Please try again later.</p></body></html>"),
    "error_page": ("<html><head><title>Oops!</title></head><body><h1>Oops, error 500</h1><p>Something went wrong on "
                   "our end. Please try again later.</p></body></html>"),
}
PAGES = 6


class Shop(ThreadingHTTPServer):
    daemon_threads = True
    body: str | None = None  # None: the product pages


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/robots.txt":
            self.send_response(404)
            self.end_headers()
            return
        n = self.path.rsplit("/", 1)[-1]
        body = (self.server.body or PRODUCT.format(n=n)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def shop():
    with http_server(Handler, Shop) as server:
        yield server


def crawl_once(db, env, store_id, listing_ids):
    run_id = add_run(db, store_id, listing_ids)
    with db.begin() as conn:  # the run holds the store, as dispatch leaves it
        conn.execute(sa.text("UPDATE stores SET current_run_id = :r, crawl_lease_until = pricehound_now() "
                             "+ interval '5 minutes', crawl_leased_by = 'test' WHERE id = :s"), {"r": run_id, "s": store_id})
    args = [sys.executable, "-m", "spiders.run", str(run_id)]
    for setting in FAST:
        args += ["-s", setting]
    proc = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run_id, crawl.finish(db, run_id)


@pytest.mark.parametrize("reason", sorted(NOT_THE_PRODUCT))
def test_a_store_answering_200_with_a_page_that_is_not_the_product(db, env, shop, reason):
    port = shop.server_address[1]
    store = add_store(db, f"np-{reason.replace('_', '-')}", [f"127.0.0.1:{port}"])
    ids = add_listings(db, store.id, [f"http://127.0.0.1:{port}/p/{i}" for i in range(PAGES)])
    with db.begin() as conn:
        user = conn.execute(sa.text("INSERT INTO users (email, verified_at) VALUES ('ann@example.com', "
                                    "pricehound_now()) RETURNING id")).scalar_one()
        lst = conn.execute(sa.text("INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'W') RETURNING id"),
                           {"u": user}).scalar_one()
        for lid in ids:
            conn.execute(sa.text("INSERT INTO shopping_list_items (list_id, listing_id) VALUES (:l, :i)"),
                         {"l": lst, "i": lid})
    _, first = crawl_once(db, env, store.id, ids)
    assert not first.store_failure and first.ok == PAGES
    shop.body = NOT_THE_PRODUCT[reason]
    crawls = 3 if reason == "maintenance" else 2  # two gone readings would remove; maintenance for three
    for _ in range(crawls):
        _, outcome = crawl_once(db, env, store.id, ids)
        assert outcome.store_failure, "a store that serves no product page is failing"
        assert (outcome.ok, outcome.removed, outcome.failed) == (0, 0, PAGES)
    states = rows(db, "SELECT status, consecutive_removed, last_failure_reason FROM store_listings ORDER BY id")
    assert {(s["status"], s["consecutive_removed"], s["last_failure_reason"]) for s in states} == {("active", 0, reason)}
    assert scalar(db, "SELECT failure_streak FROM stores WHERE id = :s", s=store.id) == crawls
    event_ids = [r["id"] for r in rows(db, "SELECT id FROM price_events")]
    assert event_ids == [], "no gone, sold-out or any other event"
    assert evaluate.evaluate_events(db, event_ids, cooldown_seconds=0, window_seconds=0).notification_ids == []
    assert scalar(db, "SELECT count(*) FROM notifications") == 0
