"""schema.org JSON-LD: Product, ProductGroup (hasVariant), @graph, nested and list offers,
AggregateOffer, priceSpecification."""

from __future__ import annotations

import json
import re

from .availability import map_availability
from .prices import amount_from_value, normalize_currency
from .records import Offer, Product, clean_gtin, clean_text

MAX_SCRIPT_CHARS = 1_000_000
MAX_NODES = 20_000
MAX_DEPTH = 40
PRODUCT_TYPES = {"product", "productgroup", "individualproduct", "productmodel", "somproducts",
                 "someproducts", "book", "vehicle", "car", "dietarysupplement", "drug", "wearable"}
LISTING_TYPES = {"itemlist", "collectionpage", "searchresultspage", "offercatalog"}


def _types(node) -> set[str]:
    t = node.get("@type")
    if t is None:
        return set()
    if not isinstance(t, list):
        t = [t]
    out = set()
    for x in t:
        if isinstance(x, str):
            out.add(x.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower())
    return out


def load_scripts(root, scripts: list | None = None) -> list:
    """Every parsable JSON-LD block in the page (`scripts`: its script elements, when known)."""
    out = []
    for el in (scripts if scripts is not None else root.iter("script")):
        if "ld+json" not in (el.get("type") or "").lower():
            continue
        text = el.text or ""
        if not text.strip() or len(text) > MAX_SCRIPT_CHARS:
            continue
        data = _loads(text)
        if data is not None:
            out.append(data)
    return out


_WRAP_START = re.compile(r"^\s*(?:<!--|<!\[CDATA\[|//\s*<!\[CDATA\[)")
_WRAP_END = re.compile(r"(?:-->|\]\]>|//\s*\]\]>)\s*$")


def _loads(text: str):
    s = text.strip()
    # HTML comment or CDATA wrappers; the patterns run only when the text starts or ends like one
    # (the end pattern, unanchored at its start, would otherwise try every position of the text)
    if s.startswith(("<!--", "<![CDATA[", "//")):
        s = _WRAP_START.sub("", s)
    if s.endswith(("-->", "]]>")):
        s = _WRAP_END.sub("", s)
    s = s.strip().rstrip(";")
    try:
        return json.loads(s, strict=False)
    except (ValueError, RecursionError):
        pass
    # common breakage: trailing commas, raw control characters
    fixed = re.sub(r",\s*([}\]])", r"\1", s)
    fixed = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", fixed)
    try:
        return json.loads(fixed, strict=False)
    except (ValueError, RecursionError):
        return None


def _walk(data):
    """Yield every dict in the data, breadth-first, with caps on depth and count."""
    stack = [(data, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop(0)
        seen += 1
        if seen > MAX_NODES or depth > MAX_DEPTH:
            return
        if isinstance(node, dict):
            yield node, depth
            for v in node.values():
                if isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
        elif isinstance(node, list):
            for v in node[:2000]:
                if isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))


def extract(blocks: list, *, locale_hint: str | None = None, currency_hint: str | None = None):
    """-> (products, listing_seen): products in document order; the first is the main one
    unless the chain decides otherwise."""
    products: list[Product] = []
    listing = False
    claimed: set[int] = set()
    for data in blocks:
        for node, _depth in _walk(data):
            types = _types(node)
            if types & LISTING_TYPES:
                n = node.get("itemListElement") or node.get("mainEntity", {})
                if isinstance(n, list) and len(n) > 1:
                    listing = True
            if id(node) in claimed:
                continue
            if types & PRODUCT_TYPES:
                products.append(_product(node, claimed, locale_hint, currency_hint))
            elif "offer" in types and isinstance(node.get("itemOffered"), dict):
                item = node["itemOffered"]
                p = _product(item, claimed, locale_hint, currency_hint)
                p.offers = [o for o in _offers(node, locale_hint, currency_hint)] + p.offers
                products.append(p)
                claimed.add(id(node))
    return products, listing


