"""A store's own configured selectors (stores.extraction hints): CSS or XPath per field."""

from __future__ import annotations

import re

from lxml import etree

from .dom import norm, text_content

FIELDS = ("price", "availability", "name", "regular_price", "currency", "sku", "gtin", "image")


def _is_xpath(expr: str) -> bool:
    return bool(re.match(r"^\s*(?:\.?/|\(|\w+::|(?:string|normalize-space|concat)\()", expr))


def select_text(root, expr: str) -> str | None:
    """First non-empty value for a selector: text, or content/value/src of the element."""
    if not expr or not isinstance(expr, str) or len(expr) > 500:
        return None
    try:
        if _is_xpath(expr):
            found = root.xpath(expr)
        else:
            from lxml.cssselect import CSSSelector

            found = CSSSelector(expr)(root)
    except (etree.XPathError, ValueError, TypeError, Exception):  # noqa: BLE001 - bad config never breaks a crawl
        return None
    if isinstance(found, (str, bytes, float)):
        found = [found]
    for item in found[:20] if isinstance(found, list) else []:
        if isinstance(item, (str, bytes)):
            t = norm(item if isinstance(item, str) else item.decode("utf-8", "replace"))
        elif isinstance(item, float):
            t = str(item)
        elif hasattr(item, "tag"):
            t = (item.get("content") or item.get("value") or norm(text_content(item))
                 or item.get("src") or item.get("href") or "")
            t = norm(t)
        else:
            continue
        if t:
            return t[:500]
    return None


def apply(root, hints: dict | None) -> dict:
    out: dict = {}
    if not hints or not isinstance(hints, dict):
        return out
    for key in FIELDS:
        expr = hints.get(key)
        if isinstance(expr, str) and expr.strip():
            val = select_text(root, expr)
            if val is not None:
                out[key] = val
    return out
