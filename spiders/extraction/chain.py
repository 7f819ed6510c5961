"""The extraction chain: structured data first, the store's selectors, then the visible page;
where they disagree, what a buyer sees wins."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from pricehound import clock

from . import jsonld, meta, microdata, pagekind, pricing, scriptstate, selectors, stock, visible
from . import vocabulary as V
from .availability import KIND_TO_AVAILABILITY
from .dom import decode, norm, parse, prune_invisible, scan, text_content
from .model import Extraction, not_a_product
from .prices import (
    ISO_CODES,
    currency_from_locale,
    currency_from_url,
    minor_unit,
    number_variants,
    parse_price,
    round_amount,
)
from .records import Product, clean_gtin, clean_text

STRUCTURED_ORDER = ("json-ld", "microdata", "rdfa", "meta", "script")
STRONG_VISIBLE = 0.0  # a visible candidate scoring at least this stands on its own


def extract_product(html, url: str | None = None, *, default_currency: str | None = None,
                    hints: dict | None = None, encoding: str | None = None) -> Extraction:
    """Read name, price, currency, availability and identifiers from a product page.

    Never raises: a page it cannot read gives an Extraction with unknowns.
    """
    try:
        return _extract(html, url, default_currency, hints, encoding)
    except RecursionError:
        return not_a_product("unrecognised", "unreadable", "kind.unreadable", ("recursion",))
    except Exception as exc:  # noqa: BLE001 - hostile input must never take a crawl down
        return not_a_product("unrecognised", "unreadable", "kind.unreadable", (f"error: {type(exc).__name__}",))


@dataclass
class Document:
    """The page as read once: text, tree, the one scan of it, its meta tags and hints."""

    text: str
    root: object
    scanned: object
    pm: object
    url: str | None
    locale: str | None
    default_currency: str | None
    region_currency: str | None
    picked: dict
    h1_texts: dict | None = None  # each heading left after pruning -> its text, once read


@dataclass
class Structured:
    """What the page's structured data says (JSON-LD, microdata, RDFa, meta, script state)."""

    mains: dict
    listing: bool
    several: bool
    has_meta_offer: bool
    title_hint: str | None
    structured_name: str | None
    currency: str | None
    prices: list
    primary: tuple | None
    amounts: set
    anchor: object


def _read_document(html, url, default_currency, hints, encoding) -> Document | None:
    text = decode(html, encoding)
    if not text or not text.strip():
        return None
    root = parse(text)
    scanned = scan(root)  # one pass: structured-data elements, what to prune, the headings
    pm = meta.read_meta(root, scanned)
    default_currency = default_currency.upper() if default_currency and default_currency.upper() in ISO_CODES else None
    region_currency = currency_from_locale(pm.lang) or currency_from_url(url or pm.canonical or pm.tags.get("og:url"))
    return Document(text=text, root=root, scanned=scanned, pm=pm, url=url, locale=pm.lang,
                    default_currency=default_currency, region_currency=region_currency,
                    picked=selectors.apply(root, hints))


def _read_structured(doc: Document) -> Structured:
    """Structured data is read on the full tree; the main product of each source is the one named
    like the page's heading (read after pruning what a buyer cannot see)."""
    root, scanned, pm, url = doc.root, doc.scanned, doc.pm, doc.url
    hint = doc.default_currency or doc.region_currency
    jl, listing = jsonld.extract(jsonld.load_scripts(root, scanned.scripts), locale_hint=doc.locale, currency_hint=hint)
    md = microdata.extract_microdata(root, locale_hint=doc.locale, currency_hint=hint, scopes=scanned.items)
    rd = microdata.extract_rdfa(root, locale_hint=doc.locale, currency_hint=hint, scopes=scanned.typed)
    mt = meta.extract(pm, locale_hint=doc.locale, currency_hint=hint)
    title_hint = pm.tags.get("og:title") or pm.title
    prune_invisible(root, scanned.doomed)
    want = _first_h1(scanned.h1s, doc_h1_texts(doc)) or title_hint
    mains: dict[str, Product] = {}
    for source, items in (("json-ld", jl), ("microdata", md), ("rdfa", rd), ("meta", [mt] if mt else [])):
        m = _main_product(items, want, url)
        if m is not None:
            mains[source] = m
    if _wants_script_state(mains):
        m = _script_product(scriptstate.products(scanned.scripts), want)
        if m is not None:
            mains["script"] = m
    md_main = mains.get("microdata") or mains.get("rdfa")
    anchor = md_main.element if md_main is not None and md_main.element is not None and _attached(
        md_main.element, root) else None
    struct_prices, primary = _structured_prices(mains, url)
    return Structured(
        mains=mains, listing=listing, several=_several_products((jl, md, rd), want, url),
        has_meta_offer=bool(mt is not None and mt.offers and mt.offers[0].price is not None),
        title_hint=title_hint,
        structured_name=next((m.name for m in mains.values() if m.name and m.source not in ("meta", "script")), None),
        currency=_structured_currency(mains), prices=struct_prices, primary=primary,
        amounts={a for a, _, _ in struct_prices}, anchor=anchor,
    )


