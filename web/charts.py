"""A price-history chart as inline-SVG geometry, server-rendered so it works under the pages'
CSP (no script, no inline style: SVG presentation attributes only) and reads without hover:
dates and prices on the axes, the user's target and the 90-day low as labelled lines, and the
spans the listing was sold out shaded. A step line, since prices hold until they change.
Floats appear only as pixel coordinates; labels show the Decimal amounts as stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

# Plot margins: room on the left for price labels, below for dates, right for line labels.
LEFT, RIGHT, TOP, BOTTOM = 64, 92, 8, 22
Y_TICKS = 3  # low, middle, high: enough to read a level without crowding a small chart
X_TICKS = 4


@dataclass(frozen=True)
class Line:
    """A labelled horizontal line (target, 90-day low) at pixel height ``y``."""

    y: float
    label: str
    label_y: float = 0.0  # the label's baseline, moved apart when two lines sit close


LABEL_GAP = 12.0  # px: 11px labels closer than this overlap


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: str          # the polyline's "x,y x,y ..." in pixels
    low: Decimal
    high: Decimal
    currency: str
    changes: int
    left: int = LEFT
    top: int = TOP
    right: int = 0       # x of the plot's right edge
    bottom: int = 0      # y of the plot's bottom edge (the date axis)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)   # (x, "12 Nov")
    y_ticks: list[tuple[float, str]] = field(default_factory=list)   # (y, "35.00")
    target: Line | None = None
    low_line: Line | None = None
    sold_out: list[tuple[float, float]] = field(default_factory=list)  # (x, width) shaded spans


def _amount(value: Decimal, places: Decimal) -> str:
    return f"{value.quantize(places):,}"


def step_chart(samples: list[Any], now: datetime, *, currency: str, target: Decimal | None = None,
               low_90d: Decimal | None = None, width: int = 480, height: int = 160) -> Chart | None:
    """Geometry for prices over time, or None when there is nothing to draw.

    ``samples`` are (time, price) or (time, price, availability), oldest first."""
    rows = [(s[0], s[1], s[2] if len(s) > 2 else None) for s in samples]
    priced = [(t, p) for t, p, _ in rows if p is not None]
    if not priced:
        return None
    start = rows[0][0]
    span = max((now - start).total_seconds(), 1.0)
    low = min(p for _, p in priced)
    high = max(p for _, p in priced)
    extremes = [low, high] + [v for v in (target, low_90d) if v is not None]
    bottom_value, top_value = min(extremes), max(extremes)
    spread = top_value - bottom_value
    right, bottom = width - RIGHT, height - BOTTOM
    # labels at the scale the amounts are stored in (35.00 reads as 35.00, as on the page)
    places = Decimal(1).scaleb(min(min(int(v.as_tuple().exponent) for v in extremes), 0))

    def x(t: datetime) -> float:
        return LEFT + (right - LEFT) * min(1.0, max(0.0, (t - start).total_seconds() / span))

    def y(p: Decimal) -> float:
        if spread == 0:
            return (TOP + bottom) / 2
        return TOP + (bottom - TOP) * float((top_value - p) / spread)

    coords: list[tuple[float, float]] = []
    for t, p in priced:
        if coords:
            coords.append((x(t), coords[-1][1]))
        coords.append((x(t), y(p)))
    coords.append((x(now), coords[-1][1]))
    points = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)

    values = [bottom_value + spread * i / (Y_TICKS - 1) for i in range(Y_TICKS)] if spread else [bottom_value]
    y_ticks = [(y(v), _amount(v, places)) for v in values]
    x_ticks = []
    for i in range(X_TICKS):
        t = start + (now - start) * i / (X_TICKS - 1)
        x_ticks.append((x(t), f"{t.day} {t:%b}"))

    sold_out = []
    for i, (t, _, availability) in enumerate(rows):
        if availability == "out_of_stock":
            end = rows[i + 1][0] if i + 1 < len(rows) else now
            sold_out.append((x(t), max(x(end) - x(t), 1.0)))

    target_line = low_line = None
    if target is not None:
        target_line = Line(y(target), f"Target {_amount(target, places)}", y(target) + 4)
    if low_90d is not None:
        label_y = y(low_90d) + 4
        if target_line is not None and abs(label_y - target_line.label_y) < LABEL_GAP:
            # keep both readable: the low's label goes below the target's (or above, at the floor)
            label_y = target_line.label_y + LABEL_GAP if target_line.label_y + LABEL_GAP <= height else \
                target_line.label_y - LABEL_GAP
        low_line = Line(y(low_90d), f"90-day low {_amount(low_90d, places)}", label_y)
    return Chart(width, height, points, low, high, currency, len(priced), right=right, bottom=bottom,
                 x_ticks=x_ticks, y_ticks=y_ticks, target=target_line, low_line=low_line, sold_out=sold_out)
