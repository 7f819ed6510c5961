"""Magento 2 (Adobe Commerce): the storefront GraphQL endpoint, ``GET /graphql`` (no token).

``products(filter: {url_key: {eq: ...}})`` answers a product's name, SKU, ``stock_status``
(IN_STOCK / OUT_OF_STOCK) and ``price_range.minimum_price`` (final and regular price, each
with its currency) as plain decimal numbers (read as Decimal, never float). GET queries are
what Magento's full-page cache serves, so they are as cheap for the shop as a page.

Evidence: the storefront's ``text/x-magento-init`` scripts and ``data-mage-init`` attributes,
its ``mage/`` RequireJS modules and ``Magento_`` static assets. The URL key is the product
URL's last path segment without its suffix (``.html`` by default). An empty answer says
nothing (the key may be rewritten): the page decides.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import quote, urlsplit, urlunsplit

from spiders.extraction import Extraction
from spiders.extraction.model import not_a_product
from spiders.extraction.prices import _check, minor_unit, normalize_code, round_amount
from spiders.extraction.records import clean_text

from . import Platform, body_rule, endpoint_rules, load_json

URL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.~-]{0,254}$")
QUERY = ('{products(filter:{url_key:{eq:"%s"}}){items{__typename name sku url_key stock_status '
         "price_range{minimum_price{regular_price{value currency} final_price{value currency}}} "
         "small_image{url}}}}")
STOCK = {"IN_STOCK": "in_stock", "OUT_OF_STOCK": "out_of_stock"}
_UNREADABLE = not_a_product("unrecognised", "unreadable", "kind.endpoint_unreadable")


def url_key_of(product_url: str) -> str | None:
    segment = urlsplit(product_url).path.rstrip("/").rsplit("/", 1)[-1]
    key = re.sub(r"\.html?$", "", segment)
    return key if key and URL_KEY.match(key) and "." not in key else None


def endpoint_url(product_url: str, page: bytes | None = None) -> str | None:
    key = url_key_of(product_url)
    if key is None:
        return None
    parts = urlsplit(product_url)
    return urlunsplit((parts.scheme, parts.netloc, "/graphql", "query=" + quote(QUERY % key, safe=""), ""))


def _money(node) -> tuple[Decimal | None, str | None]:
    if not isinstance(node, dict):
        return None, None
    value, code = node.get("value"), normalize_code(node.get("currency"))
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None, code
    amount = round_amount(_check(Decimal(value), code), code)
    if amount is not None and amount.as_tuple().exponent > minor_unit(code).as_tuple().exponent:
        amount = amount.quantize(minor_unit(code))  # 116.0 -> 116.00, as the page writes it
    return amount, code


def parse(body: bytes, product_url: str, currency: str | None) -> Extraction:
    """Read a GraphQL ``products`` answer for the product at ``product_url``; never raises."""
    try:
        return _parse(body, product_url, currency)
    except Exception:  # noqa: BLE001 - a malformed endpoint body is one we cannot read
        return _UNREADABLE


def _item(data, key: str | None) -> dict | None:
    """The one item of the answer whose url_key is the product's."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        return None
    products = data["data"].get("products")
    items = products.get("items") if isinstance(products, dict) else None
    if not isinstance(items, list):
        return None
    matching = [i for i in items if isinstance(i, dict) and i.get("url_key") == key]
    return matching[0] if len(matching) == 1 else None


def _prices(item: dict) -> tuple[Decimal | None, Decimal | None, str | None]:
    """Final price, regular price (only when higher, same currency) and currency."""
    range_ = item.get("price_range")
    minimum = range_.get("minimum_price") if isinstance(range_, dict) else None
    minimum = minimum if isinstance(minimum, dict) else {}
    price, code = _money(minimum.get("final_price"))
    regular, regular_code = _money(minimum.get("regular_price"))
    if regular is not None and (price is None or regular <= price or regular_code != code):
        regular = None
    return price, regular, code


def _image(item: dict) -> str | None:
    image = item.get("small_image")
    url = image.get("url") if isinstance(image, dict) else None
    return clean_text(url, 2000) if isinstance(url, str) else None


def _parse(body: bytes, product_url: str, currency: str | None) -> Extraction:
    item = _item(load_json(body), url_key_of(product_url))
    if item is None:
        return _UNREADABLE
    price, regular, code = _prices(item)
    availability = STOCK.get(str(item.get("stock_status") or ""), "unknown")
    return Extraction(
        name=clean_text(item.get("name")), price=price if price is not None and price > 0 else None,
        currency=code or normalize_code(currency), availability=availability, regular_price=regular,
        sku=clean_text(item.get("sku"), 100), image_url=_image(item),
        source="magento" if price is not None else None, page_kind="product",
        rules=endpoint_rules(price, availability),
    )


PLATFORM = Platform(
    name="magento",
    rules=(
        ("platform.magento_init", body_rule(rb"type=[\"']text/x-magento-init[\"']|\bdata-mage-init=")),
        ("platform.magento_assets", body_rule(rb"/static/(?:version\d+/)?frontend/[A-Za-z0-9_]+/|[\"']mage/cookies[\"']")),
    ),
    endpoint_url=endpoint_url,
    parse=parse,
)
