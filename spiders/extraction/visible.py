"""What a buyer sees: the product title, the buy button, the price next to them, and the stock
wording around them.  Works on the tree after hidden elements were pruned (dom.prune_invisible).

A price candidate is a short text that is essentially one money amount ("$37.30", "1.299,00 €",
"$ 37 . 30" split over elements, "$199<sup>00</sup>").  Candidates are scored by where they sit:
near the title and the buy button is good; struck-through, "was"/list/RRP, per-unit, instalment,
shipping, "you save", net-of-VAT and recommendation-carousel prices are penalised.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from . import availability as _av
from . import vocabulary as V
from .availability import BUY_RE, classify_phrase
from .dom import classes, norm, text_content
from .keywords import TextIndex, required_words
from .model import Price
from .prices import find_money, parse_price

MAX_SHORT = 64  # an element whose text is longer than this is a container, not a price

_STRUCK_TAGS = frozenset({"s", "del", "strike"})
_STRUCK_CLASS = re.compile(
    r"(?:old|was|compare|strike|crossed|original|before|rrp|msrp|uvp|previous|former|list|retail|"
    r"regular|standard|reference|high|instead|initial|cross|reduced-from|sugg|value)[-_ ]?price|"
    r"price[-_ ]?(?:old|was|compare|strike|before|original|crossed|list|regular|standard|retail|"
    r"reference|rrp|msrp|uvp|high|instead|previous|cross)|(?:^|[\s_-])(?:old|was|strike|strikeout|"
    r"strikethrough|line-?through|crossed|compare-at|compare|del|msrp|rrp|uvp|oldprice|wasprice|"
    r"listprice|origprice|pricewas|price-standard|striked|struck|slashed|saving-old)(?:$|[\s_-])"
)
_WEAK_REGULAR = re.compile(r"regular[-_ ]?price|price[-_ ]?regular|(?:^|\s)regular(?:\s|$)")
_CURRENT_CLASS = re.compile(r"sale|special|now|current|final|our|offer|deal|promo|actual|selling|member|today|your|pay")
_PRICE_CLASS = re.compile(r"price|preis|prix|precio|amount|cost|money")
_REGION_BAD_SUB = re.compile(
    r"related|recommend|upsell|up-sell|cross-?sell|crosssell|also[-_]?(?:like|bought|viewed|purchased)|"
    r"similar|you[-_]?may|youmay|recently|carousel|slick|swiper|owl-|complete[-_]?the[-_]?look|"
    r"shop[-_]?the[-_]?look|accessor|mini-?cart|cart-?drawer|minicart|breadcrumb|sponsored|"
    r"bought-?together|other-?sellers|more-?from|suggest|trending|bestseller|certona|"
    r"product-?(?:grid|tile|card)s?$|megamenu|mega-menu|flyout"
)
_REGION_BAD_TOKEN = re.compile(
    r"^(?:(?:site|page|global|main|top)[-_])?(?:footer|header|nav|navbar|navigation|menu|sidebar|"
    r"reviews?|widget|fbt|recs|rr|rv)(?:[-_].*)?$"
)


@functools.lru_cache(maxsize=8192)
def _region_bad(cls: str) -> bool:
    """Class/id tokens that mark a block as not this product's buy box."""
    # a page repeats a few dozen class strings on every block, and a store on every page
    if _REGION_BAD_SUB.search(cls):
        return True
    return any(_REGION_BAD_TOKEN.match(tok) for tok in cls.split())


_REGION_BAD_TAGS = frozenset({"nav", "footer", "header"})

_WAS_BEFORE = re.compile(
    r"(?:\bwas|\breg\.?|\bregular(?: price)?|\blist(?: price)?|\bmsrp|\brrp|\buvp|\bstatt|\borig(?:inal)?(?: price)?|"
    r"\bbefore|\bcompare(?: at)?|\bsugg(?:\.|ested)?(?: retail)?(?: price)?|\bvalue|\bretail(?: price)?|"
    r"\bmarket price|\bursprünglich|\bancien prix|\bavant|\bantes|\bnormalpreis|\bstreichpreis|"
    r"\bvorher|\bprix barré|\bprecio anterior|\bde|\bprix conseillé|\bmanufacturer'?s?|\bnormally|"
    r"\bonline price|\bqvc price|\bthe\s+price)\s*:?\s*$",
    re.I,
)
_NET = re.compile(r"(?:zzgl|exkl|excl|excluding)\.?\s*(?:\d+(?:[.,]\d+)?\s*%\s*)?(?:ges(?:etzl)?\.?\s*|"
                  r"gesetzlicher?\s*)?(?:mwst|ust|vat|tax|btw|iva|tva|steuer)|"
                  r"ex\.?\s?(?:tax|vat|mwst|btw)|without (?:tax|vat)|netto|net price|"
                  r"hors taxes?|\bh\.?t\.?\b|sin iva|sans tva|before tax|pre-?tax", re.I)
_GROSS = re.compile(r"inkl|incl|inc\.?\s?(?:tax|vat)|with (?:tax|vat)|brutto|ttc|con iva|税込|tax included", re.I)
_UNIT_AFTER = re.compile(
    r"^\s*\)?\s*(?:/|per\s|pro\s|je\s|a\s)\s*(?:\d+(?:[.,]\d+)?\s*)?(?:kg|g|gr|lb|lbs|oz|fl\.? ?oz|l|ltr|litre|liter|"
    r"ml|cl|m|m2|m²|cm|mm|ft|sq\.? ?ft|yd|100|unit|count|ct|piece|stück|stk|load|wash|serving|dose|"
    r"capsule|tablet|sheet|roll|pack|month|mo|week|day|year|yr)\b", re.I)
_UNIT_BEFORE = re.compile(r"(?:unit price|price per|per unit|grundpreis|prix au (?:kg|litre)|precio por|"
                          r"\(\s*$|per (?:kg|lb|oz|100 ?g|l)\s*:?\s*$|/\s*(?:kg|lb)\s*:?\s*$)", re.I)
_INSTALMENT = re.compile(
    r"(?:\d+\s*(?:x|×|fois|payments?|installments?|instalments?|monthly|interest[- ]free|raten|rates|mensualités|"
    r"cuotas|plazos|parcelas|rate)"
    r"|pay in|per month|a month|/\s*mo\b|monthly|月額|月々|分割\w*|financ\w*|finanzier\w*|klarna|afterpay|affirm|"
    r"sezzle|paypal|zip pay|as low as|or\s+\d+|(?-i:\bRaten?\b)|ratenzahlung|ratenkauf|monatlich\w*|\bmtl\.?|"
    r"mensualit\w*|par mois|/\s*mois|al mes|por mes|mensual\w*|sin intereses|sans frais|en \d+\s*(?:x|fois)|"
    r"paiement en|payer en|\bab\s+mtl\.?)"
    r"(?:\s+[a-zà-ÿ]{1,12}){0,3}\s*:?\s*$", re.I)
