"""schema.org microdata and RDFa Product/Offer items, read straight from the shared lxml tree
(no second parse)."""

from __future__ import annotations

from .availability import map_availability
from .dom import norm, tag_of, text_content
from .prices import PageText, amount_from_value, normalize_currency
from .records import Offer, Product, clean_gtin, clean_text

PRODUCT_TYPES = ("product", "book", "individualproduct", "productmodel", "someproducts",
                 "vehicle", "productgroup")
MAX_ITEMS = 400


def _type_names(value: str | None) -> list[str]:
    if not value:
        return []
    return [t.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for t in value.split()]


def _is_product_type(value: str | None) -> bool:
    return any(t in PRODUCT_TYPES for t in _type_names(value))


def _prop_value(el) -> str | None:
    tag = tag_of(el)
    if el.get("content") is not None:
        return el.get("content")
    if tag in ("a", "link", "area"):
        return el.get("href")
    if tag in ("img", "audio", "embed", "iframe", "source", "video"):
        return el.get("src")
    if tag == "object":
        return el.get("data")
    if tag in ("data", "meter", "input"):
        return el.get("value")
    if tag == "time":
        return el.get("datetime") or text_content(el, 200)
    return PageText(_price_text(el))


def _price_text(el) -> str:
    """Text of an element, with superscript cents kept apart ("$199<sup>00</sup>" -> "$199.00")."""
    parts: list[str] = []

    def rec(e, depth=0):
        if depth > 30:
            return
        if e.text:
            parts.append(e.text)
        for c in e:
            if not isinstance(c.tag, str):
                if c.tail:
                    parts.append(c.tail)
                continue
            if tag_of(c) in ("script", "style"):
                pass
            elif tag_of(c) == "sup":
                t = norm(text_content(c, 20))
                joined = "".join(parts).rstrip()
                if len(t) == 2 and t.isdigit() and joined[-1:].isdigit() and not _has_decimal_tail(joined):
                    parts.append("." + t)
                else:
                    parts.append(t)
            else:
                rec(c, depth + 1)
            if c.tail:
                parts.append(c.tail)
            if sum(len(p) for p in parts) > 400:
                return

    rec(el)
    return norm("".join(parts))[:400]


def _has_decimal_tail(s: str) -> bool:
    import re

    return bool(re.search(r"[.,]\d{1,2}$", s))


def _props(scope):
    """(name, element) pairs of an item's own properties (not those of nested items)."""
    out = []
    stack = list(scope)[::-1]
    count = 0
    while stack:
        el = stack.pop()
        count += 1
        if count > 5000:
            break
        if not isinstance(el.tag, str):
            continue
        prop = el.get("itemprop")
        if prop:
            for name in prop.split():
                out.append((name.rsplit("/", 1)[-1], el))
        if el.get("itemscope") is not None:
            continue
        stack.extend(list(el)[::-1])
    return out


def extract_microdata(root, *, locale_hint=None, currency_hint=None, scopes: list | None = None) -> list[Product]:
    """Product items (`scopes`: the elements with itemscope and itemtype, when already known)."""
    products = []
    if scopes is None:
        scopes = root.xpath("//*[@itemscope][@itemtype]")
    scopes = scopes[:MAX_ITEMS]
    for scope in scopes:
        if not _is_product_type(scope.get("itemtype")):
            continue
        products.append(_read_item(scope, "microdata", locale_hint, currency_hint))
    # an Offer item with no Product around it still says what this page sells
    if not products:
        offers = [s for s in scopes if "offer" in _type_names(s.get("itemtype"))]
        if offers:
            p = Product(source="microdata", element=offers[0])
            for s in offers[:20]:
                p.offers.append(_read_offer(s, _props(s), locale_hint, currency_hint))
            products.append(p)
    return products


# Product properties read as plain text: property -> (Product attribute, length cap)
_ITEM_TEXT_FIELDS = {
    "name": ("name", 500),
    "sku": ("sku", 100),
    "productid": ("sku", 100),
    "image": ("image", 2000),
    "url": ("url", 2000),
    "brand": ("brand", 200),
    "mpn": ("mpn", 100),
}


