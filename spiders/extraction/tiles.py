"""Search and listing pages read generically: result tiles with a name, a price and a URL.

Every shop platform draws a search result the same way, whatever its class names: a small box
(``li``, ``article``, ``div``) holding one link to the product (often twice: the image and the
title), the product's name (the link's text, a heading, the image's alt text) and the price a
buyer pays (a struck-through "was" price beside it on a sale). So a tile is found from its link,
never from a class name:

- ``tiles.structured_list``: the page declares its results (schema.org ``ItemList`` in JSON-LD,
  or ``Product`` items in microdata with a URL); the declaration is the answer.
- ``tiles.link_box``: each link to another page of the site grows into the largest box around it
  that holds no link to any *other* such page, stays small (a tile, not a column) and is not the
  store's frame (header, navigation, footer). A box with a name and a price or a picture is a
  tile.

Prices in a tile: the amounts not struck through (``s``/``del``/``strike``, or inside an element
whose class says it is the old price), not per-unit prices ("$2.50 / 100 g"); the lowest such
amount is what the tile asks (a "from" price of a range, a sale price beside a regular one).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urljoin, urlsplit, urlunsplit

from .dom import decode, norm, parse, tag_of, text_content
from .prices import find_money

#: the largest text a tile holds: a result box is a name, a price and a few labels
MAX_TILE_CHARS = 600
#: links looked at per page (a search page shows tens of results; more is navigation noise)
MAX_LINKS = 600
#: the store's frame: never a result
_FRAME_TAGS = frozenset({"header", "footer", "nav", "aside", "form"})
_STOP_TAGS = frozenset({"body", "main", "html"})
#: paths every shop uses for things that are not products (cart, account, help ...)
NOT_PRODUCT_PATH = re.compile(
    r"/(?:cart|basket|checkout|account|login|logout|register|signin|sign-in|wishlist|compare|"
    r"search|contact|help|faq|pages?|blogs?|policies|privacy|terms|impressum|agb|kontakt|"
    r"warenkorb|panier|compte|mon-compte|my-account|customer)(?:/|$|\.)", re.I)
#: elements whose class or id says they hold the old price (a word any platform uses for it)
_OLD_PRICE_CLASS = re.compile(r"(?:^|[\s_-])(?:old|was|regular|compare|compare-at|list|strike|"
                              r"crossed|before|original|rrp|uvp|msrp)(?:[\s_-]|$)", re.I)
_STRUCK_TAGS = frozenset({"s", "del", "strike"})
#: an amount followed by this is a unit price ("$2.50 / 100 g", "3,99 € pro kg")
_PER_UNIT = re.compile(r"^\s*(?:/|per\b|pro\b|le\b|par\b|la\b)", re.I)
#: words on buttons and badges, never a product's name
_BUTTON_WORDS = re.compile(
    r"^(?:add to (?:cart|bag|basket)|quick (?:add|view|shop)|buy now|sold out|view|details|more|"
    r"select options|choose options|in den warenkorb|ajouter au panier|read more|sale|new|"
    r"pre-?order|ausverkauft|épuisé)$", re.I)


@dataclass(frozen=True)
class Tile:
    """One result on a search or listing page."""

    url: str
    name: str
    price: Decimal | None = None
    currency: str | None = None
    rule: str = "tiles.link_box"


def _clean_url(href: str | None, page_url: str) -> str | None:
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    absolute = urljoin(page_url, href)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def _same_site(url: str, page_url: str) -> bool:
    return urlsplit(url).netloc.lower() == urlsplit(page_url).netloc.lower()


def _product_like(url: str, page_url: str) -> bool:
    """A link to another page of this site that could be a product page."""
    parts, page = urlsplit(url), urlsplit(page_url)
    if not _same_site(url, page_url):
        return False
    if parts.path in ("", "/") or parts.path == page.path:
        return False
    return not NOT_PRODUCT_PATH.search(parts.path)


# -- structured declarations --------------------------------------------------------------------

def _jsonld_blocks(root) -> list:
    out = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            out.append(json.loads(script.text))
        except ValueError:
            continue
    return out


def _walk(node):
    if isinstance(node, list):
        for n in node:
            yield from _walk(n)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "itemListElement", "item", "mainEntity"):
            if key in node:
                yield from _walk(node[key])


def _types(node: dict) -> set[str]:
    t = node.get("@type")
    return {str(x).rsplit("/", 1)[-1] for x in (t if isinstance(t, list) else [t]) if x}


def _offer_price(node: dict, currency_hint: str | None) -> tuple[Decimal | None, str | None]:
    offers = node.get("offers")
    offers = offers[0] if isinstance(offers, list) and offers else offers
    if not isinstance(offers, dict):
        return None, None
    raw = offers.get("price", offers.get("lowPrice"))
    try:
        price = Decimal(str(raw)) if raw not in (None, "") else None
    except ArithmeticError:
        price = None
    return price, (offers.get("priceCurrency") or currency_hint)


def _jsonld_tiles(root, page_url: str, currency_hint: str | None, tiles: dict[str, Tile]) -> None:
    """Product or ListItem nodes with a URL, in JSON-LD (ListItems only inside an ItemList)."""
    for block in _jsonld_blocks(root):
        in_list = False
        for node in _walk(block):
            types = _types(node)
            in_list = in_list or "ItemList" in types
            if not ({"Product", "ListItem"} & types) or not in_list and "Product" not in types:
                continue
            url = _clean_url(node.get("url") or (node.get("item") if isinstance(node.get("item"), str) else None),
                             page_url)
            name = norm(str(node.get("name") or ""))
            if url and name and _same_site(url, page_url) and url not in tiles:
                price, currency = _offer_price(node, currency_hint)
                tiles[url] = Tile(url, name[:300], price, currency, "tiles.structured_list")


def _microdata_price(item) -> Decimal | None:
    price_el = next((e for e in item.iter() if e.get("itemprop") in ("price", "lowPrice")), None)
    if price_el is None:
        return None
    try:
        return Decimal(str(price_el.get("content") or text_content(price_el, 40)).strip())
    except ArithmeticError:
        return None


def _microdata_link(item):
    return next((e for e in item.iter() if e.get("itemprop") == "url" and (e.get("href") or e.get("content"))),
                None) or next((e for e in item.iter("a") if e.get("href")), None)


def _microdata_tiles(root, page_url: str, currency_hint: str | None, tiles: dict[str, Tile]) -> None:
    """Microdata Product items with a name and a link off this page."""
    for item in root.iter():
        if not isinstance(item.tag, str) or not (item.get("itemtype") or "").rstrip("/").endswith("Product"):
            continue
        name_el = next((e for e in item.iter() if e.get("itemprop") == "name"), None)
        link = _microdata_link(item)
        if name_el is None or link is None:
            continue
        url = _clean_url(link.get("href") or link.get("content"), page_url)
        name = norm(name_el.get("content") or text_content(name_el, 300))
        if not url or not name or not _same_site(url, page_url) or url == page_url or url in tiles:
            continue
        tiles[url] = Tile(url, name[:300], _microdata_price(item), currency_hint, "tiles.structured_list")


def structured_tiles(root, page_url: str, currency_hint: str | None = None) -> list[Tile]:
    """``tiles.structured_list``: results the page declares (JSON-LD ItemList or Product nodes
    with a URL, microdata Product items with a link)."""
    tiles: dict[str, Tile] = {}
    _jsonld_tiles(root, page_url, currency_hint, tiles)
    _microdata_tiles(root, page_url, currency_hint, tiles)
    return list(tiles.values())


# -- the link box ---------------------------------------------------------------------------------

def _in_frame(el) -> bool:
    from .pagekind import _chrome

    node = el
    while node is not None:
        if isinstance(node.tag, str) and (tag_of(node) in _FRAME_TAGS or _chrome(node)):
            return True
        node = node.getparent()
    return False


def _label(a) -> str:
    text = text_content(a, 300)
    if not text:
        text = norm(a.get("title") or a.get("aria-label") or "")
    if not text:
        img = next(iter(a.iter("img")), None)
        text = norm(img.get("alt") or "") if img is not None else ""
    return text


def _is_name(text: str) -> bool:
    """Words that can name a product: letters, not a button's or badge's words, not a price."""
    letters = sum(c.isalpha() for c in text)
    if letters < 3 or _BUTTON_WORDS.match(text):
        return False
    return not (find_money(text) and letters < 12)


def _struck(el, box) -> str | None:
    """"tag" inside s/del/strike, "class" inside an element whose class names the old price."""
    node, by_class = el, None
    while node is not None:
        if isinstance(node.tag, str):
            if tag_of(node) in _STRUCK_TAGS:
                return "tag"
            if _OLD_PRICE_CLASS.search((node.get("class") or "") + " " + (node.get("data-price-type") or "")):
                by_class = "class"
        if node is box:
            break
        node = node.getparent()
    return by_class


def _money_in(el, currency_hint: str | None, locale_hint: str | None) -> list:
    text = text_content(el, 80)
    if not text or len(text) > 60:
        return []
    return [(end, price, text) for _start, end, price in find_money(text, currency_hint=currency_hint,
                                                                     locale_hint=locale_hint)]


def _box_price(box, currency_hint: str | None, locale_hint: str | None) -> tuple[Decimal | None, str | None]:
    """The lowest amount in the box that is neither struck through nor per unit. An amount is
    read from the smallest element that shows it whole (a symbol and its digits are often in
    sibling elements). A class naming the old price counts only when another amount is shown."""
    shown: list[tuple[Decimal, str | None]] = []
    old_by_class: list[tuple[Decimal, str | None]] = []
    for el in box.iter():
        if not isinstance(el.tag, str) or tag_of(el) in ("script", "style"):
            continue
        found = _money_in(el, currency_hint, locale_hint)
        if not found or any(_money_in(child, currency_hint, locale_hint) for child in el
                            if isinstance(child.tag, str)):
            continue
        for end, price, text in found:
            if price.amount is None or price.amount <= 0 or _PER_UNIT.match(text[end:]):
                continue
            struck = _struck(el, box)
            if struck == "tag":
                continue
            (old_by_class if struck == "class" else shown).append((price.amount, price.currency))
    pool = shown or old_by_class
    if not pool:
        return None, None
    return min(pool, key=lambda p: p[0])


def _heading_name(box) -> str:
    for el in box.iter():
        if isinstance(el.tag, str) and tag_of(el) in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = text_content(el, 300)
            if _is_name(text):
                return text
    return ""


def _product_anchors(root, page_url: str) -> list[tuple[object, str]]:
    """The page's links to product-like URLs on its own site, in page order (at most MAX_LINKS)."""
    body = root.find(".//body")
    scope = body if body is not None else root
    anchors: list[tuple[object, str]] = []
    for a in scope.iter("a"):
        url = _clean_url(a.get("href"), page_url)
        if url is None or not _product_like(url, page_url):
            continue
        anchors.append((a, url))
        if len(anchors) >= MAX_LINKS:
            break
    return anchors


