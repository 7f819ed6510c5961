"""Freshness: spend each store's polite page budget where prices change and people wait.

Two halves, both in PostgreSQL (pricehound/migrations/0015_freshness.sql):

- **Evidence.** The writer (pipelines/flush.py) appends to each listing's frontier row the time
  since its previous ok reading and whether price or stock had changed in it, keeping the last
  :data:`CHANGE_WINDOW` readings. Visits are irregular (demand moves, failures back off, second
  readings come at once), so the rate is not "changes over time": ``pricehound_change_rate()``
  takes the maximum a posteriori rate of a Poisson process given which intervals saw a change,
  with a Gamma prior pooled from the listing's store (and its category, when the product has
  one), so a new listing starts from what its store does.
- **Plan.** ``plan_revisits()`` (the beat task :func:`workers.schedule.plan_revisits`, every
  :data:`PLAN_EVERY` seconds) gives every watched listing a revisit interval: the store's budget
  (pages per hour its delay and concurrency allow, less ``stores.reserved_pages_per_hour`` for
  rendering or search, times ``PRICEHOUND_REVISIT_BUDGET_SHARE``) shared out by the square-root
  rule (interval proportional to 1/sqrt(demand x change rate), which minimises the expected
  demand-weighted delay before a change is seen), within the store's shortest and longest
  interval; hot listings (demand at least ``PRICEHOUND_HOT_DEMAND``) are revisited at least every
  ``PRICEHOUND_HOT_MAX_REVISIT`` while the budget allows, and ``store_revisit_plans`` says when
  it does not (``pricehound status``). The writer then schedules ``next_due_at`` with that
  interval; dispatch is unchanged, and every demand signal it had (a new watch is due at once,
  priority orders runs, failures back off, second readings come at once) stays.

``PRICEHOUND_REVISIT_POLICY=demand`` keeps the earlier schedule (``crawl_interval`` of the
demand score) while still estimating and reporting, so the two can be compared (bench/freshness.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: readings kept per listing as change-rate evidence (about two days of a listing read hourly)
CHANGE_WINDOW = 48
#: seconds one page takes at a store with no download delay, per concurrent request: what turns
#: concurrency into pages per hour when the delay does not bound them
PAGE_SECONDS = 1.0
#: how much a listing's prior (its store's and category's rate) weighs, in changes: little, because
#: rates within one store differ by orders of magnitude (flash sales and catalogue items), so a
#: few visits that all saw a change must be able to move a listing far from its store's mean
PRIOR_CHANGES = 0.1
#: the prior of a store that has no evidence yet: one change a day
DEFAULT_RATE_PER_HOUR = 1.0 / 24.0
#: the most of a store's budget the hot floor may take: when hot listings would need more, they
#: share this part equally (and status says the floor is not held) while the rest of the store
#: keeps the other part
HOT_BUDGET_SHARE = 0.75
#: seconds between plans (the beat task)
PLAN_EVERY = 60.0

POLICIES = ("budgeted", "demand")

PLAN_SQL = sa.text(
    """
    SELECT p.*, s.slug
      FROM plan_revisits(:policy, :share, make_interval(secs => :hot_max), :hot_demand,
                         CAST(:near AS numeric), :page_seconds, :default_rate, :hot_share,
                         :prior_changes, CAST(:store_id AS bigint)) p
      JOIN stores s ON s.id = p.store_id
     ORDER BY s.slug
    """
)

PLANS_SQL = sa.text(
    """
    SELECT p.*, s.slug FROM store_revisit_plans p JOIN stores s ON s.id = p.store_id ORDER BY s.slug
    """
)


@dataclass(frozen=True)
class StorePlan:
    """What one store's revisit plan gives (a ``store_revisit_plans`` row)."""

    store_id: int
    slug: str
    policy: str
    planned_at: datetime
    capacity_pages_per_hour: float
    reserved_pages_per_hour: float
    budget_pages_per_hour: float
    planned_pages_per_hour: float
    listings: int
    hot_listings: int
    hot_max_revisit: timedelta
    hot_revisit: timedelta | None
    floor_honoured: bool
    prior_rate_per_hour: float | None

    @property
    def floor_shortfall(self) -> timedelta | None:
        """How much longer than the promise the slowest hot listing waits, when the floor fails."""
        if self.floor_honoured or self.hot_revisit is None:
            return None
        return self.hot_revisit - self.hot_max_revisit

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, timedelta):
                out[key] = value.total_seconds()
            elif isinstance(value, datetime):
                out[key] = value.isoformat()
            else:
                out[key] = value
        shortfall = self.floor_shortfall
        out["floor_shortfall_seconds"] = shortfall.total_seconds() if shortfall else None
        return out


