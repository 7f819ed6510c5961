"""A signed-in user's alert channels (webhooks, Apprise URLs, email routing) and noise settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, Field, StringConstraints

from alerts import channels, noise
from alerts.outbox import ALERT_KINDS
from web.api.models import Strict, Text
from web.deps import MAX_ID, CurrentUser, app_state, enforce
from web.ratelimit import Limit

router = APIRouter(tags=["channels"])

# a test message makes a network call to the user's endpoint: a few per user and ten minutes
CHANNEL_TESTS = Limit("channel-test", 10, 600)

ChannelId = Annotated[int, Path(ge=1, le=MAX_ID)]
Kinds = Annotated[list[Annotated[str, StringConstraints(max_length=32), Text]],
                  Field(max_length=len(ALERT_KINDS), examples=[["price_drop", "target_reached", "sold_out"]])]


class ChannelIn(Strict):
    kind: Literal["webhook", "apprise", "email"]
    target: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048), Text] | None = Field(
        None, description="webhook URL (https://...) or Apprise URL (ntfy://ntfy.sh/topic, tgram://...); none for email")
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Text] | None = None
    alert_kinds: Kinds | None = Field(None, description="alert kinds routed here (default: all; [] pauses it)")


class ChannelOut(BaseModel):
    id: int
    kind: str
    label: str | None
    target: str = Field(description="the target with credentials masked")
    alert_kinds: list[str]
    status: str = Field(description="unverified, testing (code sent), verified (alerts flow) or disabled")
    verified_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, c: channels.Channel) -> ChannelOut:
        return cls(id=c.id, kind=c.kind, label=c.label, target=c.shown_target(), alert_kinds=list(c.alert_kinds),
                   status=c.status, verified_at=c.verified_at, consecutive_failures=c.consecutive_failures,
                   last_error=c.last_error, created_at=c.created_at)


class ChannelCreated(BaseModel):
    channel: ChannelOut
    secret: str | None = Field(description="a webhook's signing secret, shown only now")


class TestOut(BaseModel):
    channel: ChannelOut
    delivered: bool
    needs_code: bool = Field(description="true: enter the code the test message carried (POST .../confirm)")
    error: str | None


class ConfirmIn(Strict):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12), Text]


class RoutingIn(Strict):
    alert_kinds: Kinds


class NoiseIO(BaseModel):
    time_zone: Annotated[str, StringConstraints(max_length=64), Text] | None = Field(None, examples=["Europe/Berlin"])
    quiet_hours: Annotated[str, StringConstraints(max_length=16), Text] | None = Field(
        None, description="HH:MM-HH:MM in your zone, or null for none", examples=["22:00-07:00"])
    daily_cap: int | None = Field(None, ge=1, le=1000, description="alerts told at once per day; null: no cap")
    digest: Literal["immediate", "hourly", "daily", "weekly"] | None = None
    digest_hour: int | None = Field(None, ge=0, le=23)


def _kinds(value: list[str] | None) -> list[str] | str | None:
    if value is None:
        return None
    return value or "none"


@router.get("/v1/channels", response_model=list[ChannelOut], summary="Your alert channels")
def list_(request: Request, user: CurrentUser) -> list[ChannelOut]:
    with app_state(request).engine.connect() as conn:
        return [ChannelOut.of(c) for c in channels.list_channels(conn, user.user_id)]


@router.post("/v1/channels", status_code=status.HTTP_201_CREATED, response_model=ChannelCreated,
             summary="Add a channel (alerts flow once its test message verified it)",
             responses={422: {"description": "the target is refused (private address, unknown service...)"}})
def create(body: ChannelIn, request: Request, user: CurrentUser) -> ChannelCreated:
    state = app_state(request)
    with state.engine.begin() as conn:
        channel, secret = channels.add_channel(conn, user.user_id, body.kind, body.target, label=body.label,
                                               alert_kinds=_kinds(body.alert_kinds), settings=state.settings)
    return ChannelCreated(channel=ChannelOut.of(channel), secret=secret)


@router.post("/v1/channels/{channel_id}/test", response_model=TestOut, summary="Send the channel its test message",
             responses={422: {"description": "no such channel"}, 429: {"description": "too many tests"}})
def test(channel_id: ChannelId, request: Request, user: CurrentUser) -> TestOut:
    state = app_state(request)
    with state.engine.connect() as conn:
        channels.get_channel(conn, user.user_id, channel_id)
    enforce(state, CHANNEL_TESTS, str(user.user_id))
    result = channels.send_test(state.engine, user.user_id, channel_id, settings=state.settings)
    return TestOut(channel=ChannelOut.of(result.channel), delivered=result.delivered, needs_code=result.needs_code,
                   error=result.error)


@router.post("/v1/channels/{channel_id}/confirm", response_model=ChannelOut,
             summary="Confirm a channel with the code its test message carried")
def confirm(channel_id: ChannelId, body: ConfirmIn, request: Request, user: CurrentUser) -> ChannelOut:
    with app_state(request).engine.begin() as conn:
        return ChannelOut.of(channels.confirm(conn, user.user_id, channel_id, body.code))


@router.put("/v1/channels/{channel_id}/routing", response_model=ChannelOut,
            summary="Choose which alert kinds go to a channel")
def routing(channel_id: ChannelId, body: RoutingIn, request: Request, user: CurrentUser) -> ChannelOut:
    with app_state(request).engine.begin() as conn:
        return ChannelOut.of(channels.route(conn, user.user_id, channel_id, _kinds(body.alert_kinds) or "none"))


@router.delete("/v1/channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a channel")
def remove(channel_id: ChannelId, request: Request, user: CurrentUser) -> None:
    with app_state(request).engine.begin() as conn:
        channels.remove_channel(conn, user.user_id, channel_id)


@router.get("/v1/noise", response_model=NoiseIO, summary="Your time zone, quiet hours, daily cap and digest schedule")
def get_noise(request: Request, user: CurrentUser) -> NoiseIO:
    with app_state(request).engine.connect() as conn:
        return NoiseIO(**noise.describe(noise.get_prefs(conn, user.user_id)))


@router.put("/v1/noise", response_model=NoiseIO, summary="Change when you hear from pricehound",
            description="Fields left out stay as they are; quiet_hours and daily_cap take null to clear them.")
def put_noise(body: NoiseIO, request: Request, user: CurrentUser) -> NoiseIO:
    given = body.model_fields_set
    with app_state(request).engine.begin() as conn:
        prefs = noise.set_prefs(
            conn, user.user_id, time_zone=body.time_zone,
            quiet=(body.quiet_hours or "off") if "quiet_hours" in given else None,
            daily_cap=body.daily_cap if "daily_cap" in given else "keep",
            digest=body.digest, digest_hour=body.digest_hour)
    return NoiseIO(**noise.describe(prefs))