def doc_h1_texts(doc: Document) -> dict:
    """Each heading left after pruning -> its text (read once: the title is looked for thrice)."""
    if doc.h1_texts is None:
        doc.h1_texts = {h: norm(text_content(h)) for h in doc.scanned.h1s}
    return doc.h1_texts


def _extract(html, url, default_currency, hints, encoding) -> Extraction:
    doc = _read_document(html, url, default_currency, hints, encoding)
    if doc is None:
        return not_a_product("unrecognised", "unreadable", "kind.empty_body", ("empty",))
    st = _read_structured(doc)
    vis_hint = doc.default_currency or st.currency or doc.region_currency
    if FAST_PATH and st.primary is not None and not doc.picked and not st.listing and not st.several:
        fast = _fast(doc.root, st.mains, doc.pm, url, st.primary, st.amounts, st.currency,
                     structured_name=st.structured_name, title_hint=st.title_hint, vis_hint=vis_hint,
                     locale_hint=doc.locale, anchor=st.anchor, h1s=doc.scanned.h1s, h1_texts=doc_h1_texts(doc))
        if fast is not None:
            return fast
    page = visible.analyse(doc.root, structured_name=st.structured_name, title_hint=st.title_hint,
                           currency_hint=vis_hint, locale_hint=doc.locale, anchor=st.anchor,
                           h1_texts=doc_h1_texts(doc), url=url)
    challenge = _challenge(doc, st)
    if challenge is not None:
        return challenge
    usable, best = _rank_candidates(page, st.amounts)
    strong = _strong(best, usable, page)
    choice, price_rule = pricing.decide(_price_evidence(doc, st, page, best, strong, vis_hint))
    notes = [choice.note] if choice.note else []
    currency = _currency(choice, price_rule, st, doc.picked, vis_hint)
    regular = _regular_price(page, choice.candidate, choice.amount, st.mains, doc.picked, vis_hint, doc.locale)
    availability, why = _availability(page, st.mains, choice.candidate, doc.picked, url)
    notes.append(why)
    name = _name(page, st.mains, doc.picked, doc.pm)
    sold_out = why == "availability.sold_out_wording" and not _states_not_product(doc, page)
    shows, kind_rule = _kind(doc, st, page, usable, strong, choice.amount is not None, sold_out)
    if shows != "product" and price_rule == "price.store_selector":
        shows, kind_rule = "product", "kind.store_selector_price"
    if shows != "product":
        return _not_product(doc, shows, name, (*notes, kind_rule))
    return _result(name=name, price=choice.amount, currency=currency, availability=availability, regular=regular,
                   source=choice.source, notes=notes,
                   rules={"price": price_rule, "availability": why, "page_kind": kind_rule},
                   **_identity(st.mains, doc.picked))


def _not_product(doc: Document, shows: str, name: str | None, notes: tuple) -> Extraction:
    """A page that shows no product: gone, or unrecognised, from what the page states."""
    statements = pagekind.read_statements(doc.root, doc.pm.title, doc.text)
    kind, reason, rule = pagekind.decide_not_product(
        pagekind.NotProductEvidence(statements=statements, listing=shows == "listing"))
    return Extraction(name=name, page_kind=kind, page_reason=reason, rules={"page_kind": rule}, notes=notes)


