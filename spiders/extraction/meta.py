"""Product meta tags: product:price:amount, og:price:amount, og:availability, itemprop metas,
and the page facts every other extractor uses (title, language, canonical URL)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .availability import map_availability
from .dom import norm, text_content
from .prices import amount_from_value, normalize_currency
from .records import Offer, Product, clean_gtin, clean_text


@dataclass
class PageMeta:
    tags: dict = field(default_factory=dict)  # lower-cased property/name -> first content
    title: str | None = None
    lang: str | None = None
    canonical: str | None = None


def _meta_tags(metas) -> dict:
    """Lower-cased property/name/itemprop -> the first non-missing content, stripped."""
    tags: dict = {}
    for el in metas:
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content is not None:
            tags.setdefault(key, content.strip())
    return tags


def _page_title(title_el) -> str | None:
    """The <title> text, whitespace-normalised and capped."""
    if title_el is None:
        return None
    return norm(text_content(title_el))[:500] or None


def _page_lang(root, tags: dict) -> str | None:
    """The <html> lang attribute, else what the meta tags say about the locale."""
    html = root if root.tag == "html" else root.find(".//html")
    lang = (html.get("lang") or html.get("xml:lang")) if html is not None else None
    return lang or tags.get("og:locale") or tags.get("content-language")


def _canonical(links) -> str | None:
    """The first <link rel="canonical"> with an address."""
    for el in links:
        if (el.get("rel") or "").lower() == "canonical" and el.get("href"):
            return el.get("href").strip()
    return None


def read_meta(root, scanned=None) -> PageMeta:
    """The page facts; `scanned` (a dom.DocScan of this tree) saves walking it again."""
    if scanned is not None:
        metas, title_el, links = scanned.metas, scanned.title, scanned.links
    else:
        metas, title_el, links = root.iter("meta"), root.find(".//title"), root.iter("link")
    tags = _meta_tags(metas)
    return PageMeta(
        tags=tags, title=_page_title(title_el), lang=_page_lang(root, tags), canonical=_canonical(links)
    )


def extract(pm: PageMeta, *, locale_hint=None, currency_hint=None) -> Product | None:
    tags = pm.tags
    raw_price = None
    for key in ("product:price:amount", "og:price:amount", "product:price", "product:sale_price:amount"):
        if tags.get(key):
            raw_price = tags[key]
            break
    currency = None
    for key in ("product:price:currency", "og:price:currency", "product:sale_price:currency"):
        if tags.get(key):
            currency = normalize_currency(tags[key], currency_hint)
            break
    avail = "unknown"
    for key in ("product:availability", "og:availability", "availability"):
        if tags.get(key):
            avail = map_availability(tags[key])
            break
    if raw_price is None and avail == "unknown":
        return None
    price = amount_from_value(raw_price, locale_hint=locale_hint, currency=currency) if raw_price else None
    regular = None
    if tags.get("product:original_price:amount"):
        regular = amount_from_value(tags["product:original_price:amount"], locale_hint=locale_hint)
    p = Product(source="meta")
    p.name = clean_text(tags.get("og:title"))
    p.image = clean_text(tags.get("og:image"), 2000)
    p.sku = clean_text(tags.get("product:retailer_item_id"), 100)
    p.gtin = clean_gtin(tags.get("product:ean") or tags.get("product:upc") or tags.get("product:gtin"))
    p.offers.append(Offer(price=price, currency=currency, availability=avail, regular_price=regular))
    return p