_INSTALMENT_AFTER = re.compile(
    r"^\s*(?:/\s*(?:mo|mon|month|monat|mtl|mois|mes|mês)\b|mtl\b|monatl|monthly|per month|a month|par mois|"
    r"al mes|por mes|mensual|pro monat|im monat|x\s*\d+|×\s*\d+|mo\.|p\.\s?m\.|for \d+ months|"
    r"über \d+ monate|en \d+\s*(?:x|fois|cuotas|plazos)|sur \d+ mois|(?:in|en) \d+ (?:cuotas|plazos|raten|mensualités))",
    re.I)
_SHIPPING = re.compile(r"(?:shipping|delivery|s&h|s & h|versand|livraison|envío|envio|frete|handling|"
                       r"postage|frais de port|lieferung|spedizione)\s*(?:cost|fee|charge)?s?\s*:?\s*\+?\s*$", re.I)
_SHIPPING_AFTER = re.compile(r"^\s*(?:s&h|s & h|shipping|delivery|versand|postage)", re.I)
_SAVE = re.compile(r"(?:save|you save|savings?|discount|sparen|sie sparen|ersparnis|économisez|ahorra|"
                   r"ahorras|rabatt|extra|get|reward|credit|off|coupon|bonus|outlet savings|gift card)\s*:?\s*-?\s*$",
                   re.I)
_SAVE_AFTER = re.compile(r"^\s*(?:off\b|discount|savings?|rabatt|de réduction|de descuento|back\b(?!\s+in\s+stock)|in rewards)", re.I)
_CONTEXT_NOISE = re.compile(r"free shipping on orders|orders (?:over|of|above)|spend|minimum|threshold|"
                            r"gift card|rewards?|points|cashback|cash back|coupon|promo code|with code", re.I)


@dataclass
class Candidate:
    el: object
    price: Price
    text: str
    order: int
    range_: bool = False
    struck: float = 0.0
    flags: set = field(default_factory=set)
    score: float = 0.0
    dist_title: int | None = None
    dist_button: int | None = None
    group: list = field(default_factory=list)  # sibling pieces of a split price ("$", "79.", "99")
    prefix: str = ""  # text before the amount inside the candidate ("Was", "Outlet Savings: -")
    suffix: str = ""


class _Parents:
    """element -> parent, straight from the tree (the analysis never edits it)."""

    __slots__ = ()

    @staticmethod
    def get(e, default=None):
        p = e.getparent()
        return default if p is None else p


class _Short:
    """element -> its text when at most MAX_SHORT chars (else None), worked out on first use and
    kept: only the elements near a price, a button or stock wording are ever asked for."""

    __slots__ = ("memo",)

    def __init__(self):
        self.memo: dict = {}

    def get(self, e, default=None):
        try:
            return self.memo[e]
        except KeyError:
            pass
        _short_of(e, self.memo)
        return self.memo[e]

    def __getitem__(self, e):
        return self.get(e)

    def fill(self, elements) -> None:
        """Work out every element's short text at once, children before parents (`elements`
        in document order, a whole subtree): each element is visited once, with no stack, and
        gets exactly what `_short_of` would give it."""
        memo = self.memo
        limit = MAX_SHORT * 2
        for el in reversed(list(elements)):
            tag = el.tag
            if not len(el):
                memo[el] = _leaf_short(el, tag)
                continue
            if tag.lower() in _NO_SHORT:
                memo[el] = None
                continue
            text = el.text or ""
            total = len(text.strip())
            if total > limit:
                memo[el] = None
                continue
            parts = [text]
            ok = True
            for c in el:
                ctag = c.tag
                if not isinstance(ctag, str):
                    parts.append(c.tail or "")
                    continue
                ct = memo.get(c, _MISSING)
                if ct is _MISSING:
                    _short_of(c, memo)
                    ct = memo[c]
                if ct is None:
                    ok = False
                    break
                ct = _joined_piece(ctag, ct, parts)
                tail = c.tail or ""
                parts.append(ct)
                parts.append(tail)
                total += len(ct.strip()) + len(tail.strip())
                if total > limit:
                    ok = False
                    break
            if not ok:
                memo[el] = None
                continue
            memo[el] = _finish_short("".join(parts))


_MISSING = object()
FILL_SHORT_MAX = 20_000  # subtrees up to this many elements get every short text at once


@dataclass
class Page:
    root: object
    order: dict
    parent: object
    short: object  # element -> its text when at most MAX_SHORT chars (lazy, see _Short)
    title: object = None
    title_chain: set = field(default_factory=set)  # the title and its ancestors
    buttons: list = field(default_factory=list)
    candidates: list = field(default_factory=list)
    index: object = None  # TextIndex of the page's text pieces
    inputs: list = field(default_factory=list)  # submit / button inputs
    _anc: dict = field(default_factory=dict)
    _stock_els: list | None = None
    url_path: str = ""  # the path of the page's own URL: a link there is no link to another page


def analyse(root, *, structured_name: str | None, title_hint: str | None, currency_hint: str | None,
            locale_hint: str | None, anchor=None, h1_texts: dict | None = None, url: str | None = None) -> Page:
    """Read the visible page below `root` (`h1_texts`: heading -> its text, already read)."""
    order, index, digit_owners, clickables = _scan(root)
    short = _Short()
    if len(order) <= FILL_SHORT_MAX:
        short.fill(order)
    page = Page(root=root, order=order, parent=_Parents(), short=short, index=index, url_path=_path_of(url))
    page.title = _find_title(root, structured_name, title_hint, anchor, h1_texts=h1_texts)
    if page.title is not None:
        page.title_chain.add(page.title)
        page.title_chain.update(page.title.iterancestors())
    page.inputs = [e for e in clickables if e.tag == "input"
                   and (e.get("type") or "").lower() in ("submit", "button", "image")]
    page.buttons = _find_buttons(page, clickables)
    page.candidates = _candidates(page, digit_owners, currency_hint, locale_hint)
    return page


_DIGIT = re.compile(r"\d")
_CLICKABLE = frozenset({"button", "input", "a"})


def _scan(root):
    """One pass over the tree: document order, the text pieces (an element's text and the tails
    of its children, each with the element it belongs to), the elements holding a digit in such
    a piece, and the clickable elements (button, input, a)."""
    order: dict = {}
    texts: list = []
    owners: list = []
    digit_owners: list = []
    clickables: list = []
    digit = _DIGIT.search
    i = 0
    for e in root.iter():
        tag = e.tag
        if not isinstance(tag, str):
            continue
        order[e] = i
        i += 1
        if tag in _CLICKABLE:
            clickables.append(e)
        t = e.text
        if t and not t.isspace():
            texts.append(t)
            owners.append(e)
            if digit(t):
                digit_owners.append(e)
        t = e.tail
        if t and not t.isspace():
            p = e.getparent()
            if p is not None:
                texts.append(t)
                owners.append(p)
                if digit(t):
                    digit_owners.append(p)
    return order, TextIndex(texts, owners), digit_owners, clickables