def _product(node: dict, claimed: set, locale_hint, currency_hint) -> Product:
    claimed.add(id(node))
    p = Product(source="json-ld")
    p.name = clean_text(node.get("name"))
    p.sku = clean_text(node.get("sku") or node.get("productID") or node.get("mpn"), 100)
    p.gtin = clean_gtin(node.get("gtin13") or node.get("gtin") or node.get("gtin12")
                        or node.get("gtin14") or node.get("gtin8") or node.get("ean") or node.get("upc"))
    p.brand = clean_text(node.get("brand") or node.get("manufacturer"), 200)
    p.mpn = clean_text(node.get("mpn"), 100)
    img = node.get("image")
    if isinstance(img, list):
        img = img[0] if img else None
    if isinstance(img, dict):
        img = img.get("url") or img.get("contentUrl")
    p.image = clean_text(img, 2000)
    p.url = clean_text(node.get("url"), 2000)
    p.offers = _offers(node, locale_hint, currency_hint) + _variant_offers(node, claimed, locale_hint, currency_hint)
    if node.get("availability"):
        p.availability = map_availability(node.get("availability"))
    return p


def _variant_offers(node: dict, claimed: set, locale_hint, currency_hint) -> list[Offer]:
    """The offers of a ProductGroup's variants (hasVariant), each with its variant's sku and URL."""
    variants = node.get("hasVariant")
    if isinstance(variants, dict):
        variants = [variants]
    if not isinstance(variants, list):
        return []
    out = []
    for v in variants[:500]:
        if not isinstance(v, dict):
            continue
        claimed.add(id(v))
        for o in _offers(v, locale_hint, currency_hint):
            o.sku = o.sku or clean_text(v.get("sku"), 100)
            o.url = o.url or clean_text(v.get("url"), 2000)
            o.low = True
            out.append(o)
    return out


def _offers(node: dict, locale_hint, currency_hint) -> list[Offer]:
    raw = node.get("offers")
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    out: list[Offer] = []
    for o in raw[:500]:
        if not isinstance(o, dict):
            continue
        types = _types(o)
        cur = normalize_currency(_first(o.get("priceCurrency")), currency_hint)
        spec_price, spec_cur, spec_regular = _price_spec(o.get("priceSpecification"), locale_hint, currency_hint)
        cur = cur or spec_cur
        avail = map_availability(_first(o.get("availability")))
        if "aggregateoffer" in types:
            inner = _offers(o, locale_hint, currency_hint)
            low = amount_from_value(_first(o.get("lowPrice")), locale_hint=locale_hint, currency=cur)
            price = amount_from_value(_first(o.get("price")), locale_hint=locale_hint, currency=cur)
            if low is not None or price is not None:
                out.append(Offer(price=low if low is not None else price, currency=cur,
                                 availability=avail, low=low is not None))
            for i in inner:
                i.low = True
                i.currency = i.currency or cur
                if i.availability == "unknown":
                    i.availability = avail
            out.extend(inner)
            if not out and avail != "unknown":
                out.append(Offer(currency=cur, availability=avail))
            continue
        price = amount_from_value(_first(o.get("price")), locale_hint=locale_hint, currency=cur)
        if price is None:
            price = spec_price
        out.append(Offer(
            price=price, currency=cur, availability=avail, regular_price=spec_regular,
            valid_until=clean_text(o.get("priceValidUntil"), 40),
            sku=clean_text(o.get("sku"), 100), url=clean_text(o.get("url"), 2000),
        ))
    return out


def _first(v):
    if isinstance(v, list):
        return v[0] if v else None
    if isinstance(v, dict):
        return v.get("@id") or v.get("@value") or v.get("name")
    return v


def _price_spec(spec, locale_hint, currency_hint):
    """-> (price, currency, regular price) from priceSpecification (one or a list)."""
    if spec is None:
        return None, None, None
    if isinstance(spec, dict):
        spec = [spec]
    if not isinstance(spec, list):
        return None, None, None
    price = cur = regular = None
    for s in spec[:20]:
        if not isinstance(s, dict):
            continue
        c = normalize_currency(_first(s.get("priceCurrency")), currency_hint)
        amount = amount_from_value(_first(s.get("price")), locale_hint=locale_hint, currency=c)
        kind = str(_first(s.get("priceType")) or "").lower()
        if any(k in kind for k in ("strikethrough", "listprice", "msrp", "srp", "invoice")):
            regular = regular or amount
            continue
        if "unitpricespecification" in _types(s) and s.get("referenceQuantity") is not None:
            continue  # a per-unit price
        if price is None:
            price, cur = amount, c
    return price, cur, regular
