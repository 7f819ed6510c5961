"""The price a buyer pays: price evidence from structured data and the visible page, then small
named rules in order.  The first rule that answers decides; its name goes on the Extraction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .model import Price


@dataclass(frozen=True)
class StructuredPrice:
    """The first priced offer structured data gives (the URL's variant first)."""

    amount: Decimal
    source: str  # json-ld | microdata | rdfa | meta | script
    currency: str | None
    offer: object
    url_selected: bool  # the offer of the variant the URL selects
    stale: bool  # its priceValidUntil has passed


@dataclass
class PriceEvidence:
    """Everything the price is decided on."""

    selector: Price | None  # what the store's configured price selector reads
    primary: StructuredPrice | None
    structured: dict[Decimal, str] = field(default_factory=dict)  # every structured amount -> its source
    best: object = None  # the best visible candidate (visible.Candidate)
    strong: bool = False  # the best candidate stands on its own beside the title or button
    clean: list = field(default_factory=list)  # candidates showing the structured price cleanly
    prominent: list = field(default_factory=list)  # ... of them, beside the title or button
    seen_anywhere: bool = False  # the structured price appears anywhere on the page
    score_margin: float = 4.0  # a clean structured match this close to the best visible one is shown


@dataclass(frozen=True)
class PriceChoice:
    amount: Decimal | None
    source: str | None
    candidate: object = None  # the visible candidate showing it, when one does
    currency: str | None = None  # a currency the rule itself knows (selector, structured offer)
    note: str | None = None


Rule = Callable[[PriceEvidence], "PriceChoice | None"]


def _top(cands):
    return max(cands, key=lambda c: c.score) if cands else None


def _structured(ev: PriceEvidence, candidate=None, note: str | None = None) -> PriceChoice:
    p = ev.primary
    return PriceChoice(p.amount, p.source, candidate, p.currency, note)


def store_selector(ev: PriceEvidence) -> PriceChoice | None:
    """The store's configured selector reads a price: it is the price."""
    if ev.selector is None:
        return None
    return PriceChoice(ev.selector.amount, ev.structured.get(ev.selector.amount, "selectors"), None,
                       ev.selector.currency, "selector price")


def url_selected_variant(ev: PriceEvidence) -> PriceChoice | None:
    """The URL selects a variant: its own price, whatever the default variant shows."""
    if ev.primary is None or not ev.primary.url_selected:
        return None
    return _structured(ev, _top(ev.clean))


def structured_is_best_visible(ev: PriceEvidence) -> PriceChoice | None:
    """The structured price is the best price the page shows."""
    if ev.primary is None or ev.best is None or ev.best.price.amount != ev.primary.amount:
        return None
    return _structured(ev, ev.best)


def structured_in_buy_box(ev: PriceEvidence) -> PriceChoice | None:
    """The structured price is shown beside the title or button: no other amount overrides it."""
    if ev.primary is None or not ev.prominent:
        return None
    return _structured(ev, _top(ev.prominent), f"{ev.primary.source} price shown in the buy box")


def structured_shown(ev: PriceEvidence) -> PriceChoice | None:
    """The structured price is shown cleanly, about as prominently as the best visible amount."""
    if ev.primary is None or not ev.clean:
        return None
    if ev.strong and ev.clean[0].score < ev.best.score - ev.score_margin:
        return None
    return _structured(ev, _top(ev.clean))


def structured_alternative_shown(ev: PriceEvidence) -> PriceChoice | None:
    """The best visible price is another amount structured data also gives (another offer)."""
    if ev.primary is None or not ev.strong or ev.best.price.amount not in ev.structured:
        return None
    amount = ev.best.price.amount
    return PriceChoice(amount, ev.structured[amount], ev.best, None,
                       "structured alternative matches the visible price")


def visible_over_structured(ev: PriceEvidence) -> PriceChoice | None:
    """A strong visible price, and the structured price is not shown as the price: what a buyer
    sees wins."""
    if ev.primary is None or not ev.strong or (ev.seen_anywhere and ev.clean):
        return None
    return PriceChoice(ev.best.price.amount, "visible", ev.best, None,
                       f"visible {ev.best.price.amount} over {ev.primary.source} {ev.primary.amount}")


def stale_structured_offer(ev: PriceEvidence) -> PriceChoice | None:
    """An expired structured offer that the page does not show: no price at all."""
    if ev.primary is None or not ev.primary.stale or ev.seen_anywhere:
        return None
    return PriceChoice(None, None, None, None, "stale structured offer with no visible counterpart")


def structured_unseen(ev: PriceEvidence) -> PriceChoice | None:
    """Structured data gives a price and nothing visible contradicts it."""
    return _structured(ev) if ev.primary is not None else None


def visible_beside_title(ev: PriceEvidence) -> PriceChoice | None:
    """No structured price: the visible price beside the title or button."""
    if not ev.strong:
        return None
    return PriceChoice(ev.best.price.amount, "visible", ev.best)


RULES: tuple[tuple[str, Rule], ...] = (
    ("price.store_selector", store_selector),
    ("price.url_selected_variant", url_selected_variant),
    ("price.structured_is_best_visible", structured_is_best_visible),
    ("price.structured_in_buy_box", structured_in_buy_box),
    ("price.structured_shown", structured_shown),
    ("price.structured_alternative_shown", structured_alternative_shown),
    ("price.visible_over_structured", visible_over_structured),
    ("price.stale_structured_offer", stale_structured_offer),
    ("price.structured_unseen", structured_unseen),
    ("price.visible_beside_title", visible_beside_title),
)

NONE = PriceChoice(None, None)


def decide(ev: PriceEvidence) -> tuple[PriceChoice, str]:
    """(the choice, the name of the rule that made it)."""
    for name, rule in RULES:
        got = rule(ev)
        if got is not None:
            return got, name
    return NONE, "price.none"