def _with_ancestors(page: Page, starts) -> list:
    """`starts` and each of their ancestors whose short text holds theirs, in document order."""
    seen: set = set()
    out = []
    short = page.short
    order = page.order
    for x in starts:
        while x is not None and x not in seen and x in order:  # never above the analysed root
            seen.add(x)
            out.append(x)
            if short.get(x) is None:
                break
            x = x.getparent()
    out.sort(key=lambda e: order.get(e, -1))
    return out


def _anc_list(e, page: Page) -> list:
    a = page._anc.get(e)
    if a is None:
        a = list(e.iterancestors())
        page._anc[e] = a
    return a


# ---------------------------------------------------------------- text

_HAS_DIGIT_SPACE = re.compile(r"\d[.,]?\s|\s[.,]?\d")
_SPLIT_DEC1 = re.compile(r"(?<=\d)\s+([.,])\s*(?=\d{2}\b)")
_SPLIT_DEC2 = re.compile(r"(?<=\d)([.,])\s+(?=\d{2}\b)")
_SPLIT_SYM = re.compile(r"(?<=[$€£¥])\s+(?=\d)")
_LIST_WORDS = re.compile(r"wish|favou?rite|registry|list", re.I)
_BUTTON_TAGS = frozenset({"button", "input", "a", "span", "div", "li"})


_NO_SHORT = frozenset({"select", "option", "textarea", "html", "body", "head"})
_SPACED = frozenset({"br", "p", "div", "li", "td", "tr"})
_CENTS_BEFORE = re.compile(r"[.,]\d{1,2}$")


def _joined_piece(tag: str, text: str, parts: list) -> str:
    """A child's short text as it joins its parent's (`parts`: the parent's text so far): two
    superscript digits after a number are its cents, a block element is set off by spaces."""
    tag = tag.lower()
    if tag == "sup":
        stripped = text.strip()
        if len(stripped) == 2 and stripped.isdigit():
            joined = "".join(parts).rstrip()
            if joined[-1:].isdigit() and not _CENTS_BEFORE.search(joined):
                return "." + stripped
    elif tag in _SPACED:
        return " " + text + " "
    return text


def _leaf_short(el, tag: str):
    """The short text of an element without children (most elements), without a stack frame."""
    if tag.lower() in _NO_SHORT:
        return None
    text = el.text
    if not text:
        return ""
    if len(text) > MAX_SHORT * 2 and len(text.strip()) > MAX_SHORT * 2:
        return None
    return _finish_short(text)


@functools.lru_cache(maxsize=16384)
def _finish_short(raw: str) -> str | None:
    """Joined text -> the short text (spaces normalised, split decimals joined), or None when
    longer than MAX_SHORT.  Kept per text: labels, buttons and prices repeat within a page and
    across a store's pages."""
    t = " ".join(raw.split())
    if len(t) > MAX_SHORT:
        return None
    if _HAS_DIGIT_SPACE.search(t):
        t = _SPLIT_DEC1.sub(r"\1", t)  # "37 . 30" -> "37.30"
        t = _SPLIT_DEC2.sub(r"\1", t)
        t = _SPLIT_SYM.sub("", t)
    return t


def _short_of(e0, memo: dict) -> None:
    """Work out memo[e0]: the element's text if short, with superscript cents made decimal.

    Bottom-up over the element's subtree (an explicit stack, no recursion), stopping as soon as
    the text grows past twice MAX_SHORT, so a big block costs a few steps, not its whole subtree.
    Childless elements are read directly, without a frame.
    """
    tag0 = e0.tag
    if not isinstance(tag0, str):
        memo[e0] = None
        return
    if not len(e0):
        memo[e0] = _leaf_short(e0, tag0)
        return
    limit = MAX_SHORT * 2
    stack = [[e0, None, 0, None, 0]]  # element, children, next child, parts, total
    while stack:
        fr = stack[-1]
        el = fr[0]
        if fr[1] is None:
            tag = el.tag
            if not isinstance(tag, str) or tag.lower() in _NO_SHORT:
                memo[el] = None
                stack.pop()
                continue
            text = el.text or ""
            total = len(text.strip())
            if total > limit:
                memo[el] = None
                stack.pop()
                continue
            fr[1] = list(el)
            fr[3] = [text]
            fr[4] = total
        kids, i, parts, total = fr[1], fr[2], fr[3], fr[4]
        ok = True
        pushed = False
        n = len(kids)
        while i < n:
            c = kids[i]
            ctag = c.tag
            if not isinstance(ctag, str):
                parts.append(c.tail or "")
                i += 1
                continue
            if c in memo:
                ct = memo[c]
            elif not len(c):
                ct = memo[c] = _leaf_short(c, ctag)
            else:
                fr[2] = i
                fr[4] = total
                stack.append([c, None, 0, None, 0])
                pushed = True
                break
            if ct is None:
                ok = False
                break
            ct = _joined_piece(ctag, ct, parts)
            tail = c.tail or ""
            parts.append(ct)
            parts.append(tail)
            total += len(ct.strip()) + len(tail.strip())
            i += 1
            if total > limit:
                ok = False
                break
        if pushed:
            continue
        stack.pop()
        if not ok:
            memo[el] = None
            continue
        memo[el] = _finish_short("".join(parts))


_TITLE_CLASS = re.compile(r"product[-_]?(?:title|name)|productname|producttitle")


def _title_sized(t: str) -> bool:
    """Long enough to name something, short enough to be a heading."""
    return 2 <= len(t) <= 400


def _h1_choices(root, h1_els, h1_texts) -> list:
    """The page's h1 headings that could be a product's name, with their text."""
    h1s = []
    for h in (h1_els if h1_els is not None else root.iter("h1")):
        t = h1_texts.get(h) if h1_texts is not None else None
        if t is None:
            t = norm(text_content(h))
        if _title_sized(t):
            h1s.append((h, t))
    return h1s


def _pick_h1(h1s: list, want, anchor):
    """Of several h1s, the one sharing most words with the name structured data gives; a lone h1
    sharing none gives way to the anchor."""
    if want and len(h1s) > 1:
        return max(h1s, key=lambda ht: _overlap(ht[1], want))[0]
    if want and len(h1s) == 1 and _overlap(h1s[0][1], want) == 0 and anchor is not None:
        return anchor
    return h1s[0][0]


