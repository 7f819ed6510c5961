"""Platforms found on their own: Shopify, the WooCommerce Store API and Magento's GraphQL read
from what the pages show, each endpoint reconciled with its page and falling back to it."""

from __future__ import annotations

import dataclasses
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from spiders.endpoints import reconcile
from spiders.extraction import Extraction
from spiders.platforms import by_name, detect, magento, woocommerce
from tests.pipelines.helpers import add_listings, add_store, rows

PLAIN = b"<html><head><title>Kettle</title></head><body><h1>Kettle</h1></body></html>"


@pytest.mark.parametrize("headers, body, found", [
    ({"x-shopid": "1234"}, PLAIN, ("shopify", "platform.shopify_header")),
    ({}, b'<script>window.Shopify = window.Shopify || {}; Shopify.shop = "a.myshopify.com";</script>',
     ("shopify", "platform.shopify_script")),
    ({}, b'<link href="//cdn.shopify.com/s/files/1/theme.css">', ("shopify", "platform.shopify_cdn")),
    ({}, b'<meta name="generator" content="WooCommerce 9.1.0">', ("woocommerce", "platform.woocommerce_generator")),
    ({}, b'<body class="product-template-default single-product woocommerce woocommerce-page">',
     ("woocommerce", "platform.woocommerce_body_class")),
    ({}, b'<script type="text/x-magento-init">{}</script>', ("magento", "platform.magento_init")),
    ({}, PLAIN, None),
    # WordPress alone (its REST link) is not WooCommerce: a blog has no Store API
    ({}, b'<link rel="https://api.w.org/" href="https://blog.example/wp-json/">', None),
])
def test_a_platform_is_found_from_named_evidence_in_headers_or_page(headers, body, found):
    got = detect(headers, body)
    assert (None if got is None else (got[0].name, got[1])) == found


def test_endpoint_urls_follow_each_platforms_own_layout():
    page = b'<link rel="https://api.w.org/" href="https://shop.example/?rest_route=/">'
    assert woocommerce.endpoint_url("https://shop.example/product/kettle/") == \
        "https://shop.example/wp-json/wc/store/v1/products?slug=kettle"
    assert woocommerce.endpoint_url("https://shop.example/?product=kettle", page) == \
        "https://shop.example/?rest_route=/wc/store/v1/products&slug=kettle"
    assert by_name("shopify").endpoint_url("https://s.example/products/mug?variant=2", None) == \
        "https://s.example/products/mug.js"
    url = magento.endpoint_url("https://m.example/gear/kettle-pro.html")
    assert url.startswith("https://m.example/graphql?query=") and "kettle-pro" in parse_qs(urlsplit(url).query)["query"][0]
    assert magento.endpoint_url("https://m.example/") is None



def test_an_endpoint_stays_on_the_product_pages_own_origin():
    """A page naming a REST root on another host (or a metadata address) does not move the
    endpoint there: it is derived from the product URL's origin, which the URL guard vets."""
    for href in (b"https://evil.example/wp-json/", b"http://169.254.169.254/latest/"):
        page = b'<link rel="https://api.w.org/" href="' + href + b'">'
        assert woocommerce.endpoint_url("https://shop.example/product/kettle/", page) == \
            "https://shop.example/wp-json/wc/store/v1/products?slug=kettle"


def woo_doc(price: str, regular: str, code: str, digits: int, **extra) -> bytes:
    product = {"id": 7, "slug": "kettle", "name": "Kettle &amp; Co", "sku": "K-1",
               "prices": {"price": price, "regular_price": regular, "currency_code": code,
                          "currency_minor_unit": digits}, "is_in_stock": True, **extra}
    return json.dumps([product]).encode()


@pytest.mark.parametrize("price, regular, code, digits, want, want_regular", [
    ("1999", "2499", "USD", 2, Decimal("19.99"), Decimal("24.99")),
    ("1999", "1999", "JPY", 0, Decimal("1999"), None),
    ("2500", "2500", "KWD", 3, Decimal("2.500"), None),
])
def test_woocommerce_store_api_money_is_read_from_minor_units_of_its_currency(price, regular, code, digits,
                                                                             want, want_regular):
    ex = woocommerce.parse(woo_doc(price, regular, code, digits), "https://s.example/product/kettle/", "USD")
    assert (ex.price, ex.regular_price, ex.currency, ex.source, ex.name) == (want, want_regular, code,
                                                                            "woocommerce", "Kettle & Co")
    assert str(ex.price) == str(want), "the currency's own minor units, not cents for all"


def test_woocommerce_stock_wording_and_unreadable_answers():
    url = "https://s.example/product/kettle/"
    preorder = woo_doc("1999", "1999", "USD", 2, is_on_backorder=True,
                       stock_availability={"text": "Pre-order – ships June 30", "class": "available-on-backorder"})
    assert woocommerce.parse(preorder, url, None).availability == "preorder"
    sold = woo_doc("1999", "1999", "USD", 2, is_in_stock=False, stock_availability={"text": "", "class": "out-of-stock"})
    assert woocommerce.parse(sold, url, None).availability == "out_of_stock"
    for body in (b"[]", b"<html>not json</html>", b'[{"slug": "kettle"}]', b'{"prices": "x"}'):
        assert woocommerce.parse(body, url, None).page_reason == "unreadable"


