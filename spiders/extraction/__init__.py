"""What pricehound reads from a product page: pure functions, no Scrapy, no network.

Public API:
    extract_product(html, url=None, *, default_currency=None, hints=None, encoding=None) -> Extraction
    parse_price(text, *, currency_hint=None, locale_hint=None) -> Price | None
    map_availability(value) -> "in_stock" | "out_of_stock" | "preorder" | "unknown"
    parse_shopify_product_js(body, variant_id=None, currency=None) -> Extraction

Amounts come back rounded half-even to the minor units stored (cents; whole JPY, KRW, CLP...):
see prices.py.
"""

from .availability import map_availability
from .chain import extract_product
from .model import Extraction, Price
from .prices import parse_price
from .shopify import parse_shopify_product_js

__all__ = ["Extraction", "Price", "extract_product", "map_availability", "parse_price",
           "parse_shopify_product_js"]