def _challenge(doc: Document, st: Structured) -> Extraction | None:
    """A bot check or captcha in the page's place (never on a page with a structured product:
    its visible text is not even measured)."""
    if st.mains.get("json-ld") or st.mains.get("microdata"):
        return None
    visible_chars = len(norm(text_content(doc.root, 60000))) if doc.root is not None else 0
    got = pagekind.challenge(doc.pm.title, doc.text, visible_chars)
    return not_a_product(*got, notes=("challenge",)) if got is not None else None


def _price_evidence(doc: Document, st: Structured, page, best, strong: bool, vis_hint) -> pricing.PriceEvidence:
    selector = None
    if doc.picked.get("price"):
        selector = parse_price(doc.picked["price"], currency_hint=vis_hint, locale_hint=doc.locale)
    structured: dict = {}
    for amount, source, _cur in st.prices:
        structured.setdefault(amount, source)
    ev = pricing.PriceEvidence(selector=selector, primary=None, structured=structured, best=best, strong=strong)
    if st.primary is not None:
        amount, source, currency, offer = st.primary
        ev.primary = pricing.StructuredPrice(
            amount=amount, source=source, currency=currency, offer=offer, stale=_stale(offer),
            url_selected=any(selected_offer(m, doc.url) is offer for m in st.mains.values()))
        ev.clean = _clean_matches(page, amount)
        ev.prominent = [c for c in ev.clean if _prominent(c)]
        ev.seen_anywhere = _visible_anywhere(amount, page, doc.root)
    return ev


def _currency(choice: pricing.PriceChoice, rule: str, st: Structured, picked: dict, vis_hint) -> str | None:
    """The currency of the chosen price: the selector's or structured offer's, else what the
    visible price shows (a bare "$" read as the structured currency), else the page's."""
    if choice.amount is None:
        return None
    if rule == "price.store_selector":
        currency = choice.currency
    elif choice.source not in (None, "visible"):
        currency = ((st.primary[2] if st.primary is not None else None) or st.currency
                    or _visible_currency(choice.candidate, st.currency))
    else:
        currency = _visible_currency(choice.candidate, st.currency)
    if currency is None:
        currency = st.currency or vis_hint
    code = (picked.get("currency") or "").strip().upper()
    return code if code in ISO_CODES else currency


def _visible_currency(cand, struct_currency: str | None) -> str | None:
    if cand is None:
        return None
    shown = cand.price.currency
    if struct_currency and shown in (None, "USD") and struct_currency != shown and (
            "$" in cand.text or shown is None):
        return struct_currency
    return shown


def _states_not_product(doc: Document, page) -> bool:
    """Does the page's title or the block around its heading say the product is gone or not
    found, or that the page is something else (maintenance, a region picker, a wall, an error),
    rather than that the product is sold out?"""
    around = text_content(page.title.getparent(), GONE_TEXT_CHARS) if page.title is not None and \
        page.title.getparent() is not None else ""
    text = f"{doc.pm.title or ''} {around}"
    return any(rx.search(text) for rx in pagekind.STATEMENTS)


GONE_TEXT_CHARS = 2000  # text read around the heading for a "gone" statement


def _kind(doc: Document, st: Structured, page, usable, strong: bool, price_found: bool,
          sold_out: bool = False) -> tuple[str, str]:
    """What the page shows: a product, a listing, or nothing recognisable (pagekind.decide)."""
    listing = st.listing or st.several
    has_structured = any(s in st.mains for s in ("json-ld", "microdata", "rdfa")) and not st.several
    focus, buttons, tiles = True, page.buttons, 0
    if listing or not has_structured:
        cards = visible.grid_cards(page)[1]
        # the buy buttons of the page itself, not of the tiles of a grid or of search results
        buttons = [b for b in page.buttons if not visible.in_card(b, cards, page) and not visible.in_tile(b, page)]
        focus = _focus(page, usable, cards, buttons)
        if not focus:
            tiles = sum(1 for c in usable if visible.in_card(c.el, cards, page) or visible.in_tile(c.el, page))
    shows, kind_rule = pagekind.decide(
        has_structured_product=has_structured or st.has_meta_offer,
        listing=listing, og_type=doc.pm.tags.get("og:type"), price_found=price_found,
        buttons=len(buttons), title_found=page.title is not None, candidates=len(page.candidates),
        strong_visible=strong, focus=focus, tiles=tiles, sold_out_beside_title=sold_out,
    )
    return shows, kind_rule


