"""Availability: typed stock evidence from the buy box, then small named rules in order.

The evidence is read once per page (`read_evidence`): what structured data says (and whether it
is the variant the URL selects), the buy buttons beside the product (enabled or not), and every
stock statement near it as a `StockSignal` with its scope and polarity.  `decide` runs the
rules in order; the first that answers gives the value and its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import visible
from . import vocabulary as V
from .availability import map_availability
from .dom import classes, text_content

OUT_KINDS = frozenset({"out_of_stock", "backorder", "instore_only"})

# scope of a stock statement
PRODUCT, VARIANT, OTHER, SITE = "product", "variant", "other", "site"


@dataclass(frozen=True)
class StockSignal:
    """One stock statement on the page: what it says (`kind`, as availability.classify_phrase
    names it), where it is, and whom it is about."""

    kind: str
    element: object
    is_button: bool
    text: str
    scope: str  # product | variant | other | site
    distance: int  # tree steps to the nearest of title, price and buy button
    in_box: bool  # inside the buy box (the block around title, price and button)

    @property
    def out(self) -> bool:
        return self.kind in OUT_KINDS


@dataclass(frozen=True)
class StockEvidence:
    """Everything availability is decided on."""

    selector: str  # what the store's configured selector says ("unknown" when none)
    structured: str  # what structured data says
    variant_selected: bool  # structured data's answer is the variant the URL selects
    signals: tuple[StockSignal, ...]  # the product's own statements, near the buy box
    far: tuple[StockSignal, ...]  # the product's statements a little further away
    buy_buttons: int  # enabled buy buttons beside the product
    disabled_buttons: int  # buy buttons beside it that cannot be pressed

    def kinds(self) -> set[str]:
        return {s.kind for s in self.signals}

    def button_kinds(self) -> set[str]:
        return {s.kind for s in self.signals if s.is_button}


_DISABLED_CLASS = re.compile(V.DISABLED_CLASS, re.I)


def disabled(button) -> bool:
    """A buy control that cannot be pressed: disabled, aria-disabled or classed so."""
    x = button
    for _ in range(2):
        if x is None or not isinstance(x.tag, str):
            return False
        if x.get("disabled") is not None or (x.get("aria-disabled") or "").lower() == "true":
            return True
        if _DISABLED_CLASS.search(classes(x)):
            return True
        x = x.getparent()
        if x is None or x.tag.lower() not in ("div", "span", "form", "p", "li"):
            return False
    return False


def _main_buttons(page, anchors) -> list:
    """The buy buttons of the product itself: the nearest to its title or price (not in a
    carousel, header or footer)."""
    buttons = [b for b in page.buttons if not visible.in_bad_region(b, page)]
    if not anchors:
        return buttons if len(buttons) == 1 else []
    near = sorted(((min(visible.distance(b, a, page) or 99 for a in anchors), b) for b in buttons),
                  key=lambda x: x[0])
    if not near or near[0][0] > V.BUTTON_NEAR_ANCHOR:
        return []
    return [b for d, b in near if d <= near[0][0] + 2]


def buy_box(anchors, page):
    """The block around the product's title, price and button, widened a few levels while it
    stays the product's (not the page with its banners and carousels)."""
    box = visible.lca(anchors, page)
    if box is None:
        return None
    for _ in range(V.BUY_BOX_LEVELS):
        up = page.parent.get(box)
        if up is None or not isinstance(up.tag, str) or up.tag.lower() in ("body", "html"):
            break
        if len(text_content(up, V.BUY_BOX_CHARS)) >= V.BUY_BOX_CHARS:
            break
        box = up
    return box


def _scope(sig_kind: str, el, chosen_el, page, region) -> str:
    if sig_kind == "variant_out_of_stock":
        return VARIANT
    if visible._in_bad_region(el, page, region):
        return VARIANT if visible.variant_region(el, page, region) else SITE
    if chosen_el is not None and _other_option(el, chosen_el, page):
        return OTHER
    return PRODUCT


def _other_option(sig_el, price_el, page) -> bool:
    """Is a stock line in another row of an options table or list (another condition, format or
    seller) than the row holding the price?"""
    x = sig_el
    for _ in range(8):
        if x is None:
            return False
        if isinstance(x.tag, str) and x.tag.lower() in ("tr", "li", "dd"):
            y = price_el
            while y is not None:
                if y is x:
                    return False
                y = page.parent.get(y)
            return True
        x = page.parent.get(x)
    return False


def _signal_region(anchors, page):
    """Where stock wording is looked for: a few levels around the title, price and button."""
    scope = visible.lca(anchors, page)
    if scope is None:
        return page.root
    for _ in range(6):
        p = page.parent.get(scope)
        if p is None:
            break
        scope = p
    return scope


