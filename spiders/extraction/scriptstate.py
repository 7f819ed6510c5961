"""Script state as structured data: the product a page's own scripts hold.

Shops built on JavaScript frameworks and platforms ship the product they show as data beside
the markup: Next.js `__NEXT_DATA__`, Nuxt `__NUXT__`, Redux-style `window.__INITIAL_STATE__` /
`__PRELOADED_STATE__`, Shopify's product JSON, Magento's `text/x-magento-init` price boxes and
the analytics `dataLayer` ecommerce objects.  This module finds those objects, walks them for
product-like records (a name and a price, or variants) and returns them as `Product`s with
source "script"; the chain reconciles them with the visible page like any other structured
source.

Only what parses as JSON (after the light repairs an object literal in a script needs) is read;
no script is run.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from . import vocabulary as V
from .availability import map_availability
from .prices import amount_from_value, normalize_code
from .records import Offer, Product, clean_text

MAX_SCRIPT_CHARS = 1_500_000  # a state blob larger than this is not read
MAX_LITERAL_CHARS = 50_000  # object literals (not JSON) are repaired only up to this size (walked in Python)
MAX_NODES = 30_000  # dicts and lists walked per page
MAX_PRODUCTS = 50

_ASSIGN = re.compile(
    r"(?:__NEXT_DATA__|__NUXT__|__INITIAL_STATE__|__PRELOADED_STATE__|__APP_STATE__|__STATE__|__DATA__"
    r"|dataLayer\s*\.\s*push|dataLayer\s*=|ShopifyAnalytics\.meta\s*=|var\s+meta\s*=|productJson\s*=|"
    r"window\.product\s*=|var\s+product\s*=)\s*=?\s*\(?\s*(?=[\[{])")
_JSON_TYPES = ("application/json", "text/x-magento-init", "application/x-json")
_UNQUOTED_KEY = re.compile(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:")
_SINGLE_QUOTED = re.compile(r"'((?:[^'\\\n]|\\.)*)'")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_LINE_COMMENT = re.compile(r"(?m)^\s*//[^\n]*$|(?<=[,{\[])\s*//[^\n]*")


def _script_blobs(scripts) -> list:
    """The parsed data of each state script (JSON, or an object literal assigned to a known name)."""
    out = []
    for el in scripts:
        text = el.text
        if not text or len(text) > MAX_SCRIPT_CHARS:
            continue
        kind = (el.get("type") or "").lower()
        if "ld+json" in kind:
            continue
        if kind in _JSON_TYPES:
            data = _loads(text)
            if data is not None:
                out.append(data)
            continue
        if kind and "javascript" not in kind and "module" not in kind:
            continue
        for m in _ASSIGN.finditer(text):
            data = _decode_at(text, m.end())
            if data is not None:
                out.append(data)
    return out


def _loads(text: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _decode_at(text: str, start: int):
    """The JSON value starting at `start`; an object literal is repaired (quoted keys, double
    quotes, no trailing commas) when small enough."""
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        pass
    end = _balanced_end(text, start)
    if end is None or end - start > MAX_LITERAL_CHARS:
        return None
    literal = text[start:end]
    literal = _LINE_COMMENT.sub("", literal)
    literal = _SINGLE_QUOTED.sub(lambda m: json.dumps(m.group(1).replace("\\'", "'")), literal)
    literal = _UNQUOTED_KEY.sub(r'\1"\2":', literal)
    literal = _TRAILING_COMMA.sub(r"\1", literal)
    return _loads(literal)


def _balanced_end(text: str, start: int) -> int | None:
    depth = 0
    quote = None
    i = start
    n = min(len(text), start + MAX_LITERAL_CHARS + 1)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


# ---------------------------------------------------------------- walking the state

def _get(d: dict, keys) -> object:
    for k in keys:
        if k in d and d[k] not in (None, "", [], {}):
            return d[k]
    return None


def _money(value, currency: str | None, cents: bool) -> Decimal | None:
    if isinstance(value, dict):
        if "centAmount" in value:
            digits = value.get("fractionDigits", 2)
            raw = amount_from_value(value.get("centAmount"), currency=currency)
            return raw / (Decimal(10) ** int(digits)) if raw is not None and isinstance(digits, int) else None
        value = _get(value, V.STATE_AMOUNT_KEYS)
        if isinstance(value, dict):
            return None
    if value is None or isinstance(value, bool):
        return None
    if cents and isinstance(value, int):
        amount = amount_from_value(value, currency=currency)
        return amount / 100 if amount is not None else None  # Shopify writes money in cents
    return amount_from_value(value, currency=currency)


def _currency(d: dict, inherited: str | None) -> str | None:
    for k in V.STATE_CURRENCY_KEYS:
        v = d.get(k)
        if isinstance(v, str) and normalize_code(v):
            return normalize_code(v)
    price = _get(d, V.STATE_PRICE_KEYS)
    if isinstance(price, dict):
        for k in V.STATE_CURRENCY_KEYS:
            v = price.get(k)
            if isinstance(v, str) and normalize_code(v):
                return normalize_code(v)
    return inherited


def _availability(d: dict) -> str:
    for k in V.STATE_IN_STOCK_FLAGS:
        v = d.get(k)
        if isinstance(v, bool):
            return "in_stock" if v else "out_of_stock"
    for k in V.STATE_OUT_FLAGS:
        v = d.get(k)
        if isinstance(v, bool):
            return "out_of_stock" if v else "in_stock"
    v = _get(d, V.STATE_AVAILABILITY_KEYS)
    if isinstance(v, str):
        return map_availability(v)
    if isinstance(v, dict):
        inner = _get(v, ("status", "value", "code", "type", "name"))
        return map_availability(inner) if isinstance(inner, str) else "unknown"
    return "unknown"


def _shopify_shaped(d: dict) -> bool:
    """A Shopify product object: its money is in minor units (x100)."""
    return isinstance(d.get("variants"), list) and ("handle" in d or "compare_at_price" in d
                                                     or "featured_image" in d or "compare_at_price_min" in d)


def _offers_of(d: dict, currency: str | None, cents: bool) -> list[Offer]:
    offers = []
    variants = d.get("variants")
    if isinstance(variants, list):
        for v in variants[:200]:
            if not isinstance(v, dict):
                continue
            price = _money(_get(v, V.STATE_PRICE_KEYS), currency, cents)
            avail = _availability(v)
            if price is None and avail == "unknown":
                continue
            offers.append(Offer(price=price, currency=_currency(v, currency), availability=avail, low=True,
                                sku=clean_text(_get(v, ("sku", "id")), 100),
                                regular_price=_money(_get(v, V.STATE_REGULAR_KEYS), currency, cents)))
    price = _money(_get(d, V.STATE_PRICE_KEYS), currency, cents)
    if price is not None or not offers:
        own = _availability(d)
        if price is not None or own != "unknown":
            offers.insert(0, Offer(price=price, currency=currency, availability=own,
                                   regular_price=_money(_get(d, V.STATE_REGULAR_KEYS), currency, cents)))
    return offers


def _product_like(d: dict) -> bool:
    if not any(isinstance(d.get(k), str) for k in V.STATE_NAME_KEYS):
        return False
    return _get(d, V.STATE_PRICE_KEYS) is not None or isinstance(d.get("variants"), list)


def products(scripts) -> list[Product]:
    """The product-like records in the page's state scripts, outermost first."""
    found: list[Product] = []
    nodes = 0
    for blob in _script_blobs(scripts):
        stack = [(blob, None)]
        while stack and nodes < MAX_NODES and len(found) < MAX_PRODUCTS:
            node, currency = stack.pop()
            nodes += 1
            if isinstance(node, list):
                stack.extend((x, currency) for x in reversed(node[:500]) if isinstance(x, (dict, list)))
                continue
            if not isinstance(node, dict):
                continue
            currency = _currency(node, currency)
            if _product_like(node):
                p = _product(node, currency)
                if p is not None:
                    found.append(p)
                    continue
            stack.extend((v, currency) for v in reversed(list(node.values())) if isinstance(v, (dict, list)))
    return found


def _product(d: dict, currency: str | None) -> Product | None:
    offers = _offers_of(d, currency, _shopify_shaped(d))
    if not offers:
        return None
    name = next((d[k] for k in V.STATE_NAME_KEYS if isinstance(d.get(k), str)), None)
    return Product(source="script", name=clean_text(name), offers=offers, sku=clean_text(_get(d, ("sku",)), 100),
                   url=clean_text(_get(d, ("url", "canonicalUrl")), 2000))
