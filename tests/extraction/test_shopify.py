import json
from decimal import Decimal

from spiders.extraction import parse_shopify_product_js

BODY = {
    "id": 1, "title": "Sidamo Coffee", "handle": "sidamo", "price": 1690, "available": True,
    "featured_image": "//cdn.shopify.example/s/files/sidamo.jpg",
    "variants": [
        {"id": 11, "title": "500g", "price": 1690, "compare_at_price": None, "available": False, "sku": "S-500",
         "barcode": "4006381333931"},
        {"id": 12, "title": "1kg", "price": 2790, "compare_at_price": 3200, "available": True, "sku": "S-1000",
         "barcode": ""},
    ],
}


def test_shopify_js_prices_are_minor_units_and_the_default_variant_is_the_first_available():
    ex = parse_shopify_product_js(json.dumps(BODY), currency="EUR")
    assert ex.price == Decimal("27.90") and ex.regular_price == Decimal("32.00")
    assert ex.availability == "in_stock" and ex.currency == "EUR" and ex.source == "shopify"
    assert ex.image_url == "https://cdn.shopify.example/s/files/sidamo.jpg"


def test_shopify_js_availability_is_per_variant():
    ex = parse_shopify_product_js(json.dumps(BODY).encode(), variant_id="11")
    assert ex.price == Decimal("16.90") and ex.availability == "out_of_stock"
    assert ex.sku == "S-500" and ex.gtin == "4006381333931"


def test_shopify_json_endpoint_uses_decimal_strings():
    body = {"product": {"title": "Cap", "variants": [{"id": 5, "price": "19.00", "compare_at_price": "25.00"}]}}
    ex = parse_shopify_product_js(json.dumps(body))
    assert ex.price == Decimal("19.00") and ex.regular_price == Decimal("25.00") and ex.availability == "unknown"


def test_shopify_garbage_never_raises():
    for body in (b"", b"<html>", b"[]", b"{\"variants\": 3}", "null"):
        assert parse_shopify_product_js(body).price is None