def read_evidence(page, structured: tuple[str, bool], chosen, picked_availability: str | None) -> StockEvidence:
    """One reading of the page's stock evidence around the product."""
    anchors = [x for x in (page.title, chosen.el if chosen is not None else None) if x is not None]
    buttons = _main_buttons(page, anchors)
    anchors = anchors + buttons[:1]
    near: list[StockSignal] = []
    far: list[StockSignal] = []
    if anchors:
        region = _signal_region(anchors, page)
        box = buy_box(anchors, page)
        chosen_el = chosen.el if chosen is not None else None
        for kind, el, is_button, text in visible.stock_signals(region, page, exclude_bad=False):
            d = min((visible.distance(el, a, page) or 99) for a in anchors)
            if d > V.FAR_BUY_BOX:
                continue
            in_box = box is not None and (el is box or box in visible.ancestors(el, page))
            sig = StockSignal(kind, el, is_button, text, _scope(kind, el, chosen_el, page, region), d, in_box)
            if sig.scope != PRODUCT:
                continue
            (near if d <= V.NEAR_BUY_BOX and (in_box or is_button) else far).append(sig)
    enabled = [b for b in buttons if not disabled(b)]
    return StockEvidence(
        selector=map_availability(picked_availability) if picked_availability else "unknown",
        structured=structured[0], variant_selected=structured[1], signals=tuple(near), far=tuple(far),
        buy_buttons=len(enabled), disabled_buttons=len(buttons) - len(enabled),
    )


# ---------------------------------------------------------------- the rules, in order

Rule = Callable[[StockEvidence], "str | None"]


def store_selector(ev: StockEvidence) -> str | None:
    """The store's own configured selector says it."""
    return ev.selector if ev.selector != "unknown" else None


def backorder_or_in_store_only(ev: StockEvidence) -> str | None:
    """"Ships when available" or "in store only": it cannot be ordered online now."""
    return "out_of_stock" if ev.kinds() & {"backorder", "instore_only"} else None


def preorder_button(ev: StockEvidence) -> str | None:
    """The buy button itself says pre-order."""
    return "preorder" if "preorder" in ev.button_kinds() else None


def buy_button_and_structured_in_stock(ev: StockEvidence) -> str | None:
    """Sold-out wording, but an enabled buy button and structured data agree it is in stock
    (the wording is about something else the page shows)."""
    if "out_of_stock" in ev.kinds() and ev.buy_buttons and ev.structured == "in_stock":
        return "in_stock"
    return None


def sold_out_wording(ev: StockEvidence) -> str | None:
    """The buy box says sold out (whatever structured data says)."""
    return "out_of_stock" if "out_of_stock" in ev.kinds() else None


def structured_preorder(ev: StockEvidence) -> str | None:
    """Structured data says pre-order."""
    return "preorder" if ev.structured == "preorder" else None


def preorder_wording(ev: StockEvidence) -> str | None:
    """The buy box says pre-order and structured data says nothing."""
    return "preorder" if "preorder" in ev.kinds() and ev.structured == "unknown" else None


def structured_out_confirmed(ev: StockEvidence) -> str | None:
    """Structured data says out of stock and wording near the product agrees."""
    if ev.structured == "out_of_stock" and any(s.out for s in ev.far):
        return "out_of_stock"
    return None


def buy_button_over_structured_out(ev: StockEvidence) -> str | None:
    """Structured data says out of stock, but an enabled buy button is shown (structured data
    goes stale; the button is what a buyer can press). Not for the variant the URL selects."""
    if ev.structured == "out_of_stock" and ev.buy_buttons and not ev.variant_selected:
        return "in_stock"
    return None


def structured_out(ev: StockEvidence) -> str | None:
    """Structured data says out of stock and nothing visible says otherwise."""
    return "out_of_stock" if ev.structured == "out_of_stock" else None


def structured_in(ev: StockEvidence) -> str | None:
    """Structured data says in stock."""
    return "in_stock" if ev.structured == "in_stock" else None


def in_stock_wording_or_buy_button(ev: StockEvidence) -> str | None:
    """In-stock wording or a buy button beside the product (a saved page often shows the button
    disabled until a size is picked, so a disabled one counts here, and only here)."""
    return "in_stock" if "in_stock" in ev.kinds() or ev.buy_buttons or ev.disabled_buttons else None


RULES: tuple[tuple[str, Rule], ...] = (
    ("availability.store_selector", store_selector),
    ("availability.backorder_or_in_store_only", backorder_or_in_store_only),
    ("availability.preorder_button", preorder_button),
    ("availability.buy_button_and_structured_in_stock", buy_button_and_structured_in_stock),
    ("availability.sold_out_wording", sold_out_wording),
    ("availability.structured_preorder", structured_preorder),
    ("availability.preorder_wording", preorder_wording),
    ("availability.structured_out_confirmed", structured_out_confirmed),
    ("availability.buy_button_over_structured_out", buy_button_over_structured_out),
    ("availability.structured_out", structured_out),
    ("availability.structured_in", structured_in),
    ("availability.in_stock_wording_or_buy_button", in_stock_wording_or_buy_button),
)


def decide(ev: StockEvidence) -> tuple[str, str]:
    """(availability, the name of the rule that decided it); "unknown" when nothing says."""
    for name, rule in RULES:
        value = rule(ev)
        if value is not None:
            return value, name
    return "unknown", "availability.no_signal"
