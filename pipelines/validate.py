"""Validate and normalise observations before anything is written.

A price that cannot be right is refused with a counted reason (stats key
``pricehound/dropped/<reason>``; the writer also adds it to ``crawl_runs.dropped``), never
stored: one bad read must not become a false "price drop" email. Only ``ok`` observations carry
prices; ``removed`` and ``failed`` pass through untouched.

A page read without a price never erases a known price: a sold-out page that hides its price
passes (the writer keeps the last known price and records the stock); any other read without
a price, where the listing had one, is refused as ``no_price``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from alerts.rules import DEFAULT_MAX_JUMP, price_seen_on_page
from spiders.extraction.prices import ISO_CODES, minor_unit
from spiders.items import OK, Observation
from spiders.targets import Target

CENT = Decimal("0.01")
MAX_PRICE = Decimal("9999999999.999")  # well inside the money columns (< 10^12); no shop price comes near
TITLE_MAX, SKU_MAX, URL_MAX = 500, 100, 2048
AVAILABILITIES = ("in_stock", "out_of_stock", "preorder", "unknown")
GTIN_RE = re.compile(r"^[0-9]{8,14}$")


class InvalidObservation(DropItem):
    """An observation refused by validation; ``reason`` is the counted key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def to_money(value: Any) -> Decimal | None:
    """A Decimal amount, or raise InvalidOperation for anything that is not a finite number."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidOperation(f"{value!r} is not a decimal amount")
    amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    if not amount.is_finite():
        raise InvalidOperation(f"{value!r} is not finite")
    return amount


def is_absurd_jump(old: Decimal, new: Decimal, max_jump: Decimal) -> bool:
    return old > 0 and new > 0 and (new > old * max_jump or new * max_jump < old)


def _clean_text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).replace("\x00", " ").split())
    return text[:limit] or None


def _code(currency: str | None, default_currency: str | None) -> str:
    return (currency or default_currency or "").strip().upper()


def places(currency: str | None) -> Decimal:
    """How finely an amount is stored: cents, or a currency's own mils (KWD, BHD, OMR: three
    places). Never coarser than cents, so a zero-decimal currency's odd amount is kept as read."""
    return min(minor_unit(currency), CENT)


def validate(obs: Observation, target: Target | None, *, default_currency: str | None,
             max_jump: Decimal, allow_free: bool = False) -> Observation:
    """Return the normalised observation or raise InvalidObservation.

    The absurd-jump rule: a price more than ``max_jump`` times (or under 1/``max_jump`` of) the
    listing's current price, in the same currency, is taken only when the visible page shows it
    (the writer then holds it for a second agreeing reading, as any large move). A reading of
    structured data alone is refused however often it repeats: an A/B layout whose JSON-LD says
    13 where the page says 12990 repeats itself every time, so repetition confirms nothing.
    The refused price is remembered on the listing (suspect_price) for ops.
    """
    if obs.kind != OK:
        return obs
    try:
        price = to_money(obs.price)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidObservation("not_numeric", str(exc)) from None
    availability = obs.availability if obs.availability in AVAILABILITIES else "unknown"
    if price is None and availability == "unknown":
        raise InvalidObservation("no_price_or_availability")
    if (price is None and availability != "out_of_stock" and target is not None
            and target.price is not None):
        # The page used to show a price and now, on sale, shows none: most likely the page (or
        # our reading of it) broke. Refused and counted, so ops see it; the price stays. A sold-
        # out page hiding its price is normal: it passes, and the writer keeps the last price.
        raise InvalidObservation("no_price", f"the listing's price was {target.price} {target.currency}")
    currency = None
    if price is not None:
        if price < 0:
            raise InvalidObservation("negative_price", str(price))
        price = price.quantize(places(_code(obs.currency, default_currency)), rounding=ROUND_HALF_UP)
        if price == 0 and not allow_free:
            raise InvalidObservation("zero_price")
        if price > MAX_PRICE:
            raise InvalidObservation("price_out_of_range", str(price))
        currency = _code(obs.currency, default_currency)
        if currency not in ISO_CODES:
            raise InvalidObservation("bad_currency", repr(obs.currency))
        if (target is not None and target.price is not None and target.currency == currency
                and is_absurd_jump(target.price, price, max_jump)
                and not price_seen_on_page(obs.source, getattr(obs, "rules", None))):
            raise InvalidObservation("absurd_jump", f"{target.price} -> {price} {currency}")
    regular = None
    try:
        regular = to_money(obs.regular_price)
    except (InvalidOperation, ValueError):
        regular = None
    if regular is not None:
        regular = regular.quantize(places(currency), rounding=ROUND_HALF_UP)
        if price is None or regular <= price or regular > MAX_PRICE:
            regular = None
    gtin = obs.gtin.strip() if isinstance(obs.gtin, str) else None
    image = _clean_text(obs.image_url, URL_MAX)
    obs.price, obs.currency, obs.regular_price, obs.availability = price, currency, regular, availability
    obs.title = _clean_text(obs.title, TITLE_MAX)
    obs.sku = _clean_text(obs.sku, SKU_MAX)
    obs.gtin = gtin if gtin and GTIN_RE.match(gtin) else None
    obs.image_url = image if image and image.startswith(("http://", "https://")) else None
    return obs


class ValidatePipeline:
    """Scrapy pipeline around :func:`validate`; counts every refusal in the crawl stats."""

    def __init__(self, crawler: Crawler, max_jump: Decimal, allow_free: bool):
        self.crawler = crawler
        self.max_jump = max_jump
        self.allow_free = allow_free

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        s = crawler.settings
        max_jump = Decimal(str(s.get("PRICEHOUND_MAX_JUMP", DEFAULT_MAX_JUMP)))
        if max_jump <= 1:
            raise NotConfigured("PRICEHOUND_MAX_JUMP must be greater than 1")
        return cls(crawler, max_jump, s.getbool("PRICEHOUND_ALLOW_FREE", False))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Observation):
            return item
        spider = self.crawler.spider
        run = getattr(spider, "run", None)
        target = run.target(item.listing_id) if run is not None else None
        store = getattr(spider, "store", None)
        hints = getattr(store, "extraction_hints", None) or {}
        try:
            return validate(item, target, default_currency=getattr(store, "default_currency", None),
                            max_jump=self.max_jump, allow_free=self.allow_free or bool(hints.get("free_items")))
        except InvalidObservation as exc:
            self.crawler.stats.inc_value(f"pricehound/dropped/{exc.reason}")
            raise