def _named_product_element(root):
    """The first element marked as the product's name (itemprop=name, a product-title class)."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.get("itemprop") == "name" or _TITLE_CLASS.search(classes(el)):
            if _title_sized(norm(text_content(el))):
                return el
    return None


def _h2_matching(root, want):
    """An h2 that mostly says the wanted name."""
    if not want:
        return None
    for h in root.iter("h2"):
        if _overlap(norm(text_content(h)), want) > 0.5:
            return h
    return None


def _find_title(root, structured_name, title_hint, anchor, h1_els=None, h1_texts=None):
    want = structured_name or title_hint
    h1s = _h1_choices(root, h1_els, h1_texts)
    if h1s:
        return _pick_h1(h1s, want, anchor)
    named = _named_product_element(root)
    if named is not None:
        return named
    if anchor is not None:
        return anchor
    return _h2_matching(root, want)


def _tokens(s: str) -> set:
    return {w for w in re.findall(r"\w+", s.lower()) if len(w) > 1}


def _overlap(a: str, b: str) -> float:
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


_BUTTON_ATTR = re.compile(r"add[-_ ]?to[-_ ]?(?:cart|bag|basket|trolley)|addtocart|addtobag|addtobasket|"
                          r"buy[-_ ]?now|buynow|btn[-_]cart|cart[-_]button|product-form__cart|"
                          r"single_add_to_cart|add2cart|add-cart|addcart|button-cart|buy-button|buybutton|"
                          r"btn-buy|preorder|pre-order", re.I)


_BUY_WORDS = required_words(_av.BUY_PHRASES)
_BUTTON_ATTR_WORDS = required_words(_BUTTON_ATTR.pattern)


def _button_attributes(e) -> str:
    """class, id, name, aria-label, title and alt of an element, in one string."""
    return " ".join(filter(None, [e.get("class"), e.get("id"), e.get("name"), e.get("aria-label"),
                                  e.get("title"), e.get("alt")]))


def _attributes_may_say_buy(e) -> bool:
    """Cheap pre-check: an input, or attributes holding a word every add-to-cart pattern needs."""
    if e.tag == "input":
        return True
    attr = _button_attributes(e)
    if not attr:
        return False
    low = attr.lower()
    return _BUTTON_ATTR_WORDS is None or any(w in low for w in _BUTTON_ATTR_WORDS)


def _button_pool(page: Page, clickables) -> set:
    """Elements worth judging: those around text holding a buy word, and clickables whose
    attributes may say add-to-cart."""
    starts = [page.index.owners[i] for i in page.index.segments_with(_BUY_WORDS)]
    pool = set(_with_ancestors(page, starts))
    pool.update(e for e in clickables if _attributes_may_say_buy(e))
    return pool


def _button_label(e, tag: str, short: dict) -> str | None:
    """What the control says: an input's value (or alt/title), else its short text; None for
    an input that is not a button, or an element with no short text."""
    if tag != "input":
        return short.get(e)
    if (e.get("type") or "").lower() not in ("submit", "button", "image"):
        return None
    return e.get("value") or e.get("alt") or e.get("title") or ""


def _says_buy(e, tag: str, label: str) -> bool:
    """Buy wording on the label, or a button / input / link whose attributes say add-to-cart
    (and whose label is not a wish-list or compare action)."""
    if label and BUY_RE.search(label):
        return True
    if tag not in ("button", "input", "a"):
        return False
    attr = _button_attributes(e)
    return bool(attr and _BUTTON_ATTR.search(attr) and not _LIST_WORDS.search(label))


def _wraps_real_button(e, tag: str) -> bool:
    """A span, div or li holding a button, input or link: the real button is inside."""
    return tag in ("span", "div", "li") and any(
        isinstance(c.tag, str) and c.tag.lower() in ("button", "input", "a") for c in e.iterdescendants())


def _find_buttons(page: Page, clickables) -> list:
    """The buy buttons: a short label in buy wording, or a button / input / link whose class, id,
    name or label says add-to-cart.  Only elements whose text holds a buy word, and the
    clickable elements, are looked at."""
    order = page.order
    out = []
    for e in sorted(_button_pool(page, clickables), key=lambda x: order.get(x, -1)):
        tag = e.tag.lower()
        if tag not in _BUTTON_TAGS:
            continue
        label = _button_label(e, tag, page.short)
        if label is None or len(label) > 40:
            continue
        label = label.strip()
        if _says_buy(e, tag, label) and not _wraps_real_button(e, tag):
            out.append(e)
    return out


# ---------------------------------------------------------------- candidates

_NO_PRICE_TAGS = ("script", "style", "option", "select", "title")
_RANGE_JOINER = re.compile(r"\s*(?:-|–|—|to|bis|à|a|~)\s*")
_BARE_AMOUNT = re.compile(r"\s*(\d{1,3}(?:[.,]\d{3})*[.,]\d{2}|\d+[.,]\d{2})\s*")


def _may_hold_price(e, t: str | None) -> bool:
    """Short text with a digit, in an element a price can be shown in."""
    return bool(t) and bool(_DIGIT.search(t)) and e.tag.lower() not in _NO_PRICE_TAGS


def _range_start(t: str, mentions: list) -> tuple[list, bool]:
    """Two amounts joined as a range ("$10 - $20") count as the first; True when it was one."""
    if len(mentions) == 2 and _RANGE_JOINER.fullmatch(t[mentions[0][1]:mentions[1][0]]):
        return mentions[:1], True
    return mentions, False


def _children_hold_money(e, short: dict, currency_hint, locale_hint) -> bool:
    """Whether a child element's own short text already holds an amount."""
    return any(find_money(short.get(c) or "", currency_hint=currency_hint, locale_hint=locale_hint)
               for c in e if isinstance(c.tag, str))


def _bare_classy_candidate(e, t: str, page: Page, currency_hint, locale_hint) -> Candidate | None:
    """A bare number ("79.99") in an element whose class says price."""
    if not _classy_price(e, page):
        return None
    bare = _BARE_AMOUNT.fullmatch(t)
    if not bare:
        return None
    p = parse_price(bare.group(1), currency_hint=currency_hint, locale_hint=locale_hint)
    return Candidate(e, p, t, page.order[e]) if p else None


def _single_candidate(e, t: str, mention, page: Page, range_: bool) -> Candidate | None:
    """One amount with little text around it, above zero."""
    start, end, price = mention
    if len((t[:start] + " " + t[end:]).strip()) > 36 or price.amount <= 0:
        return None
    return Candidate(e, price, t, page.order[e], range_=range_, prefix=t[:start], suffix=t[end:])


def _inside_another(e, found: dict, page: Page) -> bool:
    """Whether one of the four elements above `e` is a candidate too."""
    p = page.parent.get(e)
    for _ in range(4):
        if p is None:
            return False
        if p in found:
            return True
        p = page.parent.get(p)
    return False


def _outermost(found: dict, page: Page) -> list:
    """Of nested candidates, the outermost: the most complete text of one price."""
    return [c for e, c in found.items() if not _inside_another(e, found, page)]


