"""Shopify: ``/products/<handle>.js`` (money in minor units, ``available`` per variant).

Evidence: Shopify's own response headers (``x-shopid``, ``x-shopify-stage``, ``x-shardid``,
``powered-by: Shopify``), or the storefront's scripts (``Shopify.shop =``, ``window.Shopify``,
the ``shopify-features`` block, ``ShopifyAnalytics``) or assets on ``cdn.shopify.com``.
A 404 from the endpoint means the handle is gone, as the page's would. The endpoint knows no
pre-order state, so when its document mentions a pre-order the page decides that.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit, urlunsplit

from spiders.extraction import Extraction, parse_shopify_product_js

from . import Platform, body_rule, header_rule

# English, German and French spellings; the endpoint body is searched as bytes, once.
PREORDER_SIGNAL = re.compile(rb"pre[-_ ]?order|vorbestell|pr(?:e|\xc3\xa9)-?commande", re.IGNORECASE)


def endpoint_url(product_url: str, page: bytes | None = None) -> str | None:
    """``https://shop/products/kettle?variant=1`` -> ``https://shop/products/kettle.js``."""
    parts = urlsplit(product_url)
    path = parts.path.rstrip("/")
    if "/products/" not in path or path.endswith((".js", ".json")):
        return None
    return urlunsplit((parts.scheme, parts.netloc, path + ".js", "", ""))


def variant_of(product_url: str) -> str | None:
    values = parse_qs(urlsplit(product_url).query).get("variant")
    return values[0] if values else None


def parse(body: bytes, product_url: str, currency: str | None) -> Extraction:
    return parse_shopify_product_js(body, variant_of(product_url), currency)


def needs_page(body: bytes, ex: Extraction) -> bool:
    return ex.availability != "preorder" and PREORDER_SIGNAL.search(body) is not None


PLATFORM = Platform(
    name="shopify",
    rules=(
        ("platform.shopify_header", header_rule("x-shopid", "x-shopify-stage", "x-shardid")),
        ("platform.shopify_powered_by", lambda headers, head: headers.get("powered-by", "").lower() == "shopify"),
        ("platform.shopify_script", body_rule(rb"\bShopify\.shop\s*=|window\.Shopify\b|id=[\"']shopify-features[\"']"
                                              rb"|\bShopifyAnalytics\b")),
        ("platform.shopify_cdn", body_rule(rb"//cdn\.shopify\.com/")),
    ),
    endpoint_url=endpoint_url,
    parse=parse,
    gone_on_404=True,
    needs_page=needs_page,
)