def _grow_box(a, url: str, link_of: dict[int, str]):
    """The largest ancestor of the link that holds no other product's link and little text."""
    def other_links(el) -> bool:
        return any(link_of[id(x)] != url for x in el.iter("a") if id(x) in link_of)

    box = a
    while True:
        parent = box.getparent()
        if parent is None or tag_of(parent) in _STOP_TAGS or other_links(parent):
            return box
        if len(text_content(parent, MAX_TILE_CHARS + 1)) > MAX_TILE_CHARS:
            return box
        box = parent


def _box_tile(box, url: str, link_of: dict[int, str], currency_hint: str | None,
              locale_hint: str | None) -> Tile | None:
    """A tile when the box names a product and shows a price or a picture."""
    labels = [_label(x) for x in box.iter("a") if link_of.get(id(x)) == url]
    names = [t for t in labels if _is_name(t)]
    name = _heading_name(box) or (max(names, key=len) if names else "")
    if not name:
        return None
    price, currency = _box_price(box, currency_hint, locale_hint)
    if price is None and next(iter(box.iter("img")), None) is None:
        return None
    return Tile(url, name[:300], price, currency, "tiles.link_box")


def link_box_tiles(root, page_url: str, currency_hint: str | None = None,
                   locale_hint: str | None = None) -> list[Tile]:
    """``tiles.link_box``: see the module docstring."""
    anchors = _product_anchors(root, page_url)
    link_of = {id(a): url for a, url in anchors}
    seen: set[str] = set()
    tiles: list[Tile] = []
    for a, url in anchors:
        if url in seen or _in_frame(a):
            continue
        seen.add(url)
        tile = _box_tile(_grow_box(a, url, link_of), url, link_of, currency_hint, locale_hint)
        if tile is not None:
            tiles.append(tile)
    return tiles


def read_tiles(html: bytes | str, page_url: str, *, encoding: str | None = None,
               currency_hint: str | None = None, locale_hint: str | None = None) -> list[Tile]:
    """The result tiles of a search or listing page, in page order (see the module docstring)."""
    root = parse(decode(html, encoding))
    declared = structured_tiles(root, page_url, currency_hint)
    if declared:
        return declared
    return link_box_tiles(root, page_url, currency_hint, locale_hint)


__all__ = ["MAX_TILE_CHARS", "Tile", "link_box_tiles", "read_tiles", "structured_tiles"]
