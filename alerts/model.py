"""What pricehound promises to tell, as a small pure-Python model of the rules.

This is the place to read what an alert means. The crawl writer (pipelines/flush.py) and the
alert evaluator (alerts/evaluate.py) implement the same rules in set-based SQL; a property test
(tests/truth/test_model.py) feeds both the same generated histories and requires that they owe
exactly the same notifications.

One listing, one watch, readings in time order. A reading is:

    ok       a product page: price (or none shown), currency, availability (unknown included),
             and whether the visible page shows the price (or only structured data does)
    removed  evidence that the product is gone (404/410, a redirect to the home or a listing,
             a page saying so)
    failed   anything else: nothing is learnt about the product

The rules, in order:

1. Validation. A reading with neither price nor stock is refused; so is one hiding the price on
   a page that still sells the item. A price beyond ``max_jump`` times (or under 1/max_jump) of
   the current one is taken only when the visible page shows it.
2. Gone only on evidence, in a row. ``removed_after`` removed readings in a row make the listing
   gone; any other reading (a failure included) starts the count again.
3. Unknown is an answer, not a state. Stock changes compare with the last availability a page
   stated, so in -> unknown -> out is a sell-out and out -> unknown -> in is a return.
4. Confirmation. A stock flip, a return from gone, a currency change, and a price move beyond
   ``confirm_share`` are held until the next product reading agrees exactly (failures in
   between keep the held reading; a different reading replaces it).
5. What is told:
   - sold_out / back_in_stock on a stock change (a return from gone in stock is back_in_stock);
     the back-in-stock email says when the price is below the last price it had in stock;
   - removed when the listing becomes gone;
   - sale news only on a drop of an item one can buy (active, last stated stock not out of
     stock), and not when the same reading brought it back (the back-in-stock email tells it,
     if the watch takes back-in-stock news): target_reached when the drop crosses the target,
     else price_drop when at least min_drop_percent, else new_low when below every price in
     force in the watch's window (30 or 90 days), counting the price already in force when
     the window opened;
   - price_rise on a rise, for watches that asked;
   - cheapest_store, for a product watch that asked (``cheapest_store_change``): a change of any
     listing of the product that changes which store is the strictly cheapest one selling it now
     (active, last stated stock in stock or preorder) among the watch's stores, in the change's
     currency, to a store. No store is cheapest while it cannot be bought; a tie for the lowest
     price is no cheapest store, so ties are no change; a store becoming the cheapest because the
     cheaper one sold out or went is news. Sale news of the listing itself (target, drop, new
     low) comes first; cheapest_store comes before the listing's own price_rise, stock and
     removed news.
6. Cool-down. A kind is told to a watch once per cool-down, except that a sale kind telling a
   price at least min_drop_percent below the last one told (and below it) is told again.
   Flapping back to a told price stays quiet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from alerts.rules import (
    AVAILABLE,
    DEFAULT_CONFIRM_SHARE,
    DEFAULT_MAX_JUMP,
    OUT_OF_STOCK,
    SALE_KINDS,
    UNKNOWN,
)
from pricehound.kinds import DEFAULT_NOTIFY

OK, REMOVED, FAILED = "ok", "removed", "failed"


@dataclass(frozen=True)
class Reading:
    kind: str
    at: datetime
    price: Decimal | None = None
    currency: str | None = None
    availability: str = UNKNOWN
    seen: bool = True  # the visible page shows the price (False: structured data alone)


@dataclass(frozen=True)
class Watch:
    notify: frozenset[str] = frozenset(DEFAULT_NOTIFY)
    target: Decimal | None = None
    min_drop_percent: Decimal = Decimal(0)
    new_low_days: int = 30


@dataclass(frozen=True)
class Alert:
    kind: str
    event: str  # the change that owed it
    price: Decimal | None = None
    cheaper_than: Decimal | None = None  # back in stock below the last in-stock price


@dataclass
class _Told:
    at: datetime
    price: Decimal | None
    rearm: Decimal | None


@dataclass
class Listing:
    """The model's state of one listing and its one watch."""

    watch: Watch = field(default_factory=Watch)
    cooldown: timedelta = timedelta(hours=6)
    removed_after: int = 2
    confirm: bool = True
    confirm_share: Decimal = DEFAULT_CONFIRM_SHARE
    max_jump: Decimal = DEFAULT_MAX_JUMP
    price: Decimal | None = None
    currency: str | None = None
    availability: str | None = None  # None: never read
    known: str | None = None  # the last availability a page stated
    gone: bool = False
    removed_count: int = 0
    pending: tuple | None = None
    history: list[tuple[datetime, Decimal | None, str | None, str]] = field(default_factory=list)
    told: dict[str, _Told] = field(default_factory=dict)

    # -- the crawl side ---------------------------------------------------------------------

    def refused(self, r: Reading) -> bool:
        """Rule 1: validation."""
        if r.price is None and r.availability == UNKNOWN:
            return True
        if r.price is None and r.availability != OUT_OF_STOCK and self.price is not None:
            return True
        if (r.price is not None and self.price is not None and r.currency == self.currency and not r.seen
                and self.price > 0 and (r.price > self.price * self.max_jump or r.price * self.max_jump < self.price)):
            return True
        return False

    def _needs_confirmation(self, price, currency, availability) -> bool:
        flip = ((self.known in AVAILABLE and availability == OUT_OF_STOCK)
                or (self.known == OUT_OF_STOCK and availability in AVAILABLE))
        big = (self.price is not None and price is not None
               and (currency != self.currency or abs(price - self.price) > self.price * self.confirm_share))
        return self.confirm and (self.gone or flip or big)

    def observe(self, r: Reading) -> list[str]:
        """Apply one reading; return the changes (events) it makes, in the writer's order."""
        if r.kind == FAILED or (r.kind == OK and self.refused(r)):
            self.removed_count = 0  # rule 2: not gone in a row
            return []
        if r.kind == REMOVED:
            self.removed_count += 1
            if not self.gone and self.removed_count >= self.removed_after:
                self.gone = True
                return ["removed"]
            return []
        self.removed_count = 0
        price = r.price if r.price is not None else self.price
        currency = r.currency if r.price is not None else self.currency
        reading = (price, currency, r.availability)
        if self.availability is None:  # the first reading: nothing changed, unless it returns
            events = ["reappeared"] if self.gone else []
            self.gone = False
            self._apply(r.at, *reading, changed=True)
            return events
        if self._needs_confirmation(*reading) and self.pending != reading:
            self.pending = reading  # rule 4: held until the next reading agrees
            return []
        self.pending = None
        changed = (self.price, self.currency, self.availability) != reading
        events = []
        if changed and self.price is not None and price is not None and currency == self.currency:
            if price < self.price:
                events.append("price_drop")
            elif price > self.price:
                events.append("price_rise")
        if changed and self.known in AVAILABLE and r.availability == OUT_OF_STOCK:
            events.append("sold_out")
        if changed and self.known == OUT_OF_STOCK and r.availability in AVAILABLE:
            events.append("back_in_stock")
        if self.gone:
            events.append("reappeared")
        self.gone = False
        self._apply(r.at, *reading, changed=changed)
        return events

    def _apply(self, at, price, currency, availability, *, changed: bool) -> None:
        if changed:
            self.history.append((at, price, currency, availability))
        self.price, self.currency, self.availability = price, currency, availability
        if availability != UNKNOWN:
            self.known = availability

    # -- the alert side ---------------------------------------------------------------------

    def step(self, r: Reading) -> list[Alert]:
        """One reading: the alerts it owes this watch, after judging and the cool-down."""
        old_price, old_known = self.price, self.known
        history_before = list(self.history)
        events = self.observe(r)
        owed: dict[str, Alert] = {}
        for event in events:
            alert = self._judge(event, old_price, old_known, events, history_before, r.at)
            if alert is not None:
                owed.setdefault(alert.kind, alert)
        return [a for a in owed.values() if self._claim(a, r.at)]

    def _judge(self, event, old_price, old_known, events, history, at) -> Alert | None:
        w = self.watch
        new = self.price
        if event == "price_drop":
            returned = "back_in_stock" in events or "reappeared" in events
            if self.gone or self.known == OUT_OF_STOCK or (returned and "back_in_stock" in w.notify):
                return None
            if "sale" in w.notify and w.target is not None and old_price > w.target >= new:
                return Alert("target_reached", event, new)
            if "sale" in w.notify and old_price > 0 and (old_price - new) * 100 >= w.min_drop_percent * old_price:
                return Alert("price_drop", event, new)
            if "new_low" in w.notify and new < self._lowest_in_force(history, at):
                return Alert("new_low", event, new)
            return None
        if event == "price_rise":
            return Alert("price_rise", event, new) if "price_rise" in w.notify else None
        if event == "sold_out":
            return Alert("sold_out", event) if "sold_out" in w.notify else None
        if event in ("back_in_stock", "reappeared"):
            if "back_in_stock" not in w.notify or self.availability not in AVAILABLE:
                return None
            if event == "back_in_stock" and old_known != OUT_OF_STOCK:
                return None
            was = next((p for (t, p, c, a) in reversed(history)
                        if a in AVAILABLE and c == self.currency and p is not None), None)
            cheaper = was if (was is not None and new is not None and new < was) else None
            return Alert("back_in_stock", event, new, cheaper)
        if event == "removed":
            return Alert("removed", event) if "removed" in w.notify else None
        return None

    def _lowest_in_force(self, history, at) -> Decimal:
        """The lowest price in force in the window before ``at`` (same currency), or +inf."""
        start = at - timedelta(days=self.watch.new_low_days)
        inside = [h for h in history if start <= h[0] < at]
        before = [h for h in history if h[0] < start][-1:]
        prices = [p for (_t, p, c, _a) in before + inside if p is not None and c == self.currency]
        return min(prices) if prices else Decimal("Infinity")

    def _claim(self, alert: Alert, at: datetime) -> bool:
        """Rule 6: the cool-down, re-armed for a sale kind by a deeper drop."""
        told = self.told.get(alert.kind)
        sale = alert.kind in SALE_KINDS
        price = alert.price if sale else None
        deeper = (sale and told is not None and told.price is not None and price is not None
                  and price < told.price and price <= told.rearm)
        if told is not None and told.at > at - self.cooldown and not deeper:
            return False
        rearm = price * (100 - self.watch.min_drop_percent) / 100 if price is not None else None
        self.told[alert.kind] = _Told(at, price, rearm)
        return True


