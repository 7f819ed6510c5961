"""One product at every store: each store's current price, availability and 90-day low, and the
cheapest store where it can be bought now.

Prices in other currencies are converted with the rates the operator loaded (pricehound/rates.py);
without a rate, an offer in another currency is shown but not compared, and the comparison says
so. A converted price is never stored: it is worked out when asked, from the price as the store
states it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alerts.rules import AVAILABLE
from pricehound import rates as fx


@dataclass
class Offer:
    listing_id: int
    store: str
    store_name: str
    url: str
    title: str | None
    price: Decimal | None
    currency: str | None
    availability: str
    lowest_90d: Decimal | None
    observed_at: Any
    link_method: str | None
    link_confidence: Decimal | None
    converted_price: Decimal | None = None  # in the comparison's currency; None when not comparable
    cheapest: bool = False

    def as_json(self) -> dict[str, Any]:
        money = (lambda v: None if v is None else format(v, "f"))  # noqa: E731 - local formatter
        return {"listing_id": self.listing_id, "store": self.store, "store_name": self.store_name,
                "go_url": f"/go/{self.listing_id}", "title": self.title, "price": money(self.price),
                "currency": self.currency, "availability": self.availability, "lowest_90d": money(self.lowest_90d),
                "observed_at": self.observed_at.isoformat() if self.observed_at else None,
                "converted_price": money(self.converted_price), "cheapest": self.cheapest,
                "link_method": self.link_method,
                "link_confidence": None if self.link_confidence is None else float(self.link_confidence)}


@dataclass
class Comparison:
    product_id: int
    currency: str | None
    offers: list[Offer] = field(default_factory=list)
    cheapest: Offer | None = None
    note: str | None = None  # what could not be compared, and why

    def as_json(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "currency": self.currency, "note": self.note,
                "cheapest": None if self.cheapest is None else self.cheapest.as_json(),
                "offers": [o.as_json() for o in self.offers]}


_OFFERS = sa.text("""
    SELECT l.id AS listing_id, s.slug AS store, s.name AS store_name, l.url, l.title, sp.price, sp.currency,
           coalesce(sp.availability, 'unknown') AS availability, lp.lowest_90d, sp.observed_at,
           l.link_method, l.link_confidence
      FROM store_listings l
      JOIN stores s ON s.id = l.store_id
      LEFT JOIN store_prices sp ON sp.listing_id = l.id
      LEFT JOIN listing_lowest_prices lp ON lp.listing_id = l.id
     WHERE l.product_id = :p AND l.status = 'active'
       AND (CAST(:stores AS bigint[]) IS NULL OR l.store_id = ANY (CAST(:stores AS bigint[])))
     ORDER BY s.slug, l.id
""")


def compare(conn: Connection, product_id: int, *, currency: str | None = None,
            store_ids: list[int] | None = None) -> Comparison:
    """Each store's offer of the product and the strictly cheapest one that can be bought now.

    The comparison's currency is ``currency``, else the one most offers are in. Ties for the
    lowest price name no single cheapest store."""
    offers = [Offer(**dict(r._mapping)) for r in conn.execute(_OFFERS, {"p": product_id, "stores": store_ids})]
    result = Comparison(product_id=product_id, currency=currency, offers=offers)
    priced = [o for o in offers if o.price is not None and o.currency]
    if not priced:
        return result
    base = currency or Counter(o.currency for o in priced).most_common(1)[0][0]
    result.currency = base
    others = sorted({o.currency for o in priced} - {base})
    table = fx.latest(conn) if others else {}
    missing = set()
    for o in priced:
        o.converted_price = fx.convert(o.price, o.currency, base, table)
        if o.converted_price is None:
            missing.add(o.currency)
    if missing:
        result.note = (f"prices in {', '.join(sorted(missing))} are not compared with {base}: no exchange rate "
                       f"loaded (pricehound rates load FILE)")
    elif others:
        result.note = f"prices in {', '.join(others)} converted to {base} with the loaded exchange rates"
    buyable = [o for o in priced if o.converted_price is not None and o.availability in AVAILABLE]
    if buyable:
        low = min(o.converted_price for o in buyable)
        best = [o for o in buyable if o.converted_price == low]
        if len(best) == 1:
            best[0].cheapest = True
            result.cheapest = best[0]
    return result
