"""Shop platforms found on their own: evidence on the page, a product endpoint, a parser.

Most shops run on a handful of platforms, and each platform serves a product's data as JSON at
a URL derived from the product page's: Shopify ``/products/<handle>.js``, the WooCommerce Store
API ``/wp-json/wc/store/v1/products?slug=<slug>``, Magento 2's GraphQL ``products(filter:
{url_key: ...})``. The endpoint is more exact than markup (money in the currency's minor units
or as plain numbers, stock per variant, SKU), so when a store's pages show a platform's
evidence the crawl asks the endpoint and reconciles it with the page (spiders/endpoints.py).

A platform is a small module here (no spider of its own): ``detect`` (named evidence rules over
the response headers and body), ``endpoint_url`` and ``parse``. Rules name what they saw, so a
store's ``platform`` and the runs' stats say why the crawl took a store for Shopify.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spiders.extraction import Extraction

# Only the head of a page is searched: platforms announce themselves there (scripts, meta,
# links) and in the first part of the body (its classes).
DETECT_BYTES = 256 * 1024

DetectRule = Callable[[Mapping[str, str], bytes], bool]


@dataclass(frozen=True)
class Platform:
    """One shop platform. ``rules`` are (name, test) pairs over (lower-cased headers, page head);
    the first that holds names the evidence. ``gone_on_404``: the endpoint answers 404 exactly
    when the product is gone (not merely when the endpoint is off)."""

    name: str
    rules: tuple[tuple[str, DetectRule], ...]
    endpoint_url: Callable[[str, bytes | None], str | None]
    parse: Callable[[bytes, str, str | None], Extraction]
    gone_on_404: bool = False
    # the endpoint cannot tell everything the page can (Shopify has no pre-order state): when
    # this says so for a body and its reading, the page is read as well and reconciled
    needs_page: Callable[[bytes, Extraction], bool] = field(default=lambda body, ex: False)
    # whether the endpoint can say "pre-order"; when it cannot, a listing last read as a
    # pre-order that the endpoint calls in stock is read on its page as well
    knows_preorder: bool = False

    def evidence(self, headers: Mapping[str, str], head: bytes) -> str | None:
        for name, rule in self.rules:
            if rule(headers, head):
                return name
        return None


def header_rule(*names: str) -> DetectRule:
    """Any of these response headers is present."""
    wanted = tuple(n.lower() for n in names)
    return lambda headers, head: any(n in headers for n in wanted)


def body_rule(pattern: bytes) -> DetectRule:
    """The page's head matches this pattern (case-insensitive)."""
    rx = re.compile(pattern, re.IGNORECASE)
    return lambda headers, head: rx.search(head) is not None


def _registry() -> tuple[Platform, ...]:
    from . import magento, shopify, woocommerce

    return (shopify.PLATFORM, woocommerce.PLATFORM, magento.PLATFORM)


_PLATFORMS: tuple[Platform, ...] | None = None


def platforms() -> tuple[Platform, ...]:
    global _PLATFORMS
    if _PLATFORMS is None:
        _PLATFORMS = _registry()
    return _PLATFORMS


def by_name(name: str | None) -> Platform | None:
    return next((p for p in platforms() if p.name == name), None) if name else None


def plain_headers(headers: Any) -> dict[str, str]:
    """Scrapy's Headers (bytes, lists) as lower-cased text names -> first value."""
    out: dict[str, str] = {}
    if not headers:
        return out
    for key, values in headers.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        value = values[0] if isinstance(values, (list, tuple)) and values else values
        out[name.lower()] = value.decode("latin-1") if isinstance(value, bytes) else str(value or "")
    return out


def detect(headers: Any, body: bytes) -> tuple[Platform, str] | None:
    """The platform whose evidence the response shows, with the rule's name; None if none does."""
    plain = plain_headers(headers)
    head = bytes(body[:DETECT_BYTES])
    for platform in platforms():
        rule = platform.evidence(plain, head)
        if rule is not None:
            return platform, rule
    return None


# -- money and JSON, shared by the endpoint parsers --------------------------------------------

def from_minor_units(value: Any, digits: int | None, currency: str | None) -> Any:
    """An amount given in minor units ("1999" with 2 digits -> Decimal("19.99")).

    ``digits`` is what the endpoint says its currency uses (WooCommerce's
    ``currency_minor_unit``); when it says nothing, the currency's own minor units (ISO 4217:
    0 for JPY, 3 for KWD, else 2). Never a float on the way: strings and integers only.
    """
    from decimal import Decimal, InvalidOperation

    from spiders.extraction.prices import _check, minor_unit, round_amount

    if value is None or isinstance(value, (bool, float)):
        return None
    try:
        units = int(str(value).strip())
    except ValueError:
        return None
    if digits is None or isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 4:
        digits = -minor_unit(currency).as_tuple().exponent
    try:
        amount = Decimal(units).scaleb(-digits)
    except InvalidOperation:
        return None
    return round_amount(_check(amount, currency), currency)


def load_json(body: bytes | str) -> Any:
    """The endpoint's JSON (numbers as Decimal, never float), or None when it is not JSON."""
    import json
    from decimal import Decimal

    try:
        if isinstance(body, (bytes, bytearray)):
            body = bytes(body).decode("utf-8", errors="replace")
        return json.loads(body, parse_float=Decimal)
    except (ValueError, TypeError, RecursionError):
        return None


def endpoint_rules(price: Any, availability: str) -> dict[str, str]:
    """The rule names of an endpoint's reading, as Shopify's parser names them."""
    return {"price": "price.endpoint_variant" if price is not None else "price.none",
            "availability": "availability.endpoint_variant" if availability != "unknown" else "availability.no_signal",
            "page_kind": "kind.endpoint_product"}
