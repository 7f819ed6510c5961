"""Honest deals: what a sale alert says about the EU Omnibus reference price.

The evaluator stores the facts in the notification's payload, set-based, when it creates the
row (``prior_low``, ``prior_low_at``, ``prior_since``, ``was_price``, ``was_charged``: see
``alerts/evaluate.py``). This module judges them into named rules with their words from
``alerts/rules.py``, so every channel (email HTML and text, webhook, Apprise) says the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from alerts import rules
from alerts.render import money


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _day(value: datetime | date) -> str:
    """A calendar date in UTC (the timezone of all stored times), e.g. 2026-11-20."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d")


def notes(kind: str, new_price: Any, currency: str | None, payload: Mapping[str, Any] | None,
          occurred_at: datetime | None) -> list[dict[str, str]]:
    """The Omnibus notes of one alert: ``[{"rule": name, "text": words}]``, empty for kinds that
    announce no sale or rows evaluated before these facts were stored."""
    payload = payload or {}
    if kind not in rules.SALE_KINDS or new_price is None or ("prior_low" not in payload and "prior_none" not in payload):
        return []
    new = Decimal(str(new_price))
    out: list[dict[str, str]] = []
    low = payload.get("prior_low")
    if low is None:
        out.append({"rule": rules.OMNIBUS_NO_HISTORY, "text": rules.OMNIBUS_WORDS[rules.OMNIBUS_NO_HISTORY]})
    else:
        lowest = Decimal(str(low))
        if new <= lowest:
            since = _when(payload.get("prior_since"))
            partial = (since is not None and occurred_at is not None
                       and since > occurred_at - timedelta(days=rules.OMNIBUS_DAYS))
            words = (rules.OMNIBUS_WORDS[rules.OMNIBUS_LOWEST + ".since"].format(since=_day(since)) if partial
                     else rules.OMNIBUS_WORDS[rules.OMNIBUS_LOWEST])
            out.append({"rule": rules.OMNIBUS_LOWEST, "text": words})
        else:
            on = _when(payload.get("prior_low_at"))
            out.append({"rule": rules.OMNIBUS_NOT_LOWEST, "text": rules.OMNIBUS_WORDS[rules.OMNIBUS_NOT_LOWEST].format(
                lowest=money(lowest, currency), on=_day(on) if on else "an earlier day")})
    was = payload.get("was_price")
    if was is not None and not payload.get("was_charged"):
        out.append({"rule": rules.OMNIBUS_WAS_NEVER_CHARGED,
                    "text": rules.OMNIBUS_WORDS[rules.OMNIBUS_WAS_NEVER_CHARGED].format(was=money(was, currency))})
    return out
