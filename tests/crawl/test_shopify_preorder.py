"""Shopify's product endpoint has no pre-order state: the page decides when the endpoint hints."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.crawl.conftest import CrawlTargets
from tests.pipelines.helpers import add_listings, add_store, rows

PRODUCTS = {
    # handle: (tags, what the page says)
    "kettle": (["Kitchen", "Pre-order"], "https://schema.org/PreOrder"),
    "teapot": (["Kitchen", "pre-order"], "https://schema.org/InStock"),
    "mug": (["Kitchen"], "https://schema.org/PreOrder"),
}


def endpoint(handle: str) -> dict:
    tags, _ = PRODUCTS[handle]
    return {"id": 1, "title": handle.title(), "handle": handle, "tags": tags, "price": 2999,
            "description": "<p>A fine thing.</p>",
            "variants": [{"id": 11, "title": "Default Title", "price": 2999, "available": True,
                          "sku": f"{handle.upper()}-1", "barcode": None, "compare_at_price": None}]}


def page(handle: str) -> str:
    _, availability = PRODUCTS[handle]
    ld = {"@context": "https://schema.org", "@type": "Product", "name": handle.title(),
          "offers": {"@type": "Offer", "price": "29.99", "priceCurrency": "USD", "availability": availability}}
    return (f"<html><head><title>{handle}</title><script type=\"application/ld+json\">{json.dumps(ld)}</script>"
            f"</head><body><h1>{handle.title()}</h1></body></html>")


class _Shop(BaseHTTPRequestHandler):
    served: list[str] = []

    def do_GET(self):  # noqa: N802
        self.served.append(self.path)
        handle = self.path.rsplit("/", 1)[-1]
        if self.path == "/robots.txt":
            body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
        elif handle.endswith(".js") and handle[:-3] in PRODUCTS:
            body, kind = json.dumps(endpoint(handle[:-3])).encode(), "application/javascript"
        elif handle in PRODUCTS:
            body, kind = page(handle).encode(), "text/html; charset=utf-8"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def shop():
    handler = type("Handler", (_Shop,), {"served": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1], handler.served
    server.shutdown()
    server.server_close()


def test_the_page_decides_pre_order_when_the_endpoint_mentions_it(db, crawl, shop):
    port, served = shop
    store = add_store(db, "preorders", [f"127.0.0.1:{port}"], spider="shopify", is_local=True)
    handles = list(PRODUCTS)
    ids = add_listings(db, store.id, [f"http://127.0.0.1:{port}/products/{h}" for h in handles])
    proc = crawl(CrawlTargets(store.id, "preorders", ids, handles))
    assert proc.returncode == 0, proc.stderr[-2000:]
    state = {h: rows(db, "SELECT price, currency, availability FROM store_prices WHERE listing_id = :l",
                     l=lid)[0] for h, lid in zip(handles, ids, strict=True)}
    assert state["kettle"] == {"price": Decimal("29.99"), "currency": "USD", "availability": "preorder"}
    assert state["teapot"]["availability"] == "in_stock", "a hint alone is not a pre-order"
    assert state["mug"]["availability"] == "in_stock", "no hint: the endpoint alone, one request"
    assert "/products/mug" not in served and "/products/mug.js" in served
    assert {"/products/kettle", "/products/teapot"} <= set(served)
