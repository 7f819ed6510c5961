"""The value objects the extraction chain returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

AVAILABILITIES = ("in_stock", "out_of_stock", "preorder", "unknown")
SOURCES = ("json-ld", "microdata", "rdfa", "meta", "script", "shopify", "woocommerce", "magento", "selectors",
           "visible")

# What the page is:
# - product: a product detail page (the price and stock read from it are the listing's);
# - gone: the page says positively that this product is not here: a "not found" or "no longer
#   available" page for this URL, or a listing, search or home page served in its place;
# - challenge: a bot check or captcha stands between the crawler and the page;
# - unrecognised: anything else that is not the product (maintenance, a queue, a wall, an error
#   body, an empty app shell, or simply no product evidence). Never a removal: a failure to read.
PAGE_KINDS = ("product", "gone", "challenge", "unrecognised")

# Why a page is not a product, by kind: short stable words (crawl stats and observations use them).
PAGE_REASONS = {
    "product": (),
    "gone": ("not_found", "no_longer_available", "listing"),
    "challenge": ("captcha", "bot_check"),
    "unrecognised": ("maintenance", "queue", "geo_block", "login_wall", "age_gate", "rate_limited",
                     "error_page", "app_shell", "consent_wall", "no_product_evidence", "unreadable"),
}
DEFAULT_REASON = {"gone": "not_found", "challenge": "bot_check", "unrecognised": "no_product_evidence"}


@dataclass(frozen=True)
class Price:
    """An amount of money: a Decimal (never a float) and an ISO 4217 code when known."""

    amount: Decimal
    currency: str | None = None


@dataclass(frozen=True)
class Extraction:
    """What pricehound read from one page.

    ``rules`` names, per field ("price", "availability", "page_kind", ...), the rule that decided
    it, so that what a user is told can say where it came from.
    """

    name: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    availability: str = "unknown"
    regular_price: Decimal | None = None
    sku: str | None = None
    gtin: str | None = None
    brand: str | None = None
    mpn: str | None = None
    image_url: str | None = None
    source: str | None = None
    page_kind: str = "unrecognised"
    page_reason: str | None = None
    rules: dict[str, str] = field(default_factory=dict, hash=False)
    # Why the chain decided as it did (for debugging and the quality bench); not part of to_json.
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.page_kind not in PAGE_KINDS:
            raise ValueError(f"page_kind must be one of {PAGE_KINDS}, got {self.page_kind!r}")
        if self.page_kind == "product":
            reason = None
        else:
            reason = self.page_reason or DEFAULT_REASON[self.page_kind]
        object.__setattr__(self, "page_reason", reason)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "price": _dec(self.price),
            "currency": self.currency,
            "availability": self.availability,
            "regular_price": _dec(self.regular_price),
            "sku": self.sku,
            "gtin": self.gtin,
            "brand": self.brand,
            "mpn": self.mpn,
            "source": self.source,
            "page_kind": self.page_kind,
            "page_reason": self.page_reason,
            "rules": dict(self.rules),
        }

    def as_dict(self) -> dict:
        d = asdict(self)
        d["price"] = _dec(self.price)
        d["regular_price"] = _dec(self.regular_price)
        d["notes"] = list(self.notes)
        return d


def not_a_product(kind: str, reason: str, rule: str, notes: tuple[str, ...] = ()) -> Extraction:
    """The reading of a page that is not the product: no price, no stock, the kind and why."""
    return Extraction(page_kind=kind, page_reason=reason, rules={"page_kind": rule}, notes=notes)


def _dec(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value, "f")
