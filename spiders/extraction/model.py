"""The value objects the extraction chain returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

AVAILABILITIES = ("in_stock", "out_of_stock", "preorder", "unknown")
SOURCES = ("json-ld", "microdata", "rdfa", "meta", "shopify", "selectors", "visible")
PAGE_KINDS = ("product", "not_product", "challenge")


@dataclass(frozen=True)
class Price:
    """An amount of money: a Decimal (never a float) and an ISO 4217 code when known."""

    amount: Decimal
    currency: str | None = None


@dataclass(frozen=True)
class Extraction:
    """What pricehound read from one product page."""

    name: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    availability: str = "unknown"
    regular_price: Decimal | None = None
    sku: str | None = None
    gtin: str | None = None
    image_url: str | None = None
    source: str | None = None
    page_kind: str = "not_product"
    # Why the chain decided as it did (for debugging and the quality bench); not part of to_json.
    notes: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "price": _dec(self.price),
            "currency": self.currency,
            "availability": self.availability,
            "regular_price": _dec(self.regular_price),
            "sku": self.sku,
            "gtin": self.gtin,
            "source": self.source,
        }

    def as_dict(self) -> dict:
        d = asdict(self)
        d["price"] = _dec(self.price)
        d["regular_price"] = _dec(self.regular_price)
        d["notes"] = list(self.notes)
        return d


def _dec(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value, "f")
