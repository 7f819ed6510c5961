"""Every page of the local demo stores against what the store knows it showed.

The demo stores render all six page shapes (Shopify, WooCommerce, Magento, OpenGraph-only,
plain HTML with no structured data, a German shop in EUR) with sale prices, unit prices,
instalment offers, sold-out and pre-order products.  The server logs, per response, the price,
currency and availability the page shows: the chain must read exactly that from every product
page, and must call every home, search and category page (grids of product tiles) no product.
"""

from __future__ import annotations

import urllib.request
from decimal import Decimal

import pytest

from demostore import DemoStoreServer, demo_catalogue, make_catalogue
from spiders.extraction import extract_product


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
        return resp.read()


def _read_every_product(catalogue) -> tuple[list[str], int]:
    wrong = []
    n = 0
    with DemoStoreServer(catalogue) as shops:
        for store in catalogue:
            for product in store.products:
                url = shops.product_url(store.slug, product.id)
                body = _get(url)
                shown = shops.served_log()[-1]
                assert shown["product_id"] == product.id and shown["status_code"] == 200
                ex = extract_product(body, url)
                want = (Decimal(shown["price"]), shown["currency"], shown["availability"], "product")
                got = (ex.price, ex.currency, ex.availability, ex.page_kind)
                n += 1
                if got != want:
                    wrong.append(f"{store.slug} ({store.shape}) {product.id}: want {want}, got {got} {ex.notes}")
    return wrong, n


def test_every_demo_product_page_reads_as_the_store_shows_it():
    wrong, n = _read_every_product(demo_catalogue(faults=False))
    assert n == 160
    assert not wrong, "\n".join(wrong)


def test_every_generated_store_product_page_reads_as_the_store_shows_it():
    # two stores per shape, different products and prices than the bundled demo
    wrong, n = _read_every_product(make_catalogue(12, 12, seed=7))
    assert n == 144
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("store", ["voltmarkt"])
def test_a_german_price_with_a_financing_offer_is_the_buy_box_price(store):
    catalogue = demo_catalogue(faults=False)
    with DemoStoreServer(catalogue) as shops:
        url = shops.product_url(store, "3002")
        body = _get(url)
        truth = shops.product(store, "3002")
    assert "mtl." in body.decode("utf-8")  # the page offers financing per month
    ex = extract_product(body, url)
    assert (ex.price, ex.currency) == (truth.price, "EUR")


def test_home_search_and_category_pages_are_no_product():
    catalogue = demo_catalogue(faults=False)
    wrong = []
    with DemoStoreServer(catalogue) as shops:
        for store in catalogue:
            base = shops.base_url(store.slug)
            word = store.products[0].name.split()[-1]
            for path in ("/", f"/search?q={word}", f"/category/{store.products[0].category}",
                         "/category/sale"):
                ex = extract_product(_get(base + path), base + path)
                if (ex.page_kind, ex.page_reason) != ("gone", "listing"):
                    wrong.append(f"{store.slug}{path}: {ex.page_kind} {ex.price}")
    assert not wrong, "\n".join(wrong)