def _candidates(page: Page, digit_owners, currency_hint, locale_hint) -> list:
    """Price candidates: the elements whose short text holds a digit (found from the text pieces
    that hold one, walking up while the text stays short), each read as one amount."""
    found: dict = {}
    short = page.short
    for e in _with_ancestors(page, digit_owners):
        t = short.get(e)
        if not _may_hold_price(e, t):
            continue
        mentions, range_ = _range_start(t, find_money(t, currency_hint=currency_hint, locale_hint=locale_hint))
        if 2 <= len(mentions) <= 4 and not _children_hold_money(e, short, currency_hint, locale_hint):
            for piece in _split_pieces(e, short, currency_hint, locale_hint):
                found[piece.el] = piece
                piece.order = page.order[piece.el]
            continue
        if not mentions:
            c = _bare_classy_candidate(e, t, page, currency_hint, locale_hint)
        elif len(mentions) == 1:
            c = _single_candidate(e, t, mentions[0], page, range_)
        else:
            c = None
        if c is not None:
            found[e] = c
    out = _outermost(found, page)
    out.sort(key=lambda c: c.order)
    return out[:400]


def _split_pieces(e, short, currency_hint, locale_hint) -> list:
    """One element holding several prices in split pieces: <span>$</span><span>79.</span><span>99</span>
    <span>$</span><span>39.</span><span>99</span> -> one candidate per price, on its own pieces."""
    groups: list[list] = []
    cur: list = []
    acc = e.text or ""
    for c in e:
        if not isinstance(c.tag, str):
            continue
        acc += short.get(c) or ""
        acc += c.tail or ""
        n = len(find_money(_tidy(acc), currency_hint=currency_hint, locale_hint=locale_hint))
        if n > len(groups) + 1 and cur:
            groups.append(cur)
            cur = []
        cur.append(c)
    if cur:
        groups.append(cur)
    out = []
    carry = ""
    for g in groups:
        text = carry + _tidy("".join((short.get(c) or "") + (c.tail or "") for c in g))
        carry = ""
        dangling = re.search(r"(?:[$€£¥]|[A-Z]{3})\s*$", text)
        if dangling and re.search(r"\d", text[: dangling.start()]):
            carry = dangling.group(0).strip()
            text = text[: dangling.start()]
        m = find_money(text, currency_hint=currency_hint, locale_hint=locale_hint)
        if len(m) != 1 or m[0][2].amount <= 0:
            continue
        holder = next((c for c in g if re.search(r"\d", short.get(c) or "")), g[0])
        out.append(Candidate(holder, m[0][2], text, 0, group=list(g)))
    return out


def _tidy(t: str) -> str:
    t = norm(t)
    t = re.sub(r"(?<=\d)\s+([.,])\s*(?=\d{2}\b)", r"\1", t)
    t = re.sub(r"(?<=\d)([.,])\s+(?=\d{2}\b)", r"\1", t)
    return re.sub(r"(?<=[$€£¥])\s+(?=\d)", "", t)


def _classy_price(e, page) -> bool:
    x = e
    for _ in range(2):
        if x is None:
            return False
        if _class_marks(classes(x))[0] or (x.get("itemprop") or "").lower() == "price":
            return True
        x = page.parent.get(x)
    return False


def ancestors(e, page: Page):
    return _anc_list(e, page)


def distance(a, b, page: Page) -> int | None:
    if a is None or b is None:
        return None
    if a is b:
        return 0
    anc_a = _anc_list(a, page)
    idx = page._anc.get((a, "idx"))
    if idx is None:
        idx = {x: i + 1 for i, x in enumerate(anc_a)}
        idx[a] = 0
        page._anc[(a, "idx")] = idx
    if b in idx:
        return idx[b]
    for steps, x in enumerate(_anc_list(b, page), 1):
        i = idx.get(x)
        if i is not None:
            return i + steps
    return None


def lca(elements, page: Page):
    elements = [e for e in elements if e is not None]
    if not elements:
        return None
    common = [elements[0]] + ancestors(elements[0], page)
    for e in elements[1:]:
        s = set([e] + ancestors(e, page))
        common = [x for x in common if x in s]
    return common[0] if common else None


def _preceding_text(c: Candidate, page: Page, limit: int = 48) -> str:
    """The text just before the candidate (its label), within its nearby ancestors."""
    bits: list[str] = []
    e = c.el
    total = 0
    for _ in range(4):
        p = page.parent.get(e)
        if p is None:
            break
        prev = e.getprevious()
        local = []
        while prev is not None and total < limit:
            if isinstance(prev.tag, str):
                own = page.short.get(prev) or ""
                if _DIGIT.search(own) and find_money(own):
                    # an element showing its own amount: its words label that amount, not this one
                    bits = local + bits
                    return norm(" ".join([prev.tail or ""] + bits))[-limit:]
                t = own + " " + (prev.tail or "")
            else:
                t = prev.tail or ""
            local.insert(0, t)
            total += len(t)
            prev = prev.getprevious()
        if total < limit:
            local.insert(0, p.text or "")
            total += len(p.text or "")
        bits = local + bits
        if total >= limit:
            break
        e = p
    return norm(" ".join(bits))[-limit:]


def _following_text(c: Candidate, page: Page, limit: int = 32) -> str:
    bits: list[str] = []
    e = c.el
    total = 0
    for _ in range(3):
        t = e.tail or ""
        bits.append(t)
        total += len(t)
        nxt = e.getnext()
        while nxt is not None and total < limit:
            if isinstance(nxt.tag, str):
                own = page.short.get(nxt) or ""
                if _DIGIT.search(own) and find_money(own):
                    return norm(" ".join(bits))[:limit]  # the words of the next amount are its own
                s = own + " " + (nxt.tail or "")
            else:
                s = nxt.tail or ""
            bits.append(s)
            total += len(s)
            nxt = nxt.getnext()
        if total >= limit:
            break
        e = page.parent.get(e)
        if e is None:
            break
    return norm(" ".join(bits))[:limit]


@functools.lru_cache(maxsize=8192)
def _struck_class(cls: str) -> float:
    """How strongly a class/id string marks a price as struck through (0 when it does not)."""
    if not _STRUCK_CLASS.search(cls):
        return 0.0
    if _WEAK_REGULAR.search(cls) and not _STRONG_STRUCK.search(cls):
        return 1.5
    return 5.0


_STRONG_STRUCK = re.compile(r"old|was|strike|compare|list|original")
_CURRENCY_AT_END = re.compile(r"(?:[$€£¥]|\b[A-Z]{3}\b|US|L\.?E\.?)\s*$")
_MINUS_AT_END = re.compile(r"[-−]\s*$")
_PLUS_AT_END = re.compile(r"\+\s*$")
_PLUS_OPEN = re.compile(r"\(\s*\+")
_SUM_BEFORE = re.compile(r"\b(?:total|subtotal|gesamt|bundle price|together)\b[^$€£¥\d]*$", re.I)
_WAS_IN_TEXT = re.compile(r"^\s*(?:was|reg\.?|list|msrp|rrp|uvp|statt)\b", re.I)
_UNIT_IN_TEXT = re.compile(r"/\s*(?:kg|lb|oz|100\s?g|l|ml|m)\b", re.I)
_PLUS_START = re.compile(r"^\s*\+")