def _result(*, name, price, currency, availability, regular, sku, gtin, image, source, notes, rules,
            brand=None, mpn=None) -> Extraction:
    price, regular = _in_minor_units(price, currency), _in_minor_units(regular, currency)
    if regular is not None and price is not None and regular <= price:
        regular = None
    return Extraction(
        name=name, price=price, currency=currency, availability=availability, regular_price=regular,
        sku=clean_text(sku, 100), gtin=gtin, brand=clean_text(brand, 200), mpn=clean_text(mpn, 100),
        image_url=clean_text(image, 2000), source=source,
        page_kind="product", notes=tuple(notes), rules=rules,
    )


def _in_minor_units(amount: Decimal | None, currency: str | None) -> Decimal | None:
    """The amount written with its currency's minor units: 89 USD -> 89.00, 2.5 KWD -> 2.500,
    1299.00 JPY -> 1299 (rounded half-even where the page wrote more places)."""
    amount = round_amount(amount, currency)
    if amount is None or currency is None:
        return amount
    return amount.quantize(minor_unit(currency))


# ---------------------------------------------------------------- the structured-data fast path

FAST_PATH = True  # tests turn it off to check that both paths agree
FAST_NOTE = "buy box alone"
BOX_LEVELS = 5  # how far above the title the buy box is looked for
BOX_CHARS = 6000  # a block with more text than this is the page, not its buy box
_GROUPING = re.compile(r"(?<=\d)[.,'\u2019\s\u00a0\u202f](?=\d{3})")


def _fast(root, mains, pm, url, primary, struct_amounts, struct_currency, *, structured_name, title_hint,
          vis_hint, locale_hint, anchor, h1s=None, h1_texts=None) -> Extraction | None:
    """Structured data gave a price: check it against the buy box alone, not the whole page.

    The same reading as the whole page, on less of it: the visible analysis runs on the buy box
    only; the structured price stands when it is the best price there, beside the title or the
    button, and nothing there shows it struck through or as a "was" price.  Otherwise (no
    title, no such block, any doubt) None: the whole page is analysed.
    """
    p_amt, p_src, p_cur, _offer = primary
    currency = p_cur or struct_currency
    if currency is None:
        return None
    title = visible.find_title(root, structured_name, title_hint, anchor, h1s, h1_texts)
    box = _fast_box(title, p_amt)
    if box is None:
        return None
    page = visible.analyse(box, structured_name=structured_name, title_hint=title_hint,
                           currency_hint=vis_hint, locale_hint=locale_hint, anchor=anchor, h1_texts=h1_texts)
    if page.title is not title:
        return None
    best = _fast_price(page, p_amt, struct_amounts)
    if best is None:
        return None
    availability, why = _availability(page, mains, best, {}, url)
    if availability == "unknown" or _structured_availability(mains, url)[0] not in (availability, "unknown"):
        return None  # the buy box and the structured data disagree (or say nothing): read it all
    regular = _regular_price(page, best, p_amt, mains, {}, vis_hint, locale_hint)
    return _result(
        name=_name(page, mains, {}, pm), price=p_amt, currency=currency, availability=availability,
        regular=regular, source=p_src, notes=[f"{p_src} price shown in the buy box", why, FAST_NOTE],
        rules={"price": "price.structured_in_buy_box", "availability": why, "page_kind": "kind.structured_product"},
        **_identity(mains, {}),
    )


def _fast_box(title, amount: Decimal):
    """The smallest block a few levels above the title that may show `amount` (its digits,
    grouping aside: the analysis reads it exactly) and holds a buy button or stock wording."""
    if title is None:
        return None
    x = title
    whole = str(int(amount))  # the price's whole units, as digits
    for _ in range(BOX_LEVELS):
        x = x.getparent()
        if x is None or not isinstance(x.tag, str) or x.tag in ("body", "html"):
            return None
        t = text_content(x, BOX_CHARS)
        if len(t) >= BOX_CHARS:
            return None
        if whole in _GROUPING.sub("", t) and visible.has_buy_or_stock_words(t, x):
            return x
    return None