def _set_item_field(p: Product, n: str, el) -> bool:
    """Name, sku, gtin, image or url from one property (the first one wins); True if `n` is one."""
    if n in _ITEM_TEXT_FIELDS:
        attr, limit = _ITEM_TEXT_FIELDS[n]
        if getattr(p, attr) is None:
            setattr(p, attr, clean_text(_prop_value(el), limit))
        return True
    if n.startswith("gtin") or n in ("ean", "upc"):
        p.gtin = p.gtin or clean_gtin(_prop_value(el))
        return True
    return False


def _item_offers(el, locale_hint, currency_hint) -> list[Offer]:
    """The offers of one nested `offers` item (an AggregateOffer gives its head and its offers)."""
    if el.get("itemscope") is None:
        return []
    offer_props = _props(el)
    if "aggregateoffer" in _type_names(el.get("itemtype")):
        return _read_aggregate(el, offer_props, locale_hint, currency_hint)
    return [_read_offer(el, offer_props, locale_hint, currency_hint)]


def _first_known_availability(raws) -> str | None:
    """The first availability value that maps to something other than unknown."""
    for raw in raws:
        a = map_availability(raw)
        if a != "unknown":
            return a
    return None


def _loose_offers(raws, currency, locale_hint, currency_hint) -> list[Offer]:
    """Prices written directly on the Product (common in old templates), one offer each."""
    offers = []
    for raw in raws:
        amount = amount_from_value(raw, locale_hint=locale_hint, currency=currency)
        if amount is not None:
            offers.append(Offer(price=amount, currency=currency or _currency_in(raw, currency_hint)))
    return offers


def _read_item(scope, source, locale_hint, currency_hint) -> Product:
    p = Product(source=source, element=scope)
    loose_prices, loose_avail, loose_currency = [], [], None
    for name, el in _props(scope):
        n = name.lower()
        if _set_item_field(p, n, el):
            continue
        if n == "offers":
            p.offers.extend(_item_offers(el, locale_hint, currency_hint))
        elif n == "price":
            loose_prices.append(_prop_value(el))
        elif n == "availability":
            loose_avail.append(_prop_value(el))
        elif n == "pricecurrency":
            loose_currency = loose_currency or normalize_currency(_prop_value(el), currency_hint)
    if not any(o.price is not None for o in p.offers):
        p.offers.extend(_loose_offers(loose_prices, loose_currency, locale_hint, currency_hint))
    p.availability = _first_known_availability(loose_avail) or p.availability
    return p


def _currency_in(raw, hint):
    from .prices import parse_price

    got = parse_price(raw, currency_hint=hint) if raw else None
    return got.currency if got else None


def _read_price_specification(e, prices: list, currency, currency_hint):
    """Prices of a nested PriceSpecification appended to `prices`; the offer's currency back."""
    for sn, se in _props(e):
        if sn.lower() == "price":
            prices.append(_prop_value(se))
        elif sn.lower() == "pricecurrency":
            currency = currency or normalize_currency(_prop_value(se), currency_hint)
    return currency


def _set_offer_amounts(o: Offer, prices: list, currency, locale_hint, currency_hint) -> None:
    """The offer's price from its price texts read in the currency the offer states; several
    prices make the rest alternatives."""
    amounts = []
    for raw in prices:
        a = amount_from_value(raw, locale_hint=locale_hint, currency=currency)
        if a is not None:
            amounts.append(a)
            if o.currency is None:
                o.currency = _currency_in(raw, currency_hint)
    if not amounts:
        return
    o.price = amounts[0]
    if len(amounts) > 1:
        o.low = True
        # several prices in one offer: the rest are alternatives the chain may match
        o.regular_price = max(amounts) if max(amounts) != amounts[0] else None
        o.alternatives = amounts


