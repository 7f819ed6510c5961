"""Shopify's product endpoints: /products/<handle>.js (prices in minor units, availability per
variant) and /products/<handle>.json (decimal strings)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from .model import Extraction, not_a_product
from .prices import ISO_CODES, _check, round_amount
from .records import clean_gtin, clean_text


def _minor(value) -> Decimal | None:
    """Shopify .js money: integer minor units (x100 for every currency)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, str):
            if "." in value:
                return _check(Decimal(value), None)  # .json style decimal string
            value = int(value)
        if isinstance(value, float):
            value = Decimal(repr(value))
        amount = Decimal(value) / Decimal(100)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return _check(amount.quantize(Decimal("0.01")), None)


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return _check(Decimal(str(value)), None)
    except InvalidOperation:
        return None


_UNREADABLE = not_a_product("unrecognised", "unreadable", "kind.endpoint_unreadable")


def parse_shopify_product_js(body, variant_id: str | None = None, currency: str | None = None) -> Extraction:
    """Read a Shopify product endpoint.  Never raises: unreadable bodies give an Extraction with
    page_kind "unrecognised" (reason "unreadable")."""
    try:
        return _parse(body, variant_id, currency)
    except Exception:  # noqa: BLE001 - a malformed endpoint body is a page we cannot read
        return _UNREADABLE


def _parse(body, variant_id, currency) -> Extraction:
    try:
        if isinstance(body, (bytes, bytearray)):
            body = bytes(body).decode("utf-8", errors="replace")
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return _UNREADABLE
    if not isinstance(data, dict):
        return _UNREADABLE
    minor = True
    if isinstance(data.get("product"), dict):  # the .json shape
        data = data["product"]
        minor = False
    raw_variants = data.get("variants")
    variants = [v for v in raw_variants if isinstance(v, dict)] if isinstance(raw_variants, list) else []
    if not variants and data.get("price") is None:
        return _UNREADABLE
    chosen = None
    if variant_id is not None:
        for v in variants:
            if str(v.get("id")) == str(variant_id):
                chosen = v
                break
    if chosen is None and variants:
        # the first available variant is what the product page selects by default
        chosen = next((v for v in variants if v.get("available") is True), variants[0])
    conv = _minor if minor else _decimal
    if chosen is not None:
        price = conv(chosen.get("price"))
        regular = conv(chosen.get("compare_at_price"))
        avail_raw = chosen.get("available")
        sku = clean_text(chosen.get("sku"), 100)
        gtin = clean_gtin(chosen.get("barcode"))
    else:
        price = conv(data.get("price"))
        regular = conv(data.get("compare_at_price"))
        avail_raw = data.get("available")
        sku = gtin = None
    cur = currency.upper() if currency and currency.upper() in ISO_CODES else None
    price, regular = round_amount(price, cur), round_amount(regular, cur)
    if regular is not None and price is not None and regular <= price:
        regular = None
    if avail_raw is True:
        availability = "in_stock"
    elif avail_raw is False:
        availability = "out_of_stock"
    else:
        availability = "unknown"
    image = data.get("featured_image") or (data.get("image") or {}).get("src") if isinstance(data.get("image"), dict) else data.get("featured_image")
    if isinstance(image, str) and image.startswith("//"):
        image = "https:" + image
    return Extraction(
        name=clean_text(data.get("title")),
        price=price if price is not None and price > 0 else None,
        currency=cur,
        availability=availability,
        regular_price=regular,
        sku=sku,
        gtin=gtin,
        image_url=clean_text(image, 2000),
        source="shopify" if price is not None else None,
        page_kind="product",
        rules={"price": "price.endpoint_variant" if price is not None else "price.none",
               "availability": "availability.endpoint_variant" if availability != "unknown" else "availability.no_signal",
               "page_kind": "kind.endpoint_product"},
    )
