"""Availability: schema.org ItemAvailability values and visible stock phrases -> one of
in_stock | out_of_stock | preorder | unknown.

Conventions (they follow how a buyer reads the page, and the realpages labels):
- InStoreOnly -> out_of_stock: pricehound watches online listings, and an item that can only be
  bought in a physical store cannot be ordered from the page (labels: "available in store only"
  counts as out_of_stock).
- BackOrder -> out_of_stock: it cannot ship now ("we'll ship when it's available").
- MadeToOrder -> in_stock: it can be ordered now.
- Reserved -> out_of_stock: someone else holds it.
- LimitedAvailability, OnlineOnly -> in_stock.
- PreOrder, PreSale -> preorder.
"unknown" is a first-class answer: nothing here guesses in_stock without a signal.
"""

from __future__ import annotations

import functools
import re

from . import vocabulary as V

IN_STOCK, OUT_OF_STOCK, PREORDER, UNKNOWN = "in_stock", "out_of_stock", "preorder", "unknown"

SCHEMA_VALUES = {
    "instock": IN_STOCK,
    "instoreonly": OUT_OF_STOCK,
    "limitedavailability": IN_STOCK,
    "onlineonly": IN_STOCK,
    "outofstock": OUT_OF_STOCK,
    "soldout": OUT_OF_STOCK,
    "discontinued": OUT_OF_STOCK,
    "preorder": PREORDER,
    "presale": PREORDER,
    "backorder": OUT_OF_STOCK,
    "madetoorder": IN_STOCK,
    "reserved": OUT_OF_STOCK,
    # common non-schema spellings (og:availability, platform feeds)
    "oos": OUT_OF_STOCK,
    "available": IN_STOCK,
    "availablefororder": IN_STOCK,
    "instockonline": IN_STOCK,
    "unavailable": OUT_OF_STOCK,
    "notavailable": OUT_OF_STOCK,
    "pending": PREORDER,
}