_OTHER_OFFER = re.compile("|".join(V.OTHER_OFFER_LABELS), re.I)
_MEMBER = re.compile("|".join(V.MEMBER_PRICE_LABELS), re.I)
_ADDON = re.compile("|".join(V.ADDON_LABELS), re.I)
# the same words right after an amount ("$57.00 with Subscribe & Save", "$45 (used)")
_AFTER_JOIN = r"^\s*(?:\(|(?:with|for|as|when|if|via|mit|avec|con|com|bei|per)\s)\s*(?:"
_OTHER_OFFER_AFTER = re.compile(_AFTER_JOIN + "|".join(V.OTHER_OFFER_LABELS) + ")", re.I)
_MEMBER_AFTER = re.compile(_AFTER_JOIN + "|".join(V.MEMBER_PRICE_LABELS) + ")", re.I)
_ADDON_AFTER = re.compile(_AFTER_JOIN + "|".join(V.ADDON_LABELS) + ")", re.I)
_WORDY_LABEL = re.compile(r"[^\W\d_]{2,}")
_ESTIMATE = re.compile("|".join(V.ESTIMATE_LABELS), re.I)
_CURRENT_BID = re.compile("|".join(V.CURRENT_BID_LABELS), re.I)


@functools.lru_cache(maxsize=8192)
def _text_flags(before: str, prefix: str, after: str, text: str) -> tuple[frozenset, bool]:
    """What the words around an amount say it is (flags), and whether they say tax included.

    A pure function of the texts, kept for the texts seen again: a store's template repeats
    its labels ("Sale price", "Regular price", "inkl. MwSt.") on every product page.
    """
    label = _CURRENCY_AT_END.sub("", (before + " " + prefix).strip()).strip()
    negative = bool(_MINUS_AT_END.search(label))
    if negative:
        label = label.rstrip("-− ")
    # the amount's own label: the words in its element before it, else the few words just before
    # (not a column heading further back, which labels the cells under it)
    own = _CURRENCY_AT_END.sub("", prefix).strip()
    w = _Words(label=label, prefix=prefix, after=after, text=text,
               near_label=own if _WORDY_LABEL.search(own) else label[-V.OWN_LABEL_CHARS:],
               near_after=after[:V.OWN_LABEL_CHARS])
    flags = {flag for flag, says in _FLAG_RULES if says(w)}
    if negative:
        flags.add("save")  # a negative amount is a discount
    gross = bool(_GROSS.search(label[-30:]) or _GROSS.search(after[:20]))
    return frozenset(flags), gross


@dataclass(frozen=True)
class _Words:
    """The words around one amount: its label (before it), its own element's prefix, what
    follows, its own text, and the amount's own short label and what follows it closely."""

    label: str
    prefix: str
    after: str
    text: str
    near_label: str
    near_after: str


def _says_added_on_top(w: _Words) -> bool:
    """ "+ $4.95", "(+ $2)": shipping, tax or handling added on top."""
    return bool(_PLUS_AT_END.search(w.label) or _PLUS_OPEN.search(w.prefix) or _PLUS_START.match(w.text)
                or _SHIPPING.search(w.label) or _SHIPPING_AFTER.search(w.after))


def _says_saving(w: _Words) -> bool:
    """"Save $20", "$5 off", "Total for both": a saving or a sum, not a price."""
    return bool(_SUM_BEFORE.search(w.label[-30:]) or _SAVE.search(w.label) or _SAVE_AFTER.search(w.after))


def _says_was(w: _Words) -> bool:
    return bool(_WAS_BEFORE.search(w.label) or _WAS_IN_TEXT.match(w.text))


def _says_net(w: _Words) -> bool:
    """Net of tax ("zzgl. MwSt.", "excl. VAT") and not also tax-inclusive."""
    net = _NET.search(w.label[-30:]) or _NET.search(w.after[:24]) or _NET.search(w.text)
    return bool(net) and not (_GROSS.search(w.label[-30:]) or _GROSS.search(w.text))


def _says_unit(w: _Words) -> bool:
    return bool(_UNIT_AFTER.search(w.after) or _UNIT_BEFORE.search(w.label) or _UNIT_IN_TEXT.search(w.text))


def _says_instalment(w: _Words) -> bool:
    return bool(_INSTALMENT.search(w.label) or _INSTALMENT_AFTER.search(w.after)
                or _INSTALMENT_AFTER.search(w.text[-12:]))


def _says_noise(w: _Words) -> bool:
    """Free-shipping thresholds, coupons, points, gift cards: amounts of a promotion."""
    return bool(_CONTEXT_NOISE.search(w.label[-40:]) or _CONTEXT_NOISE.search(w.text))


def _says_other_offer(w: _Words) -> bool:
    return bool(_OTHER_OFFER.search(w.near_label) or _OTHER_OFFER_AFTER.match(w.near_after))


def _says_member(w: _Words) -> bool:
    return bool(_MEMBER.search(w.near_label) or _MEMBER_AFTER.match(w.near_after))


def _says_addon(w: _Words) -> bool:
    return bool(_ADDON.search(w.near_label) or _ADDON_AFTER.match(w.near_after))


# flag -> what says it (visible.score_candidates penalises each flag; chain drops some outright)
_FLAG_RULES = (
    ("shipping", _says_added_on_top),
    ("save", _says_saving),
    ("was", _says_was),
    ("net", _says_net),
    ("unit", _says_unit),
    ("instalment", _says_instalment),
    ("noise", _says_noise),
    ("other_offer", _says_other_offer),
    ("member", _says_member),
    ("addon", _says_addon),
    ("estimate", lambda w: bool(_ESTIMATE.search(w.near_label))),
    ("current_bid", lambda w: bool(_CURRENT_BID.search(w.near_label))),
)


@functools.lru_cache(maxsize=8192)
def _class_marks(cls: str) -> tuple[bool, bool]:
    """(says price, says current price) for a class/id string."""
    return _PRICE_CLASS.search(cls) is not None, _CURRENT_CLASS.search(cls) is not None


_PENALTIES = {"was": 5.0, "net": 6.0, "unit": 8.0, "instalment": 8.0, "shipping": 8.0, "save": 8.0,
              "noise": 6.0, "region": 9.0}
_REGION_TAGS = frozenset({"div", "section", "ul", "li", "aside", "table", "tr", "td", "span", "form", "article"})


def score_candidates(page: Page) -> None:
    """Give each candidate its features (struck, flags from the words around it, region,
    distances to the title and the buy button) and a score from them."""
    for c in page.candidates:
        anc = ancestors(c.el, page)
        c.struck = _struck(c, anc, page)
        before = _preceding_text(c, page)
        after = (c.suffix + " " + _following_text(c, page)).strip()
        flags, gross = _text_flags(before, c.prefix, after, c.text)
        c.flags.update(flags)
        if _in_region(anc, page):
            c.flags.add("region")
        c.dist_title = distance(c.el, page.title, page) if page.title is not None else None
        c.dist_button = min((d for d in (distance(c.el, b, page) for b in page.buttons) if d is not None),
                            default=None)
        c.score = _class_score(c, anc) + _word_score(c, gross) + _place_score(c, page)


