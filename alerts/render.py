"""Jinja2 templates -> subject, text and HTML for one email.

Each kind has ``templates/<kind>/{subject.txt,body.txt,body.html}``. For an alert kind the
bodies render one change (a *section*); ``layout.txt``/``layout.html`` wrap one or more
sections with the greeting and the manage/unsubscribe footer, so a batch of alerts for one user
is one email with one section per change (subject from ``digest/subject.txt``). HTML templates
are autoescaped; text templates are not (they are never parsed as HTML, and the MIME layer
makes header values safe).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from pricehound.currencies import minor_unit

TEMPLATES = Path(__file__).resolve().parent / "templates"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "INR": "₹"}


def money(amount: Decimal | str | None, currency: str | None) -> str:
    """'$1,299.00', '€9.50', 'CHF 12.00': exact from Decimal, never through float."""
    if amount is None:
        return "—"
    value = Decimal(str(amount))
    code = (currency or "").strip().upper()
    text = f"{value.quantize(minor_unit(code), rounding=ROUND_HALF_UP):,}"
    symbol = SYMBOLS.get(code)
    return f"{symbol}{text}" if symbol else f"{code} {text}".strip()


def percent_change(old: Decimal | None, new: Decimal | None) -> Decimal | None:
    """Absolute percent change, one decimal place; None when it cannot be said."""
    if old is None or new is None or Decimal(old) == 0:
        return None
    change = abs(Decimal(new) - Decimal(old)) * 100 / Decimal(old)
    return change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


AVAILABILITY_WORDS = {"in_stock": "in stock", "out_of_stock": "sold out", "preorder": "available to pre-order",
                      "unknown": "unknown"}


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["money"] = lambda amount, currency: money(amount, currency)
    env.filters["availability"] = lambda value: AVAILABILITY_WORDS.get(value or "unknown", "unknown")
    return env


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context).strip()


def _plain_subject(subject: str) -> str:
    """A subject without direction controls: a product title's right-to-left override must not
    reorder what the reader sees (the MIME layer drops them from every header as well)."""
    from alerts.mime import strip_direction_controls

    return strip_direction_controls(subject)


def render_alerts(alerts: list[dict[str, Any]], common: dict[str, Any]) -> Rendered:
    """One email for one user's alerts (one or several sections)."""
    if not alerts:
        raise ValueError("nothing to render")
    text_sections = [_render(f"{a['kind']}/body.txt", a=a, **common) for a in alerts]
    html_sections = [Markup(_render(f"{a['kind']}/body.html", a=a, **common)) for a in alerts]
    if len(alerts) == 1:
        subject = _render(f"{alerts[0]['kind']}/subject.txt", a=alerts[0], **common)
    else:
        subject = _render("digest/subject.txt", alerts=alerts, **common)
    subject = _plain_subject(subject)
    text = _render("layout.txt", sections=text_sections, alerts=alerts, transactional=False, **common)
    html = _render("layout.html", sections=html_sections, alerts=alerts, transactional=False,
                   subject=subject, **common)
    return Rendered(subject=subject, text=text + "\n", html=html + "\n")


def render_transactional(kind: str, context: dict[str, Any]) -> Rendered:
    """A verify or login email: one section, no unsubscribe footer."""
    subject = _plain_subject(_render(f"{kind}/subject.txt", **context))
    text = _render("layout.txt", sections=[_render(f"{kind}/body.txt", **context)], alerts=[],
                   transactional=True, **context)
    html = _render("layout.html", sections=[Markup(_render(f"{kind}/body.html", **context))], alerts=[],
                   transactional=True, subject=subject, **context)
    return Rendered(subject=subject, text=text + "\n", html=html + "\n")


def render_alerts_text(alerts: list[dict[str, Any]], common: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain text of one user's alerts, without the HTML part (push channels show text)."""
    if not alerts:
        raise ValueError("nothing to render")
    sections = [_render(f"{a['kind']}/body.txt", a=a, **common) for a in alerts]
    if len(alerts) == 1:
        subject = _render(f"{alerts[0]['kind']}/subject.txt", a=alerts[0], **common)
    else:
        subject = _render("digest/subject.txt", alerts=alerts, **common)
    text = _render("layout.txt", sections=sections, alerts=alerts, transactional=False, **common)
    return _plain_subject(subject), text + "\n"
