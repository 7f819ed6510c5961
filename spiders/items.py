"""The one item every spider yields: an observation of one listing, whatever happened to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from pricehound import clock

OK, REMOVED, FAILED = "ok", "removed", "failed"
KINDS = (OK, REMOVED, FAILED)


def utcnow() -> datetime:
    """When an observation was made: the one clock's time (pricehound/clock.py)."""
    return clock.now()


@dataclass
class Observation:
    """What one crawl saw at one listing's URL.

    ``kind`` is ``ok`` (a product page was read), ``removed`` (404/410, or the page is no
    longer a product) or ``failed`` (nothing trustworthy came back; ``reason`` says why). Only
    ``ok`` carries price and stock; a failure never says anything about the product.
    """

    listing_id: int
    url: str
    kind: str
    reason: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    regular_price: Decimal | None = None
    availability: str = "unknown"
    title: str | None = None
    sku: str | None = None
    gtin: str | None = None
    brand: str | None = None
    mpn: str | None = None
    image_url: str | None = None
    source: str | None = None
    status_code: int | None = None
    final_url: str | None = None
    observed_at: datetime = field(default_factory=utcnow)
    # field ("price", "availability", "page_kind") -> the name of the extraction rule that
    # decided it, so what a user is told can say where it came from; empty when nothing was read
    rules: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"observation kind must be one of {KINDS}, got {self.kind!r}")
