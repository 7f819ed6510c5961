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


def _load(body) -> tuple[dict, bool] | None:
    """The product object and whether its money is in minor units (.js) or decimals (.json)."""
    try:
        if isinstance(body, (bytes, bytearray)):
            body = bytes(body).decode("utf-8", errors="replace")
        data = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("product"), dict):  # the .json shape
        return data["product"], False
    return data, True


def _chosen_variant(variants: list, variant_id) -> dict | None:
    """The variant the URL selects, else the first a buyer can pick (what the product page
    selects by default), else the first."""
    if variant_id is not None:
        for v in variants:
            if str(v.get("id")) == str(variant_id):
                return v
    if not variants:
        return None
    return next((v for v in variants if v.get("available") is True), variants[0])


_AVAILABLE = {True: "in_stock", False: "out_of_stock"}


def _image(data: dict) -> str | None:
    image = data.get("featured_image")
    if not image and isinstance(data.get("image"), dict):
        image = data["image"].get("src")
    if isinstance(image, str) and image.startswith("//"):
        image = "https:" + image
    return clean_text(image, 2000) if isinstance(image, str) else None


def _parse(body, variant_id, currency) -> Extraction:
    loaded = _load(body)
    if loaded is None:
        return _UNREADABLE
    data, minor = loaded
    raw_variants = data.get("variants")
    variants = [v for v in raw_variants if isinstance(v, dict)] if isinstance(raw_variants, list) else []
    if not variants and data.get("price") is None:
        return _UNREADABLE
    chosen = _chosen_variant(variants, variant_id)
    conv = _minor if minor else _decimal
    src = chosen if chosen is not None else data
    cur = currency.upper() if currency and currency.upper() in ISO_CODES else None
    price, regular = round_amount(conv(src.get("price")), cur), round_amount(conv(src.get("compare_at_price")), cur)
    if regular is not None and price is not None and regular <= price:
        regular = None
    availability = _availability(src.get("available"))
    return Extraction(
        name=clean_text(data.get("title")),
        price=price if price is not None and price > 0 else None,
        currency=cur,
        availability=availability,
        regular_price=regular,
        sku=clean_text((chosen or {}).get("sku"), 100),
        gtin=clean_gtin((chosen or {}).get("barcode")),
        brand=clean_text(data.get("vendor"), 200),
        image_url=_image(data),
        source="shopify" if price is not None else None,
        page_kind="product",
        rules=_rules(price, availability),
    )


def _availability(value) -> str:
    return _AVAILABLE.get(value, "unknown") if isinstance(value, bool) else "unknown"


def _rules(price, availability: str) -> dict[str, str]:
    return {"price": "price.endpoint_variant" if price is not None else "price.none",
            "availability": "availability.endpoint_variant" if availability != "unknown" else "availability.no_signal",
            "page_kind": "kind.endpoint_product"}
