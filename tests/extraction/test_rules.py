"""Each named price and availability rule decides a page of its own: removing a rule (or
moving it behind another) makes its page decided by another rule, and the test fails."""

from __future__ import annotations

import json

import pytest

from spiders.extraction import chain, extract_product, pricing, stock
from tests.extraction.classpages import ADD, URL, offer, page, product

LD = product(offers=offer("60.00"))


def bare_page(body: str, jsonld: dict) -> bytes:
    """A page with no title heading and no buy button: nothing makes one amount prominent."""
    return (f'<!doctype html><html lang="en"><head><title>Trail Runner Pro | Shop</title>'
            f'<script type="application/ld+json">{json.dumps(jsonld)}</script></head>'
            f'<body><main><div class="product">{body}</div></main></body></html>').encode()


PRICE_PAGES = {
    "price.store_selector": (page('<p class="price">$60.00</p><span class="mine">$58.00</span>' + ADD), URL,
                             {"price": ".mine"}),
    "price.url_selected_variant": (
        page('<p class="price">$49.00</p>' + ADD, jsonld=product(offers=[
            offer("49.00", sku="A1", url="https://s.example/p?variant=1"),
            offer("55.00", sku="B2", url="https://s.example/p?variant=2")])), "https://s.example/p?variant=2", None),
    "price.structured_is_best_visible": (page('<p class="price">$60.00</p>' + ADD, jsonld=LD), URL, None),
    "price.structured_shown": (
        bare_page('<p class="price">$60.00</p><p>$70.00</p>', product(offers=offer("70.00"))), URL, None),
    "price.structured_alternative_shown": (
        page('<p class="price">$55.00</p>' + ADD, jsonld=product(offers=[offer("49.00"), offer("55.00")])), URL, None),
    "price.visible_over_structured": (page('<p class="price">$60.00</p>' + ADD, jsonld=product(offers=offer("70.00"))),
                                      URL, None),
    "price.stale_structured_offer": (
        page('<p class="lead">A light trail shoe.</p>' + ADD,
             jsonld=product(offers=offer("70.00", priceValidUntil="2001-01-01"))), URL, None),
    "price.structured_unseen": (page('<p class="lead">A light trail shoe.</p>' + ADD,
                                     jsonld=product(offers=offer("70.00"))), URL, None),
    "price.visible_beside_title": (page('<p class="price">$60.00</p>' + ADD), URL, None),
}

AVAILABILITY_PAGES = {
    "availability.store_selector": (page('<p class="price">$60.00</p><i class="inv">Sold out</i>' + ADD), {"availability": ".inv"}),
    "availability.backorder_or_in_store_only": (page('<p class="price">$60.00</p><p>Available in store only</p>'), None),
    "availability.preorder_button": (page('<p class="price">$60.00</p><button class="btn">Pre-order now</button>'), None),
    "availability.buy_button_and_structured_in_stock": (
        page('<p class="price">$60.00</p><p class="stock">Sold out</p>' + ADD, jsonld=LD), None),
    "availability.sold_out_wording": (page('<p class="price">$60.00</p><p class="stock">Sold out</p>'), None),
    "availability.structured_preorder": (page('<p class="price">$60.00</p>', jsonld=product(
        offers=offer("60.00", availability="PreOrder"))), None),
    "availability.preorder_wording": (page('<p class="price">$60.00</p><p>Available for pre-order</p>'), None),
    "availability.structured_out_confirmed": (
        page('<p class="price">$60.00</p>' + ADD, jsonld=product(offers=offer("60.00", availability="OutOfStock")),
             after_main='<p class="stock">Sold out</p>'), None),
    "availability.buy_button_over_structured_out": (
        page('<p class="price">$60.00</p>' + ADD, jsonld=product(offers=offer("60.00", availability="OutOfStock"))), None),
    "availability.structured_out": (
        page('<p class="price">$60.00</p>', jsonld=product(offers=offer("60.00", availability="OutOfStock"))), None),
    "availability.structured_in": (page('<p class="price">$60.00</p>', jsonld=LD), None),
    "availability.in_stock_wording_or_buy_button": (page('<p class="price">$60.00</p>' + ADD), None),
    "availability.no_signal": (page('<p class="price">$60.00</p>'), None),
}


@pytest.fixture()
def whole_page(monkeypatch):
    monkeypatch.setattr(chain, "FAST_PATH", False)  # the rules themselves, not the buy-box shortcut


@pytest.mark.parametrize("rule", sorted(PRICE_PAGES))
def test_each_price_rule_decides_its_page(rule, whole_page):
    html, url, hints = PRICE_PAGES[rule]
    ex = extract_product(html, url, hints=hints)
    assert ex.rules.get("price") == rule, ex.rules


@pytest.mark.parametrize("rule", sorted(AVAILABILITY_PAGES))
def test_each_availability_rule_decides_its_page(rule, whole_page):
    html, hints = AVAILABILITY_PAGES[rule]
    ex = extract_product(html, URL, hints=hints)
    assert ex.rules.get("availability") == rule, ex.rules


def test_the_buy_box_shortcut_names_its_rule():
    ex = extract_product(page('<p class="price">$60.00</p>' + ADD, jsonld=LD), URL)
    assert ex.rules["price"] == "price.structured_in_buy_box" and chain.FAST_NOTE in ex.notes


def test_every_rule_has_a_page():
    price_rules = {name for name, _ in pricing.RULES} - {"price.structured_in_buy_box"}
    assert price_rules <= set(PRICE_PAGES)
    assert {name for name, _ in stock.RULES} <= set(AVAILABILITY_PAGES)