def _struck(c: Candidate, anc: list, page: Page) -> float:
    """How surely the amount is shown struck through: a strike tag or style on it or on a
    wrapper holding no other price (6), or a class that says old/was/compare (up to 5)."""
    tight = [c.el]
    for a in anc[:6]:
        at = page.short.get(a)
        if at is None or len(find_money(at)) > 1:
            break  # a wrapper around several prices says nothing about this one
        tight.append(a)
    struck = 0.0
    for x in tight + list(c.el.iter()) + list(c.group):
        if not isinstance(x.tag, str):
            continue
        if x.tag.lower() in _STRUCK_TAGS or "line-through" in (x.get("style") or "").lower():
            return 6.0
        cls = classes(x)
        if cls:
            struck = max(struck, _struck_class(cls))
    return struck


def _in_region(anc: list, page: Page) -> bool:
    """Inside navigation, a header, a footer or a recommendation block (below the title's own
    ancestors, which hold the product too)."""
    for a in anc:
        if a in page.title_chain:
            return False
        tag = a.tag.lower() if isinstance(a.tag, str) else ""
        if tag in _REGION_BAD_TAGS:
            return True
        if tag in _REGION_TAGS:
            cls = classes(a)
            if cls and "price" not in cls and _region_bad(cls):
                return True
    return False


def _class_score(c: Candidate, anc: list) -> float:
    """A class or itemprop that says price (+3) or the current price (+1), on it or just above."""
    near = [c.el] + anc[:2]
    marks = [_class_marks(classes(x)) for x in near]
    s = 0.0
    if any(m[0] or (x.get("itemprop") or "").lower() == "price" for m, x in zip(marks, near, strict=True)):
        s += 3.0
    if any(m[1] for m in marks):
        s += 1.0
    return s


def _word_score(c: Candidate, gross: bool) -> float:
    """The words around it: tax included (+1), a current bid (+2), no currency (-1), struck and
    every flag that says it is some other amount (penalties)."""
    s = (1.0 if gross else 0.0) + (2.0 if "current_bid" in c.flags else 0.0)
    if c.price.currency is None:
        s -= 1.0
    return s - c.struck - sum(_PENALTIES.get(f, 0.0) for f in c.flags)


def _place_score(c: Candidate, page: Page) -> float:
    """Where it is: close to the title (and not far before it), close to the buy button."""
    s = 0.0
    if c.dist_title is not None:
        s -= TITLE_DISTANCE_WEIGHT * min(c.dist_title, DISTANCE_CAP)
    title_order = page.order.get(page.title, 0) if page.title is not None else 0
    if page.title is not None and title_order > c.order:
        s -= BEFORE_TITLE_NEAR if title_order - c.order < BEFORE_TITLE_GAP else BEFORE_TITLE_FAR
    if c.dist_button is not None:
        s -= BUTTON_DISTANCE_WEIGHT * min(c.dist_button, DISTANCE_CAP)
    return s


TITLE_DISTANCE_WEIGHT = 0.45  # score lost per tree step from the title
BUTTON_DISTANCE_WEIGHT = 0.3  # score lost per tree step from the buy button
DISTANCE_CAP = 24  # steps beyond this cost no more
BEFORE_TITLE_GAP = 60  # elements: an amount this close before the title is a header price or a badge
BEFORE_TITLE_NEAR, BEFORE_TITLE_FAR = 1.0, 4.0  # lost by an amount shown before the title


# ---------------------------------------------------------------- availability from the page

_VARIANT_CONTEXT = re.compile(r"size|swatch|variant|option|dropdown|select|tooltip|color|colour|attribute|"
                              r"sku-|qty|quantity|pickup|delivery-?option|ship-?to-?store|fulfil|in-?store|"
                              r"dates?-?(?:avail|picker|select)|nodates|calendar|delivery-?date|zip|postcode|"
                              r"addon|add-on|upgrade|gift-?wrap|warranty|protection", re.I)


def stock_signals(region, page: Page, exclude_bad: bool = True) -> list:
    """(kind, element, is_button, text) for each stock phrase in a region of the pruned tree."""
    out = []
    if region is None:
        return out
    for e in _stock_elements(region, page):
        tag = e.tag.lower()
        t = page.short.get(e)
        texts = []
        if t is not None:
            parent = page.parent.get(e)
            if parent is not None and page.short.get(parent) == t:
                continue  # the same words, judged at the parent
            texts.append(t)
        elif e.text and e.text.strip():
            texts.append(norm(e.text)[:300])
        if tag == "input" and (e.get("type") or "").lower() in ("submit", "button"):
            texts.append(e.get("value") or "")
        for text in texts:
            kind = classify_phrase(text)
            if not kind:
                continue
            if _child_says_it(e, page):
                continue  # the words are judged at the child that holds them, with its own scope
            if exclude_bad and _in_bad_region(e, page, region):
                continue
            is_button = len(text) <= 40 and (_buttonish(e, page) or _holds_button(e, page, text))
            out.append((kind, e, is_button, text))
    return out


def _child_says_it(e, page: Page) -> bool:
    """Does a child of `e` hold stock wording of its own (so `e` only repeats it)?"""
    own = page.short.get(e)
    for c in e:
        if isinstance(c.tag, str):
            t = page.short.get(c)
            if not t:
                continue
            if t == own:
                return _child_says_it(c, page)  # the same words: look below the wrapper
            if classify_phrase(t):
                return True
    return False


_STOCK_WORDS = required_words(_av.BACKORDER_PHRASES + _av.INSTORE_ONLY_PHRASES + _av.OUT_OF_STOCK_PHRASES
                              + _av.PREORDER_PHRASES + _av.IN_STOCK_PHRASES)


def _stock_elements(region, page: Page):
    """The elements of `region` (document order) whose text could hold stock wording: those
    whose text pieces hold a stock word, their ancestors while the text stays short, and the
    submit inputs.  Every other element's text holds no stock word, so no stock phrase."""
    if page.index is None:
        return [e for e in region.iter() if isinstance(e.tag, str)]
    els = page._stock_els
    if els is None:
        index = page.index
        starts = [index.owners[i] for i in index.segments_with(_STOCK_WORDS)]
        pool = set(_with_ancestors(page, starts))
        pool.update(page.inputs)
        order = page.order
        els = sorted(pool, key=lambda x: order.get(x, -1))
        page._stock_els = els
    if region is page.root:
        return els
    # every element of the analysed subtree is inside a region that holds its root; only the
    # ones above that root (an ancestor whose text is still short) need their ancestors looked at
    root_inside = region in _anc_list(page.root, page)
    order = page.order
    return [e for e in els if (root_inside and e in order) or e is region or region in _anc_list(e, page)]