# -- cheapest_store: one product at several stores ---------------------------------------------


@dataclass(frozen=True)
class Offer:
    """One listing of a product as the cheapest_store rule sees it."""

    store: int
    price: Decimal | None
    currency: str | None
    known: str | None  # the last availability a page stated
    active: bool = True

    @property
    def buyable(self) -> bool:
        return self.active and self.known in AVAILABLE and self.price is not None


def strictly_cheapest(offers: list[Offer], currency: str) -> tuple[int, Decimal] | None:
    """(store, price) of the one store selling cheapest now in this currency, or None (no store
    can be bought, or two stores tie for the lowest price)."""
    best: dict[int, Decimal] = {}
    for o in offers:
        if o.buyable and o.currency == currency:
            best[o.store] = min(best.get(o.store, o.price), o.price)
    if not best:
        return None
    ranked = sorted(best.items(), key=lambda kv: kv[1])
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return ranked[0]


def cheapest_store_change(before: list[Offer], after: list[Offer], currency: str) -> tuple[int, Decimal] | None:
    """The cheapest_store news one change owes: the new strictly cheapest (store, price) when it
    is a store and another than before, else None."""
    now = strictly_cheapest(after, currency)
    was = strictly_cheapest(before, currency)
    if now is None or (was is not None and was[0] == now[0]):
        return None
    return now
