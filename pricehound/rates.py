"""Exchange rates the operator loads, for comparing prices across currencies.

The file is the ECB's euro foreign exchange reference rates CSV: a header ``Date, USD, JPY, ...``
and one line per day with the units of each currency one euro buys (the daily file
``eurofxref.csv`` writes the date as "05 December 2025", the history file ``eurofxref-hist.csv``
as 2025-12-05 and a missing rate as N/A; both end lines with a comma). Rates are kept as Decimal:
a conversion is exact to the rate's own digits, and rounded once, to the target currency's minor
units, where it is shown.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound.catalog import InputError

# ISO 4217 minor units of the currencies that do not have two (everything else has two).
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "HUF": 2, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3,
               "TND": 3, "LYD": 3, "IQD": 3}


@dataclass(frozen=True)
class RateRow:
    day: date
    rates: dict[str, Decimal]


def _day(raw: str) -> date:
    raw = raw.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise InputError(f"{raw!r} is no date (the ECB file writes 2025-12-05 or 05 December 2025)")


def parse_ecb_csv(text: str) -> list[RateRow]:
    """The rows of an ECB reference-rate CSV; refuses a file that is not one, saying why."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    if not header or header[0].lower() != "date":
        raise InputError("not an ECB reference-rate CSV: the first line must be 'Date, USD, JPY, ...'")
    currencies = header[1:]
    for c in currencies:
        if c and not (len(c) == 3 and c.isalpha() and c.isupper()):
            raise InputError(f"column {c!r} is no ISO 4217 currency code")
    rows = []
    for n, line in enumerate(reader, start=2):
        if not line or not line[0].strip():
            continue
        rates: dict[str, Decimal] = {}
        for code, raw in zip(currencies, line[1:], strict=False):
            raw = raw.strip()
            if not code or not raw or raw.upper() == "N/A":
                continue
            try:
                value = Decimal(raw)
            except InvalidOperation:
                raise InputError(f"line {n}: {raw!r} for {code} is no number") from None
            if value <= 0 or not value.is_finite():
                raise InputError(f"line {n}: the rate for {code} must be a positive number, got {raw}")
            rates[code] = value
        rows.append(RateRow(_day(line[0]), rates))
    if not rows:
        raise InputError("the file has a header but no rates")
    return rows


def load(conn: Connection, rows: Iterable[RateRow]) -> int:
    """Store the rates (a day loaded again is replaced); returns how many rates were written."""
    flat = [(r.day, code, value) for r in rows for code, value in r.rates.items()]
    if not flat:
        return 0
    conn.execute(sa.text("""
        INSERT INTO exchange_rates (currency, rate_date, per_eur)
        SELECT * FROM unnest(CAST(:c AS text[]), CAST(:d AS date[]), CAST(:v AS numeric[]))
        ON CONFLICT (currency, rate_date) DO UPDATE SET per_eur = excluded.per_eur, loaded_at = pricehound_now()"""),
        {"c": [f[1] for f in flat], "d": [f[0] for f in flat], "v": [f[2] for f in flat]})
    return len(flat)


def latest(conn: Connection) -> dict[str, Decimal]:
    """The newest rate of each currency, units per EUR (EUR itself is 1)."""
    rates = {r.currency.strip(): Decimal(r.per_eur) for r in conn.execute(sa.text(
        "SELECT currency, per_eur FROM latest_exchange_rates"))}
    if rates:
        rates["EUR"] = Decimal(1)
    return rates


def convert(amount: Decimal, source: str, target: str, rates: dict[str, Decimal]) -> Decimal | None:
    """amount in source as target, rounded to target's minor units; None without both rates."""
    if source == target:
        return amount
    if source not in rates or target not in rates:
        return None
    value = amount / rates[source] * rates[target]
    return value.quantize(Decimal(1).scaleb(-MINOR_UNITS.get(target, 2)), rounding=ROUND_HALF_EVEN)
