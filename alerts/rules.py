"""The words and thresholds of pricehound's truth rules, in one place.

The rules themselves are stated once, readably, in ``alerts/model.py``; the writer's and the
evaluator's SQL implement them and are tested against that model. This module holds what both
sides (and validation) share: names, defaults and the evidence vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pricehound.kinds import SALE_KINDS

__all__ = ["SALE_KINDS"]  # re-exported with the rest of the vocabulary

IN_STOCK, OUT_OF_STOCK, PREORDER, UNKNOWN = "in_stock", "out_of_stock", "preorder", "unknown"
AVAILABLE = (IN_STOCK, PREORDER)  # a buyer can order it now (or ahead)

# Alert kinds that tell about a price (SALE_KINDS, from pricehound/kinds.py): never sent while the
# item is out of stock or gone, and re-armed inside the cool-down by a deeper drop.
NEW_LOW_WINDOWS = (30, 90)  # days; a watch picks one

# Defaults (configuration overrides them: pricehound/config.py).
#  - confirmation share 30%: ordinary sales are 10-25% and reach users on the first reading;
#    moves beyond a third are rare enough that one more reading costs little, and they are the
#    moves a misread (a per-unit price, a bundle, a variant) produces.
#  - max jump 20x: no real repricing moves a price twenty-fold; a reading that far off is a
#    unit or layout error (cents for units, a zero-decimal currency read as two decimals), so it
#    is taken only when the buyer can see it on the page.
#  - store sanity: a run of at least 5 listings in which half of them turn gone, sold out,
#    unreadable, or move price beyond 3x, at once. On a healthy store a crawl sees a few percent
#    of its listings change stock and almost none vanish; half at once is a store-wide event
#    (maintenance, a wall, a broken deploy, a currency or layout switch), not news. Under 5
#    listings a run says too little about the store: each listing's own confirmation guards it.
DEFAULT_CONFIRM_SHARE = Decimal("0.30")
DEFAULT_MAX_JUMP = Decimal("20")
DEFAULT_SANITY_MIN_PAGES = 5
DEFAULT_SANITY_SHARE = Decimal("0.5")
DEFAULT_SANITY_FACTOR = Decimal("3")

# Evidence: the extraction rules that found the price where a buyer sees it. A price found only
# in structured data (JSON-LD, microdata, a platform endpoint) is not one of these.
VISIBLE_PRICE_RULES = frozenset({
    "price.structured_is_best_visible", "price.structured_in_buy_box", "price.structured_shown",
    "price.structured_alternative_shown", "price.visible_over_structured", "price.visible_beside_title",
    "price.store_selector",
})
VISIBLE_SOURCES = frozenset({"visible", "selectors"})


def price_rule(rules: Any) -> str | None:
    """The name of the rule that decided the price, from a {field: rule} map or a list of names."""
    if isinstance(rules, Mapping):
        value = rules.get("price")
        return str(value) if value else None
    if isinstance(rules, (list, tuple)):
        return next((str(r) for r in rules if str(r).startswith("price.")), None)
    return None


def price_seen_on_page(source: str | None, rules: Any) -> bool:
    """Whether the reading's price is one the visible page shows (not structured data alone)."""
    rule = price_rule(rules)
    if rule is not None:
        return rule in VISIBLE_PRICE_RULES
    return source in VISIBLE_SOURCES


# Honest deals: the reference price of the EU Omnibus directive (Directive (EU) 2019/2161, which
# added art. 6a to Directive 98/6/EC): a price reduction is announced against the lowest price
# the seller charged in the 30 days before it. Shops show a "was" (struck-through, list, RRP)
# price of their choosing; a buyer is told whether the new price really is that 30-day low and
# whether the "was" price was ever charged in the window. Prices charged: observations that were
# in stock (or pre-order), or whose stock the page did not state; a sold-out price sells nothing.
OMNIBUS_DAYS = 30
OMNIBUS_LOWEST = "omnibus.lowest_in_30_days"
OMNIBUS_NOT_LOWEST = "omnibus.not_lowest_in_30_days"
OMNIBUS_NO_HISTORY = "omnibus.no_price_in_30_days"
OMNIBUS_WAS_NEVER_CHARGED = "omnibus.was_never_charged"
OMNIBUS_WORDS = {
    OMNIBUS_LOWEST: "The lowest price of the 30 days before this sale.",
    # history that begins inside the window: say how far back the claim reaches
    OMNIBUS_LOWEST + ".since": "The lowest price since we began tracking it on {since} (less than 30 days).",
    OMNIBUS_NOT_LOWEST: "Not the lowest of 30 days (lowest was {lowest} on {on}).",
    OMNIBUS_NO_HISTORY: "No price was charged in the 30 days before this sale, so none to compare with.",
    OMNIBUS_WAS_NEVER_CHARGED: "The shop's \"was\" price of {was} was never charged in the 30 days before this sale.",
}