def _plan(row: Any) -> StorePlan:
    return StorePlan(**{k: row._mapping[k] for k in StorePlan.__dataclass_fields__})


def plan(conn: Connection, settings: Any, *, policy: str | None = None, store_id: int | None = None) -> list[StorePlan]:
    """Estimate, weigh and plan every active store (or one) in one statement; returns the plans.
    ``policy`` overrides ``settings.revisit_policy`` (the bench runs both)."""
    chosen = policy or settings.revisit_policy
    if chosen not in POLICIES:
        raise ValueError(f"revisit policy must be one of {', '.join(POLICIES)}, not {chosen!r}")
    rows = conn.execute(PLAN_SQL, {
        "policy": chosen, "share": float(settings.revisit_budget_share),
        "hot_max": float(settings.hot_max_revisit), "hot_demand": float(settings.hot_demand),
        "near": str(settings.near_target_share), "page_seconds": PAGE_SECONDS,
        "default_rate": DEFAULT_RATE_PER_HOUR, "hot_share": HOT_BUDGET_SHARE,
        "prior_changes": PRIOR_CHANGES, "store_id": store_id,
    }).all()
    return [_plan(r) for r in rows]


def plans(conn: Connection) -> list[StorePlan]:
    """The last plan of every store (what `pricehound status` shows)."""
    return [_plan(r) for r in conn.execute(PLANS_SQL).all()]


def _duration(td: timedelta | None) -> str:
    if td is None:
        return "-"
    seconds = td.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def render(store_plans: list[StorePlan]) -> str:
    """The per-store plan table for `pricehound status`, and a line per store whose hot floor fails."""
    if not store_plans:
        return "revisit plans: none yet (the plan runs every minute under beat)"
    header = ("store", "policy", "budget p/h", "planned p/h", "listings", "hot", "hot revisit", "floor")
    lines = []
    for p in store_plans:
        floor = "-" if not p.hot_listings else ("held" if p.floor_honoured else "NOT HELD")
        lines.append((p.slug, p.policy, f"{p.budget_pages_per_hour:.0f}", f"{p.planned_pages_per_hour:.0f}",
                      str(p.listings), str(p.hot_listings), _duration(p.hot_revisit), floor))
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    out = ["revisit plans (pages per hour)"]
    out += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *lines]]
    for p in store_plans:
        shortfall = p.floor_shortfall
        if shortfall is not None:
            out.append(f"  {p.slug}: cannot revisit its {p.hot_listings} hot listings every "
                       f"{_duration(p.hot_max_revisit)}: the budget ({p.budget_pages_per_hour:.0f} pages/h) gives "
                       f"every {_duration(p.hot_revisit)}, {_duration(shortfall)} longer; raise its concurrency, "
                       "lower its delay or its reserved pages, or PRICEHOUND_HOT_DEMAND")
    return "\n".join(out)


__all__ = [
    "CHANGE_WINDOW", "DEFAULT_RATE_PER_HOUR", "HOT_BUDGET_SHARE", "PAGE_SECONDS", "PLAN_EVERY", "POLICIES", "PRIOR_CHANGES", "StorePlan",
    "plan", "plans", "render",
]