def _fast_price(page, amount: Decimal, struct_amounts):
    """The buy-box candidate showing the structured price as the price to pay, or None when the
    box has any doubt about it."""
    usable, best = _rank_candidates(page, struct_amounts)
    if (best is None or best.price.amount != amount or best.struck >= 4 or best.flags & {"region", "net"}
            or not _prominent(best)):
        # another amount scores higher, but the structured price is shown cleanly beside the
        # title or the button: that is what the whole page decides too
        best = max((c for c in _clean_matches(page, amount) if _prominent(c)), key=lambda c: c.score, default=None)
        if best is None:
            return None
    others = any(c.price.amount != amount and c.struck < 4 and "was" not in c.flags for c in usable)
    for c in page.candidates:
        if c.price.amount == amount and (c.struck >= 4 or ("was" in c.flags and others)):
            # shown struck through, or labelled "was" beside another price: a sale the
            # structured data may not know of; let the whole page decide
            return None
    return best


def _identity(mains: dict, picked: dict) -> dict:
    """sku, gtin, image, brand and part number: the store's selectors first, then any structured
    source (what identifies the product: pricehound/identity.py)."""
    return {
        "brand": next((m.brand for m in mains.values() if getattr(m, "brand", None)), None),
        "mpn": next((m.mpn for m in mains.values() if getattr(m, "mpn", None)), None),
        "sku": picked.get("sku") or next((m.sku for m in mains.values() if m.sku), None),
        "gtin": clean_gtin(picked.get("gtin")) or next((m.gtin for m in mains.values() if m.gtin), None),
        "image": picked.get("image") or next((m.image for m in mains.values() if m.image), None),
    }


def _structured_prices(mains: dict, url: str | None):
    """-> ([(amount, source, currency)], primary (amount, source, currency, offer) or None)."""
    struct_prices: list[tuple[Decimal, str, str | None]] = []
    primary = None
    for source in STRUCTURED_ORDER:
        m = mains.get(source)
        if m is None:
            continue
        offers = _ordered_offers(m, url)
        for o in offers:
            for amt in ([o.price] if o.price is not None else []) + list(o.alternatives or []):
                if amt is not None and amt > 0:
                    struct_prices.append((amt, source, o.currency))
        if primary is None:
            for o in offers:
                if o.price is not None and o.price > 0:
                    primary = (o.price, source, o.currency, o)
                    break
    return struct_prices, primary


# ---------------------------------------------------------------- helpers

def _strong(best, usable, page) -> bool:
    """Does the best visible candidate stand on its own (beside the title or the buy button,
    not struck, not a label's "was" price, and ahead of any rival amount)?"""
    if best is None or best.struck >= 4 or best.flags & {"was", "region", "net"}:
        return False
    near = (best.dist_title is not None and best.dist_title <= 12) or (
        best.dist_button is not None and best.dist_button <= 10)
    if page.title is None and not page.buttons:
        rivals = {c.price.amount for c in usable if c.score >= best.score - 1.0}
        return len(rivals) == 1 and best.score >= STRONG_VISIBLE
    return near


def _several_products(sources, want: str | None, url: str | None) -> bool:
    """Several priced products in one kind of structured data, none of them the page's own
    (none named like its title, none at its URL): the structured data of a listing."""
    for items in sources:
        priced = [p for p in items if p is not None and any(o.price is not None for o in p.offers)]
        if len(priced) < 3:
            continue
        if want and any(p.name and visible._overlap(p.name, want) >= 0.6 for p in priced):
            continue
        if url and any(p.url and p.url.rstrip("/") == url.rstrip("/") for p in priced):
            continue
        return True
    return False


