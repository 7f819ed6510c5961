"""Request and response bodies of the JSON API. Money travels as a decimal string ("19.99")
with its ISO currency beside it, never as a float."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

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


class WatchIn(Strict):
    url: Url
    target_price: Money | None = None
    min_drop_percent: Percent | None = None
    notify: NotifyKinds | None = None
    list: ListName | None = Field(None, description="shopping list name (default: Watching)")


class WatchPatch(Strict):
    target_price: Money | None = Field(None, description="null clears the target")
    min_drop_percent: Percent | None = None
    notify: NotifyKinds | None = None
    active: bool | None = Field(None, description="false pauses the watch's emails, true resumes them")


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

    @classmethod
    def of(cls, row: WatchRow) -> WatchOut:
        return cls.model_construct(**{name: getattr(row, name) for name in cls.model_fields})


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