def _buttonish(e, page: Page) -> bool:
    x = e
    for _ in range(3):
        if x is None or not isinstance(x.tag, str):
            return False
        tag = x.tag.lower()
        if tag in ("button", "a") or (tag == "input" and (x.get("type") or "").lower() in ("submit", "button")):
            return True
        if _button_class(classes(x)) or x.get("role") == "button":
            return True
        x = page.parent.get(x)
    return False


_BUTTON_CLASS = re.compile(r"(?:^|[\s_-])(?:btn|button)(?:$|[\s_-])")


@functools.lru_cache(maxsize=8192)
def _button_class(cls: str) -> bool:
    return _BUTTON_CLASS.search(cls) is not None


@functools.lru_cache(maxsize=8192)
def _variant_context(cls: str) -> bool:
    return _VARIANT_CONTEXT.search(cls) is not None


def _holds_button(e, page: Page, text: str) -> bool:
    """Is this element's text the label of a button inside it (a form around its submit button,
    whose words are judged at the form)?"""
    for n, d in enumerate(e.iterdescendants()):
        if n > 40:
            return False
        if isinstance(d.tag, str) and page.short.get(d) == text and _buttonish(d, page):
            return True
    return False


_VARIANT_TAGS = frozenset({"option", "select", "label"})


def _up_to(e, page: Page, stop, is_region) -> bool:
    """Whether `e` or an ancestor below `stop` (at most 40 levels) is a region `is_region(tag,
    classes)` accepts. The title's own ancestors end the walk: what holds the title is the product."""
    x = e
    hops = 0
    while x is not None and x is not stop and hops < 40:
        if x in page.title_chain:
            return False
        if isinstance(x.tag, str) and is_region(x.tag.lower(), classes(x)):
            return True
        x = page.parent.get(x)
        hops += 1
    return False


def _variant_here(tag: str, cls) -> bool:
    return tag in _VARIANT_TAGS or bool(cls and _variant_context(cls))


def _in_bad_region(e, page: Page, stop) -> bool:
    """Inside navigation, header, footer, a recommendation region or a variant picker below `stop`."""
    return _up_to(e, page, stop, lambda tag, cls: (tag in _REGION_BAD_TAGS or _variant_here(tag, cls)
                                                    or bool(cls and _region_bad(cls))))


def variant_region(e, page: Page, stop) -> bool:
    """Inside a variant picker (sizes, swatches, options) below `stop`."""
    return _up_to(e, page, stop, _variant_here)


def in_bad_region(e, page: Page) -> bool:
    """Inside a recommendation carousel, navigation, header or footer."""
    x = page.parent.get(e)
    hops = 0
    while x is not None and hops < 40:
        if x in page.title_chain:
            return False
        if isinstance(x.tag, str):
            if x.tag.lower() in _REGION_BAD_TAGS:
                return True
            cls = classes(x)
            if cls and _region_bad(cls):
                return True
        x = page.parent.get(x)
        hops += 1
    return False


def amount_visible(amount: Decimal, page: Page) -> bool:
    return any(c.price.amount == amount for c in page.candidates)


def best(cands):
    if not cands:
        return None
    return max(cands, key=lambda c: (c.score, -c.order))


# ---------------------------------------------------------------- listing pages

MIN_GRID_CARDS = 4


def grid_cards(page: Page) -> tuple[int, set]:
    """Repeated price-bearing cards: (the most cards with a price in one grid, every card element).

    A card is the nearest ancestor of a price (up to six levels up) that has at least two
    siblings of the same tag and class: the tiles of a category, search or home page, or of a
    recommendation carousel on a product page.
    """
    sig_counts: dict = {}
    grids: dict = {}
    for c in page.candidates:
        if c.struck >= 4:
            continue
        x = c.el
        for _ in range(6):
            p = x.getparent()
            if p is None:
                break
            counts = sig_counts.get(p)
            if counts is None:
                counts = {}
                for k in p:
                    if isinstance(k.tag, str):
                        key = (k.tag, k.get("class"))
                        counts[key] = counts.get(key, 0) + 1
                sig_counts[p] = counts
            if counts.get((x.tag, x.get("class")), 0) >= 3:
                if x not in page.title_chain:  # the block holding the title is no tile
                    grids.setdefault(p, set()).add(x)
                break
            x = p
    most = 0
    cards: set = set()
    for tiles in grids.values():
        if len(tiles) >= MIN_GRID_CARDS:
            cards.update(tiles)
        most = max(most, len(tiles))
    return most, cards


def in_card(e, cards: set, page: Page) -> bool:
    if e in cards:
        return True
    return any(a in cards for a in _anc_list(e, page))


_NAV_HREF = re.compile(r"^\s*(?:#|javascript:|mailto:|tel:)", re.I)


def _path_of(url: str | None) -> str:
    """A URL's path without a trailing slash ("" when there is none)."""
    if not url:
        return ""
    try:
        return urlsplit(url.strip()).path.rstrip("/")
    except ValueError:
        return ""


def in_tile(e, page: Page) -> bool:
    """Does the element sit in a product tile: a small block that does not hold the page's title
    but holds a link to another page with an image or a name in it (a search result, a card)?"""
    x = e
    for i in range(6):
        if i:
            x = x.getparent()
        if x is None or x in page.title_chain or not isinstance(x.tag, str) or x.tag in ("body", "html", "main"):
            return False
        if next(x.iter("h1"), None) is not None or len(text_content(x, 600)) >= 600:
            return False  # a product's own block (its heading, its description), not a tile
        for n, a in enumerate(x.iter("a")):
            if n > 8:
                break
            href = a.get("href")
            if not href or _NAV_HREF.match(href) or (page.url_path and _path_of(href) == page.url_path):
                continue  # a link within this page, or to this page itself (a sample, a zoom, a variant)
            if next(a.iter("img"), None) is not None:
                return True
            words = norm(text_content(a, 200))
            if len(words) >= 12 and len(words.split()) >= 3 and not re.search(r"\d", words):
                return True
    return False


def find_title(root, structured_name, title_hint, anchor, h1s=None, h1_texts=None):
    """The product title element, chosen as analyse() chooses it (`h1s`: the root's headings,
    `h1_texts`: heading -> its text, when already known)."""
    return _find_title(root, structured_name, title_hint, anchor, h1s, h1_texts)


_BOX_WORDS = required_words(_av.BUY_PHRASES + _av.BACKORDER_PHRASES + _av.INSTORE_ONLY_PHRASES
                            + _av.OUT_OF_STOCK_PHRASES + _av.PREORDER_PHRASES + _av.IN_STOCK_PHRASES)


def has_buy_or_stock_words(text: str, el) -> bool:
    """Could this block be a buy box: a submit button, or buy or stock wording in its text?"""
    for b in el.iter("button", "input"):
        if b.tag == "button" or (b.get("type") or "").lower() in ("submit", "button", "image"):
            return True
    low = text.lower()
    return _BOX_WORDS is None or any(w in low for w in _BOX_WORDS)