def _focus(page, usable, cards, buttons) -> bool:
    """Does the page centre on one product: a price or a buy button beside the title that is no
    tile of a grid of products?"""
    for c in usable:
        if ("region" not in c.flags and _prominent(c) and not visible.in_card(c.el, cards, page)
                and not visible.in_tile(c.el, page)):
            return True
    if page.title is not None and not visible.in_card(page.title, cards, page):
        for b in buttons:
            d = visible.distance(b, page.title, page)
            if d is not None and d <= 14:
                return True
    return False


_NOT_CLEAN = frozenset({"was", "unit", "instalment", "shipping", "save", "net", "region", "other_offer", "member",
                        "addon", "estimate"})


def _clean_matches(page, amount) -> list:
    """The candidates showing `amount` as the price to pay: not struck through, not labelled
    "was", net, per unit, instalment, shipping, saving or outside the buy box."""
    return [c for c in page.candidates if c.price.amount == amount and c.struck < 4 and not (c.flags & _NOT_CLEAN)]


def _prominent(c) -> bool:
    """Shown beside the title or the buy button (where a buyer reads the price)."""
    return (c.dist_title is not None and c.dist_title <= 12) or (
        c.dist_button is not None and c.dist_button <= 10)


def _first_h1(h1s, h1_texts: dict | None = None) -> str | None:
    for h in h1s:
        t = h1_texts[h] if h1_texts is not None else norm(text_content(h))
        if len(t) >= 2:
            return t[:400]
    return None


def _attached(el, root) -> bool:
    x = el
    while x is not None:
        if x is root:
            return True
        x = x.getparent()
    return False


def _main_product(items: list, want: str | None, url: str | None) -> Product | None:
    items = [p for p in items if p is not None]
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    with_offers = [p for p in items if p.offers]
    pool = with_offers or items
    if want:
        scored = [(visible._overlap(p.name or "", want), -i, p) for i, p in enumerate(pool)]
        scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
        if scored[0][0] > 0.3:
            return scored[0][2]
    if url:
        for p in pool:
            if p.url and p.url.rstrip("/") == url.rstrip("/"):
                return p
    return pool[0]


@functools.lru_cache(maxsize=1024)
def _url_query(url: str) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs of a URL's query, lower-cased names; asked several times per page."""
    try:
        q = parse_qs(urlsplit(url).query)
    except ValueError:
        return ()
    return tuple((k.lower(), v) for k, vs in q.items() for v in vs if v)


def selected_offer(p: Product, url: str | None):
    """The offer of the variant the URL selects (`?variant=`, `?sku=`, a size or colour
    parameter, a ProductGroup variant's own URL), or None."""
    if not url or len(p.offers) < 2:
        return None
    query = _url_query(url)
    if not query:
        return None
    values = {v for _, v in query}
    pairs = set(query)
    for o in p.offers:
        if o.sku and o.sku in values:
            return o
        if o.url:
            own = _url_query(o.url)
            if own and set(own) <= pairs and any(k in V.VARIANT_PARAMS or v == o.sku for k, v in own):
                return o
    return None


def _ordered_offers(p: Product, url: str | None) -> list:
    offers = list(p.offers)
    chosen = selected_offer(p, url)
    if chosen is not None:
        return [chosen] + [x for x in offers if x is not chosen]
    return offers


def _wants_script_state(mains: dict) -> bool:
    """Script state is read only where the page's markup does not already give both a price and
    the stock (it is the largest thing on a page to parse, and says what the markup says)."""
    for source in ("json-ld", "microdata", "rdfa"):
        m = mains.get(source)
        if m is not None and m.prices and (m.availability != "unknown"
                                           or any(o.availability != "unknown" for o in m.offers)):
            return False
    return True


def _script_product(items: list, want: str | None) -> Product | None:
    """The page's own product among the records of its scripts: named like its title (a state
    blob also holds recommendations, a cart, the recently viewed)."""
    if not items or not want:
        return None
    scored = [(visible._overlap(p.name or "", want), -i, p) for i, p in enumerate(items)]
    score, _, best = max(scored, key=lambda x: (x[0], x[1]))
    return best if score >= V.SCRIPT_NAME_OVERLAP else None


def _structured_currency(mains: dict) -> str | None:
    for source in STRUCTURED_ORDER:
        m = mains.get(source)
        if m is None:
            continue
        for o in m.offers:
            if o.currency:
                return o.currency
    return None