def magento_doc(key: str, final, regular, stock: str = "IN_STOCK") -> bytes:
    item = {"name": key.title(), "sku": key.upper(), "url_key": key, "stock_status": stock,
            "price_range": {"minimum_price": {"final_price": {"value": final, "currency": "EUR"},
                                              "regular_price": {"value": regular, "currency": "EUR"}}}}
    return json.dumps({"data": {"products": {"items": [item]}}}).encode()


def test_magento_graphql_prices_are_decimals_never_floats():
    ex = magento.parse(magento_doc("kettle", 0.1 + 0.2, 19.9, "OUT_OF_STOCK"), "https://m.example/kettle.html", None)
    assert (ex.price, ex.regular_price, ex.currency, ex.availability, ex.source) == (
        Decimal("0.30"), Decimal("19.90"), "EUR", "out_of_stock", "magento")
    other = magento.parse(magento_doc("teapot", 10, 12), "https://m.example/kettle.html", None)
    assert other.page_reason == "unreadable", "an answer about another url_key says nothing"


def reading(price: str, availability: str = "in_stock", source: str = "json-ld") -> Extraction:
    return Extraction(price=Decimal(price), currency="USD", availability=availability, source=source,
                      page_kind="product", rules={"price": "p", "availability": f"a.{availability}"})


@pytest.mark.parametrize("endpoint, page, chosen, rule", [
    (reading("10.00", source="shopify"), reading("10.00"), "endpoint", "reconcile.agree"),
    (reading("10.00", source="shopify"), reading("12.00"), "page", "reconcile.page_over_endpoint"),
    (reading("10.00", source="shopify"), reading("10.00", "preorder"), "endpoint+preorder", "reconcile.page_preorder"),
    (reading("10.00", "unknown", "shopify"), reading("10.00", "out_of_stock"), "endpoint+out_of_stock",
     "reconcile.page_availability"),
    (reading("10.00", "in_stock", "shopify"), reading("10.00", "out_of_stock"), "page", "reconcile.page_over_endpoint"),
])
def test_reconcile_what_a_buyer_sees_wins_where_endpoint_and_page_disagree(endpoint, page, chosen, rule):
    got, name = reconcile(endpoint, page)
    assert name == rule
    if chosen == "endpoint":
        assert got == endpoint
    elif chosen == "page":
        assert got == page
    else:
        assert (got.source, got.availability) == ("shopify", chosen.split("+")[1])


def test_the_endpoints_reading_keeps_the_pages_gtin_brand_and_part_number_it_lacks():
    """A Store API without a GTIN field must not cost the listing its identity evidence."""
    endpoint = dataclasses.replace(reading("10.00", source="woocommerce"), mpn="K-1")
    page = dataclasses.replace(reading("10.00"), gtin="0786454284103", brand="Kestrel", mpn="OTHER")
    got, name = reconcile(endpoint, page)
    assert name == "reconcile.agree" and got.source == "woocommerce"
    assert (got.gtin, got.brand, got.mpn) == ("0786454284103", "Kestrel", "K-1")


# -- end to end ----------------------------------------------------------------------------------

def observations(db, run_id: int) -> dict[int, dict]:
    return {r["listing_id"]: r for r in rows(
        db, "SELECT listing_id, kind, price, availability, source, rules FROM listing_observations "
            "WHERE crawl_run_id = :r", r=run_id)}


def truth(shops, slug: str, pid: str) -> tuple[Decimal, str]:
    p = shops.product(slug, pid)
    return p.price, p.availability


def test_shopify_is_found_from_its_pages_without_naming_a_spider(db, shops, targets, crawl):
    products = ["1001", "1002", "1003", "1004"]  # in stock, sold out, pre-order, in stock
    t = targets("northwind", products)
    since = shops.last_seq()
    proc = crawl(t)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert rows(db, "SELECT platform FROM stores WHERE id = :s", s=t.store_id)[0]["platform"] == "shopify"
    seen = observations(db, proc.run_id)
    for pid in products:
        obs = seen[t.listing_for(pid)]
        assert (obs["kind"], obs["price"], obs["availability"]) == ("ok", *truth(shops, "northwind", pid))
        assert obs["rules"]["reconcile"] in ("reconcile.agree", "reconcile.page_preorder")
    assert seen[t.listing_for("1003")]["rules"]["reconcile"] == "reconcile.page_preorder"
    kinds = [e["kind"] for e in shops.served_log(since)]
    assert kinds.count("js") == len(products), "each page's platform endpoint was read"


