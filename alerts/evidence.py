"""The evidence sentence of an alert email: what was read, and from where, in plain words.

Built from the reading the writer recorded beside the event (listing_observations: the source
and the names of the rules that decided price and stock), e.g. "Price from the page's buy box;
stock from its 'Add to basket' button. Read at https://shop.example/p/1 and confirmed by a second
reading." Unknown rule names fall back to plain, true statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PRICE_WORDS = {
    "price.structured_is_best_visible": "the page's product data, matching the price shown beside it",
    "price.structured_in_buy_box": "the page's buy box",
    "price.structured_shown": "the page's product data, shown on the page",
    "price.structured_alternative_shown": "the price shown on the page, also in its product data",
    "price.visible_over_structured": "the price shown on the page",
    "price.visible_beside_title": "the price shown beside the product's title",
    "price.store_selector": "the store's price element",
    "price.url_selected_variant": "the product data of the variant the link selects",
    "price.endpoint_variant": "the store's product feed",
    "price.structured_unseen": "the page's product data (not shown on the page)",
}
STOCK_WORDS = {
    "availability.buy_button_and_structured_in_stock": "its buy button and product data",
    "availability.buy_button_over_structured_out": "its buy button",
    "availability.in_stock_wording_or_buy_button": "its buy button or in-stock wording",
    "availability.sold_out_wording": "its sold-out wording",
    "availability.preorder_button": "its pre-order button",
    "availability.preorder_wording": "its pre-order wording",
    "availability.structured_in": "its product data",
    "availability.structured_out": "its product data",
    "availability.structured_out_confirmed": "its product data and the page",
    "availability.structured_preorder": "its product data",
    "availability.store_selector": "the store's stock element",
    "availability.endpoint_variant": "the store's product feed",
    "availability.backorder_or_in_store_only": "its back-order or in-store-only wording",
}
SOURCE_WORDS = {"json-ld": "the page's product data (JSON-LD)", "microdata": "the page's product data (microdata)",
                "rdfa": "the page's product data (RDFa)", "meta": "the page's product tags",
                "shopify": "the store's product feed", "woocommerce": "the store's product feed",
                "magento": "the store's product feed", "visible": "the price shown on the page",
                "selectors": "the store's price element"}
GONE_WORDS = {"http_404": "the store answered 404 (not found)", "http_410": "the store answered 410 (gone)",
              "redirect_home": "the page now sends visitors to the store's home page",
              "redirect_listing": "the page now sends visitors to a category or search page",
              "listing": "a category or search page is served in its place",
              "not_found": "the page says the product was not found",
              "no_longer_available": "the page says the product is no longer available"}


def sentence(kind: str, url: str, reading: Mapping[str, Any] | None, *, confirmed: bool) -> str:
    """One or two sentences for the email; ``reading`` is the recorded observation (or None)."""
    reading = reading or {}
    rules = reading.get("rules") or {}
    if not isinstance(rules, Mapping):
        rules = {}
    if kind == "removed":
        what = GONE_WORDS.get(str(reading.get("reason") or ""), "the page no longer shows the product")
        text = f"Read at {url}: {what}"
        return text + (", on consecutive crawls." if confirmed else ".")
    price = PRICE_WORDS.get(rules.get("price", "")) or SOURCE_WORDS.get(str(reading.get("source") or ""),
                                                                      "the product page")
    stock = STOCK_WORDS.get(rules.get("availability", ""), "what the page says about stock")
    text = f"Price from {price}; stock from {stock}. Read at {url}"
    return text + (" and confirmed by a second reading." if confirmed else ".")
