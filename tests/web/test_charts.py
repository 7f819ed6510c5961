"""The chart's geometry: labels that stay readable without hover."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from web.charts import LABEL_GAP, step_chart

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_target_and_low_labels_close_together_are_moved_apart_and_sold_out_spans_end_at_the_next_change():
    samples = [(NOW - timedelta(days=60), Decimal("50.00"), "in_stock"),
               (NOW - timedelta(days=30), Decimal("30.00"), "out_of_stock"),
               (NOW - timedelta(days=15), Decimal("30.10"), "in_stock")]
    chart = step_chart(samples, NOW, currency="EUR", target=Decimal("30.05"), low_90d=Decimal("30.00"))
    assert chart.target.label == "Target 30.05" and chart.low_line.label == "90-day low 30.00"
    assert abs(chart.target.label_y - chart.low_line.label_y) >= LABEL_GAP
    [(x, width)] = chart.sold_out
    assert round(x + width, 1) == round(chart.left + (chart.right - chart.left) * 0.75, 1)  # ends 15 days ago
    assert [label for _, label in chart.x_ticks][0] == "2 Oct" and chart.x_ticks[-1][0] == chart.right
