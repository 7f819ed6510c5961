"""What a structured-data reader found: products and their offers, before reconciliation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Offer:
    price: Decimal | None = None
    currency: str | None = None
    availability: str = "unknown"
    regular_price: Decimal | None = None
    low: bool = False  # an AggregateOffer lowPrice, or a variant among several
    valid_until: str | None = None
    sku: str | None = None
    url: str | None = None
    alternatives: list = field(default_factory=list)  # several prices written in one offer


@dataclass
class Product:
    source: str  # "json-ld" | "microdata" | "rdfa" | "meta" | "shopify"
    name: str | None = None
    offers: list[Offer] = field(default_factory=list)
    sku: str | None = None
    gtin: str | None = None
    brand: str | None = None  # schema.org Product.brand (a Brand's or an Organization's name)
    mpn: str | None = None  # the manufacturer's part number, which no shop assigns itself
    image: str | None = None
    url: str | None = None
    availability: str = "unknown"  # a product-level availability outside any offer
    element: object = None  # the lxml element (microdata / rdfa), for locating on the page

    @property
    def prices(self) -> list[Decimal]:
        return [o.price for o in self.offers if o.price is not None and o.price > 0]


def clean_gtin(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        for v in value:
            g = clean_gtin(v)
            if g:
                return g
        return None
    digits = re.sub(r"[\s\-]", "", str(value))
    if not digits.isdigit() or not 8 <= len(digits) <= 14:
        return None
    return digits


def clean_text(value, limit: int = 500) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
        return clean_text(value, limit)
    if value is None:
        return None
    s = str(value)
    if "<" in s:
        s = strip_markup(s)
    s = " ".join(s.split())
    return s[:limit] or None


_SCRIPTISH = re.compile(r"<\s*(script|style|iframe|object|embed|template)\b.*?(?:<\s*/\s*\1\s*>|$)", re.I | re.S)
_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]*(?:>|$)")


def strip_markup(s: str) -> str:
    """Markup spelled out in a text value (a <title>, og:title or JSON-LD name holding
    "<script>...</script>"): the program goes with its tags, other tags go, their text stays."""
    return _TAG.sub(" ", _SCRIPTISH.sub(" ", s))
