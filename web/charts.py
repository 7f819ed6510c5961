"""A small price-history chart as inline-SVG geometry: a step line, since prices hold until
they change. Floats appear only as pixel coordinates, never as money."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: str          # the polyline's "x,y x,y ..." in pixels
    low: Decimal
    high: Decimal
    currency: str
    changes: int


def step_chart(samples: list[tuple[datetime, Decimal | None]], now: datetime, *, currency: str,
               width: int = 240, height: int = 48, pad: int = 3) -> Chart | None:
    """Geometry for prices over time, or None when there is nothing to draw."""
    priced = [(t, p) for t, p in samples if p is not None]
    if not priced:
        return None
    start = priced[0][0]
    span = max((now - start).total_seconds(), 1.0)
    low = min(p for _, p in priced)
    high = max(p for _, p in priced)
    spread = high - low

    def x(t: datetime) -> float:
        return pad + (width - 2 * pad) * max(0.0, (t - start).total_seconds()) / span

    def y(p: Decimal) -> float:
        if spread == 0:
            return height / 2
        return pad + (height - 2 * pad) * float((high - p) / spread)

    coords: list[tuple[float, float]] = []
    for t, p in priced:
        if coords:
            coords.append((x(t), coords[-1][1]))
        coords.append((x(t), y(p)))
    coords.append((x(now), coords[-1][1]))
    points = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
    return Chart(width, height, points, low, high, currency, len(priced))
