"""What the API and the manage page show about a user's watches: set-based reads, one query each."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

MAX_PAGE = 200

_WATCH_COLUMNS = """
    i.id, i.list_id, sl.name AS list_name, i.listing_id, i.product_id,
    l.url, coalesce(l.title, p.name) AS title, l.status AS listing_status,
    s.slug AS store, s.name AS store_name,
    i.target_price, i.min_drop_percent, i.notify_kinds, i.active, i.created_at, i.updated_at,
    sp.price, sp.currency, sp.regular_price, sp.availability, sp.observed_at
"""

_WATCH_FROM = """
      FROM shopping_list_items i
      JOIN shopping_lists sl ON sl.id = i.list_id
      LEFT JOIN store_listings l ON l.id = i.listing_id
      LEFT JOIN stores s ON s.id = l.store_id
      LEFT JOIN branded_products p ON p.id = i.product_id
      LEFT JOIN store_prices sp ON sp.listing_id = i.listing_id
"""


@dataclass(frozen=True)
class WatchRow:
    id: int
    list_id: int
    list_name: str
    listing_id: int | None
    product_id: int | None
    url: str | None
    title: str | None
    listing_status: str | None
    store: str | None
    store_name: str | None
    target_price: Decimal | None
    min_drop_percent: Decimal
    notify: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    price: Decimal | None
    currency: str | None
    regular_price: Decimal | None
    availability: str
    observed_at: datetime | None
    lowest_90d: Decimal | None

    @classmethod
    def from_row(cls, row: Any, lowest: dict[int, Decimal]) -> WatchRow:
        m = dict(row._mapping)
        m["notify"] = list(m.pop("notify_kinds") or [])
        # a listing the store no longer has is gone, whatever its last stock said
        m["availability"] = "gone" if m["listing_status"] == "removed" else (m["availability"] or "unknown")
        m["lowest_90d"] = lowest.get(m["listing_id"])
        return cls(**m)


def lowest_90d(conn: Connection, listing_ids: list[int]) -> dict[int, Decimal]:
    """The 90-day low per listing, from the analysts' view. A separate query on purpose: joined
    laterally into the watch query, the view over every history partition took PostgreSQL ten
    times longer to plan than both queries take to run."""
    ids = sorted({i for i in listing_ids if i is not None})
    if not ids:
        return {}
    rows = conn.execute(
        sa.text("SELECT listing_id, lowest_90d FROM listing_lowest_prices WHERE listing_id = ANY (CAST(:ids AS bigint[]))"),
        {"ids": ids},
    )
    return {int(r.listing_id): r.lowest_90d for r in rows if r.lowest_90d is not None}


def _with_lowest(conn: Connection, rows: list[Any]) -> list[WatchRow]:
    lowest = lowest_90d(conn, [r.listing_id for r in rows])
    return [WatchRow.from_row(r, lowest) for r in rows]


def list_watches(conn: Connection, user_id: int, *, after: int = 0, limit: int = 50,
                 list_id: int | None = None, active: bool | None = None) -> list[WatchRow]:
    """One page of the user's watches in id order (keyset pagination: pass the last id as after)."""
    rows = conn.execute(
        sa.text(
            f"""
            SELECT {_WATCH_COLUMNS} {_WATCH_FROM}
             WHERE sl.user_id = :user_id AND i.id > :after
               AND (CAST(:list_id AS bigint) IS NULL OR i.list_id = :list_id)
               AND (CAST(:active AS boolean) IS NULL OR i.active = :active)
             ORDER BY i.id
             LIMIT :limit
            """  # noqa: S608 - fixed SQL fragments, values are bound
        ),
        {"user_id": user_id, "after": after, "limit": max(1, min(limit, MAX_PAGE)),
         "list_id": list_id, "active": active},
    )
    return _with_lowest(conn, list(rows))


def get_watch(conn: Connection, user_id: int, item_id: int) -> WatchRow | None:
    row = conn.execute(
        sa.text(f"SELECT {_WATCH_COLUMNS} {_WATCH_FROM} WHERE sl.user_id = :user_id AND i.id = :item_id"),  # noqa: S608
        {"user_id": user_id, "item_id": item_id},
    ).one_or_none()
    return None if row is None else _with_lowest(conn, [row])[0]


def count_watches(conn: Connection, user_id: int) -> int:
    return int(conn.execute(
        sa.text("SELECT count(*) FROM shopping_list_items i JOIN shopping_lists sl ON sl.id = i.list_id "
                "WHERE sl.user_id = :u"), {"u": user_id}).scalar_one())


@dataclass(frozen=True)
class HistoryPoint:
    observed_at: datetime
    price: Decimal | None
    currency: str | None
    regular_price: Decimal | None
    availability: str


def price_history(conn: Connection, listing_ids: list[int], days: int) -> dict[int, list[HistoryPoint]]:
    """Each listing's changes over the last ``days`` days, oldest first, led by the state that
    was already in effect when the window opened (history records changes, not observations)."""
    if not listing_ids:
        return {}
    rows = conn.execute(
        sa.text(
            """
            SELECT x.listing_id, h.observed_at, h.price, h.currency, h.regular_price, h.availability
              FROM unnest(CAST(:ids AS bigint[])) AS x (listing_id)
              CROSS JOIN LATERAL (
                    (SELECT e.observed_at, e.price, e.currency, e.regular_price, e.availability
                       FROM price_history_log e
                      WHERE e.listing_id = x.listing_id AND e.observed_at < pricehound_now() - make_interval(days => :days)
                      ORDER BY e.observed_at DESC LIMIT 1)
                    UNION ALL
                    (SELECT e.observed_at, e.price, e.currency, e.regular_price, e.availability
                       FROM price_history_log e
                      WHERE e.listing_id = x.listing_id AND e.observed_at >= pricehound_now() - make_interval(days => :days)
                      ORDER BY e.observed_at DESC LIMIT 2000)) h
             ORDER BY x.listing_id, h.observed_at
            """
        ),
        {"ids": sorted(set(listing_ids)), "days": days},
    )
    history: dict[int, list[HistoryPoint]] = defaultdict(list)
    for r in rows:
        history[int(r.listing_id)].append(
            HistoryPoint(r.observed_at, r.price, r.currency, r.regular_price, r.availability))
    return dict(history)


@dataclass(frozen=True)
class ListRow:
    id: int
    name: str
    watches: int
    created_at: datetime


def list_lists(conn: Connection, user_id: int) -> list[ListRow]:
    rows = conn.execute(
        sa.text(
            """
            SELECT sl.id, sl.name, count(i.id)::int AS watches, sl.created_at
              FROM shopping_lists sl LEFT JOIN shopping_list_items i ON i.list_id = sl.id
             WHERE sl.user_id = :u GROUP BY sl.id ORDER BY sl.name
            """
        ),
        {"u": user_id},
    )
    return [ListRow(int(r.id), r.name, r.watches, r.created_at) for r in rows]


def unsubscribed_from_everything(conn: Connection, email: str) -> datetime | None:
    """When the address unsubscribed from all email, if it did (bounces are not shown here)."""
    return conn.execute(
        sa.text("SELECT created_at FROM email_suppressions WHERE email = lower(:e) AND reason = 'unsubscribe'"),
        {"e": email},
    ).scalar_one_or_none()