_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?schema\.org/|^schema:|^(?:https?://)?(?:www\.)?purl\.org/goodrelations/v1#", re.I)

# Visible phrases (most specific first) live in vocabulary.py with every other word list.
BACKORDER_PHRASES = V.BACKORDER_PHRASES
INSTORE_ONLY_PHRASES = V.INSTORE_ONLY_PHRASES
OUT_OF_STOCK_PHRASES = V.OUT_OF_STOCK_PHRASES
PREORDER_PHRASES = V.PREORDER_PHRASES
IN_STOCK_PHRASES = V.IN_STOCK_PHRASES
BUY_PHRASES = V.BUY_PHRASES

_BACKORDER_RE = re.compile("|".join(BACKORDER_PHRASES), re.I)
_INSTORE_RE = re.compile("|".join(INSTORE_ONLY_PHRASES), re.I)
_OOS_RE = re.compile("|".join(OUT_OF_STOCK_PHRASES), re.I)
_PRE_RE = re.compile("|".join(PREORDER_PHRASES), re.I)
_IN_RE = re.compile("|".join(IN_STOCK_PHRASES), re.I)
BUY_RE = re.compile("|".join(BUY_PHRASES), re.I)
_ANY_RE = re.compile("|".join(BACKORDER_PHRASES + INSTORE_ONLY_PHRASES + OUT_OF_STOCK_PHRASES
                              + PREORDER_PHRASES + IN_STOCK_PHRASES), re.I)
_NEGATED_OUT_RE = re.compile("|".join(V.NEGATED_OUT_OF_STOCK), re.I)
_BOAST_RE = re.compile("|".join(V.STOCK_BOASTS), re.I)
_VARIANT_OUT_RE = re.compile("|".join(V.VARIANT_SCOPED_OUT), re.I)
_NOTIFY_RE = re.compile("|".join(V.NOTIFY_WHEN_BACK), re.I)
_SERVICE_RE = re.compile("|".join(V.STOCK_SERVICE_NAMES), re.I)
# Text about store pickup or delivery to a place says nothing about the online offer.
_PICKUP_RE = re.compile(r"pick[- ]?up|in[- ]store pickup|at (?:your|a) store|near you|abholung|retrait", re.I)


# Generic words that mean "not available" only in a short status line, not inside a sentence.
_WEAK_OOS = re.compile(r"^(?:(?:plus|non|pas) disponible|no disponible|not available|nicht (?:mehr )?verfügbar|"
                       r"is unavailable|indisponible|non disponibile|unavailable)$", re.I)


def _stock_groups():
    from .keywords import word_groups

    return word_groups(BACKORDER_PHRASES + INSTORE_ONLY_PHRASES + OUT_OF_STOCK_PHRASES
                       + PREORDER_PHRASES + IN_STOCK_PHRASES, re.I)


# Every stock phrase needs some word (lower case); a text holding none of them cannot match, and
# one holding some is tried only against the phrases that need those words.  The same answer as
# _ANY_RE.search, without running the whole case-insensitive alternation over every text.
_STOCK_GROUPS = _stock_groups()
STOCK_WORDS = tuple(_STOCK_GROUPS) if _STOCK_GROUPS is not None else None


def _any_stock_phrase(t: str) -> bool:
    if _STOCK_GROUPS is None:
        return _ANY_RE.search(t) is not None
    low = t.lower()
    for w, rx in _STOCK_GROUPS.items():
        if w in low and rx.search(t):
            return True
    return False


def classify_phrase(text: str | None) -> str | None:
    """What a short visible text says about stock: a kind or None.

    Kinds: "backorder", "instore_only", "out_of_stock", "preorder", "in_stock".
    """
    if not text:
        return None
    if len(text) > 600:
        return None
    return _classify(str(text))


@functools.lru_cache(maxsize=8192)
def _classify(text: str) -> str | None:
    # the same stock and button wording comes back on every page of a store
    t = " ".join(text.split())
    if not t or len(t) > 300:
        return None
    if not _any_stock_phrase(t):
        return None
    if _SERVICE_RE.search(t):
        return None  # "out-of-stock alerts by email": the name of a service, no statement
    if _NEGATED_OUT_RE.search(t) or (_BOAST_RE.search(t) and not _NOTIFY_RE.search(t)):
        return "in_stock"  # "not sold out", "sells out fast", "back in stock!": it can be bought
    if _BACKORDER_RE.search(t):
        return "backorder"
    if _INSTORE_RE.search(t):
        return "instore_only"
    m = _OOS_RE.search(t)
    if m:
        if _PICKUP_RE.search(t):
            return None
        if len(t) > 80 and _WEAK_OOS.match(m.group(0)) and not any(
                _WEAK_OOS.match(x.group(0)) is None for x in _OOS_RE.finditer(t)):
            return None  # "... not available for ..." inside a long sentence
        if _VARIANT_OUT_RE.search(t):
            return "variant_out_of_stock"  # "M – sold out", "Sold out in Red": one variant, not the product
        return "out_of_stock"
    if _PRE_RE.search(t):
        return "preorder"
    if _IN_RE.search(t):
        if _PICKUP_RE.search(t):
            return None
        return "in_stock"
    return None


KIND_TO_AVAILABILITY = {
    "variant_out_of_stock": UNKNOWN,
    "backorder": OUT_OF_STOCK,
    "instore_only": OUT_OF_STOCK,
    "out_of_stock": OUT_OF_STOCK,
    "preorder": PREORDER,
    "in_stock": IN_STOCK,
}


def map_availability(value) -> str:
    """A schema.org ItemAvailability (any prefix, any case) or a visible stock phrase -> availability."""
    if isinstance(value, (list, tuple)):
        # the first value that says something, looked for without recursion and within bounds
        stack = [iter(value)]
        seen = 0
        while stack:
            v = next(stack[-1], _END)
            if v is _END:
                stack.pop()
                continue
            seen += 1
            if seen > MAX_VALUES:
                break
            if isinstance(v, (list, tuple)):
                if len(stack) < MAX_DEPTH:
                    stack.append(iter(v))
                continue
            got = _map_one(v)
            if got != UNKNOWN:
                return got
        return UNKNOWN
    return _map_one(value)


MAX_DEPTH = 8  # nested lists looked into (schema.org values are flat; deeper is garbage)
MAX_VALUES = 1000
_END = object()


def _map_one(value) -> str:
    if value is None or isinstance(value, (bool, int, float, list, tuple)):
        return UNKNOWN
    text = str(value).strip()
    if not text:
        return UNKNOWN
    key = _PREFIX.sub("", text)
    key = re.sub(r"[\s_\-]", "", key).lower()
    if key in SCHEMA_VALUES:
        return SCHEMA_VALUES[key]
    if key in ("in_stock", "out_of_stock", "preorder", "unknown"):
        return key
    if len(text) > 80:
        return UNKNOWN  # a help text, not an availability
    kind = classify_phrase(text)
    return KIND_TO_AVAILABILITY.get(kind, UNKNOWN) if kind else UNKNOWN
