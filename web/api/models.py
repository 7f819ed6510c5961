"""Request and response bodies of the JSON API. Money travels as a decimal string ("19.99")
with its ISO currency beside it, never as a float."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from pricehound.catalog import control_character
from pricehound.kinds import DEFAULT_NOTIFY, NOTIFY_KINDS
from web.watchdata import HistoryPoint, ListRow, WatchRow


def _no_control(value: str) -> str:
    """NUL and other control characters are refused (422), never sent to PostgreSQL."""
    if control_character(value) is not None:
        raise ValueError("must not contain control characters")
    return value


Text = AfterValidator(_no_control)
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254), Text]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048), Text]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Text]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, examples=["49.99"])]
Percent = Annotated[Decimal, Field(ge=0, le=100, examples=["10"])]
NotifyKinds = Annotated[list[Annotated[str, StringConstraints(max_length=32), Text]], Field(min_length=1, max_length=len(NOTIFY_KINDS),
                                         examples=[list(DEFAULT_NOTIFY)])]
ListName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Text]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupIn(Strict):
    email: Email
    name: Name | None = None


class LoginIn(Strict):
    email: Email


class SessionIn(Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096), Text] = Field(
        description="the token from a sign-in link (/login?token=...)")


class Accepted(BaseModel):
    status: str = "accepted"
    message: str


class UserOut(BaseModel):
    id: int
    email: str
    name: str | None


Slug = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=63), Text]
Gtin = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32), Text]
StoreSlugs = Annotated[list[Slug], Field(max_length=50)]  # named here: WatchIn has a field called "list"


class WatchIn(Strict):
    url: Url | None = Field(None, description="a product page to watch; or watch a product by product or gtin")
    product: Name | None = Field(None, description="a product by name or '#ID' (a name no product has makes one)")
    gtin: Gtin | None = Field(None, description="a product by GTIN/EAN/UPC/ISBN")
    stores: StoreSlugs | None = Field(None, description="store slugs for a product watch; omitted: any store")
    target_price: Money | None = None
    min_drop_percent: Percent | None = None
    notify: NotifyKinds | None = None
    list: ListName | None = Field(None, description="shopping list name (default: Watching)")

    @model_validator(mode="after")
    def _one_thing_to_watch(self) -> WatchIn:
        if self.url is None and not self.product and not self.gtin:
            raise ValueError("say what to watch: url, or product / gtin (with stores)")
        if self.url is not None and (self.product or self.gtin or self.stores is not None):
            raise ValueError("url watches one page; product, gtin and stores watch a product: send one of them")
        return self


class WatchPatch(Strict):
    target_price: Money | None = Field(None, description="null clears the target")
    min_drop_percent: Percent | None = None
    notify: NotifyKinds | None = None
    active: bool | None = Field(None, description="false pauses the watch's emails, true resumes them")


class StoreStatusOut(BaseModel):
    store: str
    listing_id: int | None
    price: Decimal | None
    currency: str | None
    availability: str | None
    go_url: str | None = Field(description="/go/{listing}: opens the store's page")
    status: str = Field(description="found, or 'not found at <store> yet' while discovery looks for it")


class ProductOut(BaseModel):
    id: int
    name: str
    brand: str | None
    category: str | None
    mpn: str | None
    image_url: str | None
    gtins: list[str]
    listings: int


class OfferOut(BaseModel):
    listing_id: int
    store: str
    store_name: str
    go_url: str
    title: str | None
    price: Decimal | None
    currency: str | None
    availability: str
    lowest_90d: Decimal | None
    observed_at: datetime | None
    converted_price: Decimal | None = Field(description="the price in the comparison's currency")
    cheapest: bool
    link_method: str | None
    link_confidence: float | None


class ProductDetailOut(ProductOut):
    currency: str | None = Field(description="the currency prices are compared in")
    note: str | None = Field(description="what could not be compared and why (e.g. no exchange rate loaded)")
    cheapest: OfferOut | None = Field(description="the strictly cheapest offer one can buy now; null on a tie")
    offers: list[OfferOut]


class WatchOut(BaseModel):
    id: int
    list_id: int
    list_name: str
    url: str | None
    title: str | None
    store: str | None
    target_price: Decimal | None
    min_drop_percent: Decimal
    notify: list[str]
    active: bool
    price: Decimal | None
    currency: str | None
    regular_price: Decimal | None
    availability: str = Field(description="in_stock, out_of_stock, preorder, unknown, or gone when the store no "
                                          "longer lists the item (listing_status removed)")
    observed_at: datetime | None
    lowest_90d: Decimal | None
    listing_status: str | None
    created_at: datetime
    updated_at: datetime
    product_id: int | None = Field(None, description="the product a product watch follows")
    stores: list[StoreStatusOut] | None = Field(
        None, description="a product watch's stores side by side (its price is the best in-stock offer)")

    @classmethod
    def of(cls, row: WatchRow, stores: list[StoreStatusOut] | None = None) -> WatchOut:
        return cls.model_construct(**{name: getattr(row, name) for name in cls.model_fields if name != "stores"},
                                   stores=stores)


class WatchPage(BaseModel):
    watches: list[WatchOut]
    next_after: int | None = Field(description="pass as ?after= for the next page; null on the last page")


class HistoryPointOut(BaseModel):
    observed_at: datetime
    price: Decimal | None
    currency: str | None
    regular_price: Decimal | None
    availability: str

    @classmethod
    def of(cls, point: HistoryPoint) -> HistoryPointOut:
        return cls.model_construct(**{name: getattr(point, name) for name in cls.model_fields})


class HistoryOut(BaseModel):
    watch_id: int
    listing_id: int | None
    days: int
    points: list[HistoryPointOut]


class ListIn(Strict):
    name: ListName


class ListOut(BaseModel):
    id: int
    name: str
    watches: int
    created_at: datetime

    @classmethod
    def of(cls, row: ListRow) -> ListOut:
        return cls.model_construct(id=row.id, name=row.name, watches=row.watches, created_at=row.created_at)


class PartnerWatchIn(WatchIn):
    url: Url  # partners watch product pages
    email: Email
    name: Name | None = None


class PartnerWatchOut(BaseModel):
    id: int
    url: str
    store: str
    active: bool = Field(False, description="always false: the user confirms the watch by email first")
    message: str


class Health(BaseModel):
    status: str
    database: str
    redis: str
