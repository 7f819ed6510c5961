"""Chart render time: the manage page's labelled price chart, geometry plus its SVG markup.

Each round builds a 90-day history (one change a day on average, a sold-out spell), then times
per chart, in alternating order:

- baseline: the bare step line the page drew before (polyline points, no axes or lines), the
            least a chart can cost;
- chart:    web.charts.step_chart with the target and 90-day low, rendered through the page's
            own ``_chart.html`` macro (Jinja, autoescaped, as the page renders it).

Usage:  .venv/bin/python bench/chart_render.py [--charts 200] [--rounds 5] [--changes 90]
The last line printed is one JSON object: p50/p95/p99 ms per chart for each side and
"ratio" = chart p50 / baseline p50; goal: chart p50 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from jinja2 import Environment, FileSystemLoader, select_autoescape  # noqa: E402

from web.charts import step_chart  # noqa: E402


def history(rng: random.Random, now: datetime, changes: int) -> list[tuple[datetime, Decimal, str]]:
    start = now - timedelta(days=90)
    times = sorted(start + timedelta(seconds=rng.uniform(0, 90 * 86400)) for _ in range(changes))
    out, price = [], Decimal("49.99")
    for i, t in enumerate(times):
        price = max(Decimal("5.00"), price + Decimal(rng.randint(-300, 300)) / 100)
        out.append((t, price, "out_of_stock" if changes // 3 <= i < changes // 3 + 2 else "in_stock"))
    return out


def bare_line(samples: list[tuple[datetime, Decimal, str]], now: datetime, width: int = 480, height: int = 160) -> str:
    """The baseline: a step line's points only."""
    start, low, high = samples[0][0], min(s[1] for s in samples), max(s[1] for s in samples)
    span, spread = max((now - start).total_seconds(), 1.0), (high - low) or Decimal(1)
    coords: list[tuple[float, float]] = []
    for t, p, _ in samples:
        x, y = width * (t - start).total_seconds() / span, height * float((high - p) / spread)
        if coords:
            coords.append((x, coords[-1][1]))
        coords.append((x, y))
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--charts", type=int, default=200, help="charts per side per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changes", type=int, default=90, help="price changes in each 90-day history")
    args = parser.parse_args()
    env = Environment(loader=FileSystemLoader(os.path.join(ROOT, "web", "templates")), autoescape=select_autoescape())
    macro = env.get_template("_chart.html").module.chart
    rng = random.Random(20)
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    sides: dict[str, list[float]] = {"baseline": [], "chart": []}
    round_p50: dict[str, list[float]] = {"baseline": [], "chart": []}
    for r in range(args.rounds):
        samples = [history(rng, now, args.changes) for _ in range(args.charts)]
        order = ["baseline", "chart"] if r % 2 == 0 else ["chart", "baseline"]
        for side in order:
            times = []
            for s in samples:
                t0 = time.perf_counter()
                if side == "baseline":
                    bare_line(s, now)
                else:
                    str(macro(step_chart(s, now, currency="EUR", target=Decimal("40.00"), low_90d=min(p for _, p, _ in s))))
                times.append((time.perf_counter() - t0) * 1000)
            sides[side].extend(times)
            round_p50[side].append(statistics.median(times))
        print(f"round {r + 1}/{args.rounds}: baseline p50 {round_p50['baseline'][-1]:.3f} ms, "
              f"chart p50 {round_p50['chart'][-1]:.3f} ms", file=sys.stderr)
    result = {"bench": "chart_render", "charts": args.charts, "rounds": args.rounds, "changes": args.changes}
    for side, values in sides.items():
        result[side] = {"p50_ms": round(statistics.median(round_p50[side]), 3),
                        "p95_ms": round(percentile(values, 0.95), 3), "p99_ms": round(percentile(values, 0.99), 3)}
    result["ratio"] = round(result["chart"]["p50_ms"] / result["baseline"]["p50_ms"], 1)
    result["goal_met"] = result["chart"]["p50_ms"] < 50
    print(json.dumps(result))


if __name__ == "__main__":
    main()
