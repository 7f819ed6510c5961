"""The real path owes exactly the notifications the reference model (alerts/model.py) owes.

Hypothesis generates a watch (kinds, target, minimum drop, new-low window), a cool-down, and a
history of readings for one listing: prices (shown on the page or in structured data alone),
currencies, availability (unknown included), gone pages, failures and the time between them.
Each reading goes through validation, the writer's SQL and the evaluator's SQL against the real
schema; after every reading the outbox rows it made must be the alerts the model owes.

``make test`` runs a bounded number of examples; ``make test-model`` runs thousands
(PRICEHOUND_MODEL_EXAMPLES).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.model import FAILED, OK, REMOVED, Listing, Reading, Watch
from tests.truth.pathway import Pathway

EXAMPLES = int(os.environ.get("PRICEHOUND_MODEL_EXAMPLES", "25"))
START = datetime(2031, 3, 1, tzinfo=timezone.utc)

PRICES = [Decimal(p) for p in ("10.00", "15.00", "19.99", "20.00", "30.00", "34.00", "40.00", "45.00",
                               "200.00", "1000.00", "0.50")]
GAPS = [timedelta(minutes=1), timedelta(hours=2), timedelta(hours=7), timedelta(days=3), timedelta(days=35),
        timedelta(days=70)]

watches = st.builds(
    Watch,
    notify=st.frozensets(st.sampled_from(["sale", "sold_out", "back_in_stock", "removed", "price_rise", "new_low"]),
                         min_size=1),
    target=st.sampled_from([None, Decimal("30.00"), Decimal("40.00")]),
    min_drop_percent=st.sampled_from([Decimal(0), Decimal(10), Decimal("25.5")]),
    new_low_days=st.sampled_from([30, 90]),
)

step = st.tuples(
    st.sampled_from([OK] * 6 + [REMOVED] * 2 + [FAILED] * 2),
    st.sampled_from(PRICES + [None]),
    st.sampled_from(["USD"] * 8 + ["EUR"]),
    st.sampled_from(["in_stock", "out_of_stock", "preorder", "unknown"]),
    st.booleans(),
    st.sampled_from(GAPS),
)


def readings(steps) -> list[Reading]:
    at = START
    out = []
    for kind, price, currency, availability, seen, gap in steps:
        at += gap
        if kind == OK:
            out.append(Reading(OK, at, price, currency if price is not None else None, availability, seen))
        else:
            out.append(Reading(kind, at))
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
@given(watch=watches, cooldown=st.sampled_from([timedelta(0), timedelta(hours=6)]), confirm=st.booleans(),
       steps=st.lists(step, min_size=1, max_size=14))
def test_the_pipeline_owes_exactly_what_the_model_owes(db, watch, cooldown, confirm, steps):
    model = Listing(watch=watch, cooldown=cooldown, confirm=confirm)
    real = Pathway(db, watch, cooldown=cooldown, confirm=confirm)
    for i, reading in enumerate(readings(steps)):
        owed = sorted((a.kind, a.cheaper_than) for a in model.step(reading))
        sent = sorted((s.kind, s.cheaper_than) for s in real.step(reading))
        assert sent == owed, f"reading {i} {reading}: pipeline sent {sent}, model owes {owed}"