def _stale(offer) -> bool:
    v = getattr(offer, "valid_until", None)
    if not v:
        return False
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", v)
    if not m:
        return False
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))) < clock.now().date()
    except ValueError:
        return False


def _visible_anywhere(amount: Decimal, page, root) -> bool:
    if visible.amount_visible(amount, page):
        return True
    body = root.find(".//body")
    if body is None:
        return False
    text = norm(text_content(body, 400000))
    return amount in number_variants(text)


def _regular_price(page, chosen, price, mains, picked, hint, locale_hint) -> Decimal | None:
    """The struck, was or list price of the chosen price: the store's selector, a structured
    offer's, else a struck or "was" amount shown beside the chosen one."""
    if price is None:
        return None
    if picked.get("regular_price"):
        p = parse_price(picked["regular_price"], currency_hint=hint, locale_hint=locale_hint)
        if p and p.amount > price:
            return p.amount
    for m in mains.values():
        for o in m.offers:
            if o.regular_price is not None and o.regular_price > price and o.price == price:
                return o.regular_price
    return _visible_regular(page, chosen, price) if chosen is not None else None


_NOT_REGULAR = frozenset({"unit", "instalment", "shipping", "save", "region"})
REGULAR_NEAR = 8  # a was-price this close (tree steps) to the chosen price is its regular price
REGULAR_MAX_RATIO = 20  # a was-price more than this many times the price is something else


def _visible_regular(page, chosen, price: Decimal) -> Decimal | None:
    best = None
    for c in page.candidates:
        if (c is chosen or c.price.amount <= price or not (c.struck >= 4 or "was" in c.flags)
                or c.flags & _NOT_REGULAR or c.price.amount > price * REGULAR_MAX_RATIO):
            continue
        d = visible.distance(c.el, chosen.el, page)
        if d is None or d > REGULAR_NEAR:
            continue
        if best is None or d < best[0]:
            best = (d, c.price.amount)
    return best[1] if best else None


def _name(page, mains, picked, pm) -> str | None:
    if picked.get("name"):
        return clean_text(picked["name"])
    if page.title is not None:
        t = clean_text(text_content(page.title)) or ""
        if 2 <= len(t) <= 400:
            return t
    for m in mains.values():
        if m.name:
            return m.name
    return clean_text(pm.tags.get("og:title") or pm.title)


def _structured_availability(mains, url) -> tuple[str, bool]:
    """What structured data says about stock, and whether it is the variant the URL selects."""
    for source in STRUCTURED_ORDER:
        m = mains.get(source)
        if m is None:
            continue
        offers = m.offers
        chosen = selected_offer(m, url)
        if chosen is not None and chosen.availability != "unknown":
            return chosen.availability, True  # the variant the URL selects
        vals = [o.availability for o in offers if o.availability != "unknown"]
        if m.availability != "unknown":
            vals.append(m.availability)
        if vals:
            if "in_stock" in vals:
                return (vals[0] if vals[0] != "out_of_stock" else "in_stock"), False
            return vals[0], False
    return "unknown", False


def _availability(page, mains, chosen, picked, url=None) -> tuple[str, str]:
    """Decide stock from the page's stock evidence (spiders/extraction/stock.py)."""
    ev = stock.read_evidence(page, _structured_availability(mains, url), chosen, picked.get("availability"))
    return stock.decide(ev)


__all__ = ["extract_product", "KIND_TO_AVAILABILITY"]


# Flags of an amount that is never the price a buyer pays for this offer.
NOT_THE_PRICE = frozenset({"unit", "instalment", "shipping", "save", "noise", "other_offer", "member", "addon",
                           "estimate"})


def _rank_candidates(page, struct_amounts):
    """Score the page's price candidates (an amount the structured data also gives counts for
    more), drop those that are not the price to pay, and pick the best. The full reading and
    the fast path rank with this one function, so they cannot drift apart."""
    visible.score_candidates(page)
    for c in page.candidates:
        if c.price.amount in struct_amounts:
            c.score += 2.5
            c.flags.add("structured")
    usable = [c for c in page.candidates if not (c.flags & NOT_THE_PRICE)]
    return usable, visible.best(usable)
