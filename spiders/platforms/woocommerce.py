"""WooCommerce: the Store API, ``/wp-json/wc/store/v1/products?slug=<slug>`` (public, no key).

Prices come as strings in minor units with ``currency_minor_unit`` (``"1999"``, 2 -> 19.99;
``"1999"``, 0 -> 1999 for a shop pricing in whole yen), stock as ``is_in_stock``,
``is_on_backorder`` and the shop's own stock wording.

Evidence: WooCommerce's generator meta tag, the ``woocommerce`` body classes and script ids
(``wc-add-to-cart``, ``woocommerce-js``). The REST root comes from the page's
``<link rel="https://api.w.org/">`` when the page is at hand (WordPress sites moved under a
path, or without pretty permalinks use ``?rest_route=``); else ``/wp-json/`` at the origin.
The slug is the product URL's last path segment (WooCommerce's permalinks end with it) or its
``product=`` query parameter. An empty answer is no evidence of anything: the page decides.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, quote, urljoin, urlsplit, urlunsplit

from spiders.extraction import Extraction, map_availability
from spiders.extraction.model import not_a_product
from spiders.extraction.prices import normalize_code
from spiders.extraction.records import clean_gtin, clean_text

from . import Platform, body_rule, endpoint_rules, from_minor_units, load_json

API_LINK = re.compile(rb"<link[^>]+rel=[\"']https://api\.w\.org/[\"'][^>]*>", re.IGNORECASE)
HREF = re.compile(rb"href=[\"']([^\"']+)[\"']", re.IGNORECASE)
STORE_API = "wc/store/v1/products"
_UNREADABLE = not_a_product("unrecognised", "unreadable", "kind.endpoint_unreadable")


def slug_of(product_url: str) -> str | None:
    parts = urlsplit(product_url)
    query = parse_qs(parts.query).get("product")
    if query:
        return query[0]
    segment = parts.path.rstrip("/").rsplit("/", 1)[-1]
    return segment or None


def api_root(product_url: str, page: bytes | None) -> str:
    """The site's REST root (``https://shop/wp-json/`` or ``https://shop/?rest_route=/``)."""
    if page:
        link = API_LINK.search(page[:256 * 1024])
        href = HREF.search(link.group(0)) if link else None
        if href:
            root = urljoin(product_url, html.unescape(href.group(1).decode("utf-8", "replace")))
            if urlsplit(root).netloc == urlsplit(product_url).netloc:
                return root
    parts = urlsplit(product_url)
    return urlunsplit((parts.scheme, parts.netloc, "/wp-json/", "", ""))


def endpoint_url(product_url: str, page: bytes | None = None) -> str | None:
    slug = slug_of(product_url)
    if not slug:
        return None
    root = api_root(product_url, page)
    if "rest_route=" in root:
        return f"{root.rstrip('/')}/{STORE_API}&slug={quote(slug, safe='')}"
    return f"{root.rstrip('/')}/{STORE_API}?slug={quote(slug, safe='')}"


def _product(data, slug: str | None) -> dict | None:
    if isinstance(data, dict):
        return data if "prices" in data else None
    if not isinstance(data, list):
        return None
    items = [d for d in data if isinstance(d, dict)]
    exact = [d for d in items if slug is not None and str(d.get("slug", "")) == slug]
    if exact:
        return exact[0]
    return items[0] if len(items) == 1 else None


def _availability(product: dict) -> str:
    stock = product.get("stock_availability")
    text = stock.get("text") if isinstance(stock, dict) else None
    said = map_availability(html.unescape(text)) if isinstance(text, str) and text.strip() else "unknown"
    if said != "unknown":
        return said
    if product.get("is_on_backorder") is True:
        return map_availability("backorder")
    if isinstance(product.get("is_in_stock"), bool):
        return "in_stock" if product["is_in_stock"] else "out_of_stock"
    return "unknown"


def parse(body: bytes, product_url: str, currency: str | None) -> Extraction:
    """Read a Store API answer for the product at ``product_url``; never raises."""
    try:
        return _parse(body, product_url, currency)
    except Exception:  # noqa: BLE001 - a malformed endpoint body is one we cannot read
        return _UNREADABLE


def _parse(body: bytes, product_url: str, currency: str | None) -> Extraction:
    product = _product(load_json(body), slug_of(product_url))
    if product is None or not isinstance(product.get("prices"), dict):
        return _UNREADABLE
    prices = product["prices"]
    code = normalize_code(prices.get("currency_code")) or normalize_code(currency)
    digits = prices.get("currency_minor_unit")
    price = from_minor_units(prices.get("price"), digits, code)
    regular = from_minor_units(prices.get("regular_price"), digits, code)
    if regular is not None and (price is None or regular <= price):
        regular = None
    availability = _availability(product)
    images = product.get("images")
    image = images[0].get("src") if isinstance(images, list) and images and isinstance(images[0], dict) else None
    return Extraction(
        name=clean_text(html.unescape(str(product.get("name") or ""))) or None,
        price=price if price is not None and price > 0 else None,
        currency=code, availability=availability, regular_price=regular,
        sku=clean_text(product.get("sku"), 100) or None, gtin=clean_gtin(product.get("gtin") or None),
        image_url=clean_text(image, 2000) if isinstance(image, str) else None,
        source="woocommerce" if price is not None else None, page_kind="product",
        rules=endpoint_rules(price, availability),
    )


PLATFORM = Platform(
    name="woocommerce",
    rules=(
        ("platform.woocommerce_generator", body_rule(rb"<meta[^>]+name=[\"']generator[\"'][^>]+content=[\"']WooCommerce")),
        ("platform.woocommerce_body_class", body_rule(rb"<body[^>]+class=[\"'][^\"']*\bwoocommerce\b")),
        ("platform.woocommerce_script", body_rule(rb"id=[\"'](?:wc-add-to-cart|woocommerce)-js")),
    ),
    endpoint_url=endpoint_url,
    parse=parse,
    knows_preorder=True,  # the shop's own stock wording says so
)