def test_woocommerce_store_api_end_to_end(db, shops, targets, crawl):
    products = ["2001", "2002", "2003", "2004", "2030"]  # in stock, sold out, pre-order, in stock, gone (410)
    t = targets("copperpot", products)
    first = crawl(t)
    assert first.returncode == 0, first.stderr[-3000:]
    assert rows(db, "SELECT platform FROM stores WHERE id = :s", s=t.store_id)[0]["platform"] == "woocommerce"
    since = shops.last_seq()
    second = crawl(t)  # the store's platform is known now: the Store API first
    assert second.returncode == 0, second.stderr[-3000:]
    seen = observations(db, second.run_id)
    for pid in products[:4]:
        obs = seen[t.listing_for(pid)]
        assert (obs["kind"], obs["price"], obs["availability"]) == ("ok", *truth(shops, "copperpot", pid))
        assert obs["source"] == "woocommerce"
    gone = seen[t.listing_for("2030")]
    assert (gone["kind"], gone["source"]) == ("removed", None), "the endpoint's 410 falls back to the page's"
    served = shops.served_log(since)
    api = [e for e in served if e["kind"] == "store_api"]
    pages = [e["product_id"] for e in served if e["kind"] == "page"]
    assert len(api) == len(products)
    checked = {pid for pid in products[:4] if t.listing_for(pid) % 10 == second.run_id % 10}
    assert set(pages) == checked | {"2030"}, "a page is read only to check the endpoint, or when it fails"


# -- Magento on a fixture: agreeing, disagreeing and broken endpoints ------------------------------

MAGENTO = {  # url_key: (page price, endpoint answer)
    "kettle": ("49.99", magento_doc("kettle", 49.99, 59.99)),
    "teapot": ("24.00", magento_doc("teapot", 19.0, 19.0)),
    "mug": ("9.50", b'{"errors": [{"message": "Internal server error"}]}'),
}


def magento_page(key: str) -> bytes:
    price = MAGENTO[key][0]
    ld = {"@context": "https://schema.org", "@type": "Product", "name": key.title(), "sku": key.upper(),
          "offers": {"@type": "Offer", "price": price, "priceCurrency": "EUR",
                     "availability": "https://schema.org/InStock"}}
    return (f'<html><head><title>{key}</title><script type="application/ld+json">{json.dumps(ld)}</script>'
            f'<script type="text/x-magento-init">{{}}</script></head><body><h1>{key.title()}</h1>'
            f'<span class="price">€{price}</span></body></html>').encode()


class _Magento(BaseHTTPRequestHandler):
    served: list[str] = []

    def log_message(self, *args):  # noqa: D102 - quiet
        pass

    def do_GET(self):  # noqa: N802
        self.served.append(self.path)
        parts = urlsplit(self.path)
        key = parts.path.strip("/").removesuffix(".html")
        if parts.path == "/robots.txt":
            body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
        elif parts.path == "/graphql":
            wanted = next((k for k in MAGENTO if f'"{k}"' in parse_qs(parts.query)["query"][0]), None)
            body, kind = (MAGENTO[wanted][1] if wanted else b'{"data":{"products":{"items":[]}}}'), "application/json"
        elif key in MAGENTO:
            body, kind = magento_page(key), "text/html; charset=utf-8"
        else:
            body, kind = b"", "text/plain"
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def magento_shop():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Magento)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_magento_graphql_is_reconciled_with_the_page_and_falls_back_to_it(db, crawl, magento_shop):
    """Found from the page: the agreeing endpoint's reading is kept, a disagreeing one loses to
    the page, a broken one leaves the page's (the Store API test covers the fallback when the
    endpoint is asked first)."""
    from tests.crawl.conftest import CrawlTargets

    store = add_store(db, "magento-fixture", [magento_shop], currency="EUR")
    keys = list(MAGENTO)
    ids = add_listings(db, store.id, [f"http://{magento_shop}/{k}.html" for k in keys])
    t = CrawlTargets(store.id, "magento-fixture", ids, keys)
    proc = crawl(t)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = observations(db, proc.run_id)
    got = {k: (seen[t.listing_for(k)]["price"], seen[t.listing_for(k)]["source"],
               seen[t.listing_for(k)]["rules"].get("reconcile")) for k in keys}
    assert got == {
        "kettle": (Decimal("49.99"), "magento", "reconcile.agree"),
        "teapot": (Decimal("24.00"), "json-ld", "reconcile.page_over_endpoint"),  # what a buyer sees wins
        "mug": (Decimal("9.50"), "json-ld", "reconcile.page_only"),  # the endpoint failed: the page's reading
    }
    stats = rows(db, "SELECT stats FROM crawl_runs WHERE id = :r", r=proc.run_id)[0]["stats"]
    assert stats["pricehound/platform/magento/reconcile.page_over_endpoint"] == 1
    assert rows(db, "SELECT platform FROM stores WHERE id = :s", s=store.id)[0]["platform"] == "magento"