def _read_offer(el, props, locale_hint, currency_hint) -> Offer:
    o = Offer()
    prices, avail, currency = [], [], None
    for name, e in props:
        n = name.lower()
        if n in ("price", "lowprice"):
            prices.append(_prop_value(e))
            o.low = o.low or n == "lowprice"
        elif n == "pricecurrency":
            currency = currency or normalize_currency(_prop_value(e), currency_hint)
        elif n == "availability":
            avail.append(_prop_value(e))
        elif n == "pricevaliduntil":
            o.valid_until = clean_text(_prop_value(e), 40)
        elif n == "sku":
            o.sku = clean_text(_prop_value(e), 100)
        elif n == "pricespecification" and e.get("itemscope") is not None:
            currency = _read_price_specification(e, prices, currency, currency_hint)
    o.currency = currency
    _set_offer_amounts(o, prices, currency, locale_hint, currency_hint)
    o.availability = _first_known_availability(avail) or o.availability
    return o


def _read_aggregate(el, props, locale_hint, currency_hint) -> list[Offer]:
    offers = []
    currency = None
    low = None
    avail = "unknown"
    for name, e in props:
        n = name.lower()
        if n == "pricecurrency":
            currency = normalize_currency(_prop_value(e), currency_hint)
        elif n in ("lowprice", "price") and low is None:
            low = _prop_value(e)
        elif n == "availability":
            avail = map_availability(_prop_value(e))
        elif n == "offers" and e.get("itemscope") is not None:
            offers.append(_read_offer(e, _props(e), locale_hint, currency_hint))
    amount = amount_from_value(low, locale_hint=locale_hint, currency=currency)
    head = Offer(price=amount, currency=currency, availability=avail, low=True)
    for o in offers:
        o.currency = o.currency or currency
        o.low = True
    return [head] + offers


# ---------------------------------------------------------------- RDFa (schema.org vocabulary)

def _rdfa_value(el):
    """What an RDFa property says: its content, else its link, else its text."""
    if el.get("content") is not None:
        return el.get("content")
    return el.get("href") or el.get("resource") or _price_text(el)


def _rdfa_names(el) -> list[str]:
    """The local names of an element's RDFa properties ("schema:price" -> "price")."""
    prop = el.get("property") if isinstance(el.tag, str) else None
    if not prop:
        return []
    return [name.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for name in prop.split()]


def _set_rdfa_product_field(p: Product, n: str, v) -> None:
    """Name, sku, gtin or image from one RDFa property (the first one wins)."""
    if n == "name" and p.name is None:
        p.name = clean_text(v)
    elif n == "sku":
        p.sku = p.sku or clean_text(v, 100)
    elif n.startswith("gtin"):
        p.gtin = p.gtin or clean_gtin(v)
    elif n == "image":
        p.image = p.image or clean_text(v, 2000)
    elif n in ("brand", "mpn"):
        setattr(p, n, getattr(p, n) or clean_text(v, 200 if n == "brand" else 100))


def _set_rdfa_offer_field(offer: Offer, n: str, v, locale_hint, currency_hint) -> None:
    """Currency, price or availability from one RDFa property (the first one wins)."""
    if n == "pricecurrency":
        offer.currency = offer.currency or normalize_currency(v, currency_hint)
    elif n in ("price", "lowprice") and offer.price is None:
        offer.price = amount_from_value(v, locale_hint=locale_hint)
    elif n == "availability":
        offer.availability = _first_known_availability([v]) or offer.availability


def _read_rdfa_product(scope, locale_hint, currency_hint) -> Product:
    """One RDFa Product and, when it says a price or a stock state, its one offer."""
    p = Product(source="rdfa", element=scope)
    offer = Offer()
    for el in scope.iter():
        if el is scope:
            continue
        for n in _rdfa_names(el):
            v = _rdfa_value(el)
            _set_rdfa_product_field(p, n, v)
            _set_rdfa_offer_field(offer, n, v, locale_hint, currency_hint)
    if offer.price is not None or offer.availability != "unknown":
        p.offers.append(offer)
    return p


def extract_rdfa(root, *, locale_hint=None, currency_hint=None, scopes: list | None = None) -> list[Product]:
    """Product items (`scopes`: the elements with typeof, when already known)."""
    if scopes is None:
        scopes = root.xpath("//*[@typeof]")
    return [
        _read_rdfa_product(scope, locale_hint, currency_hint)
        for scope in scopes[:MAX_ITEMS]
        if _is_product_type(scope.get("typeof"))
    ]


def nearest_scope_text(el) -> str:
    return norm(text_content(el, 300))
