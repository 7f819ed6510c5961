"""Rows the crawl-stage tests need: a store, listings with frontier rows, a crawl run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pricehound import catalog
from spiders.items import Observation


def add_store(db: Engine, slug: str, domains: Sequence[str], *, spider: str = "generic",
              currency: str = "USD", is_local: bool = True) -> catalog.Store:
    with db.begin() as conn:
        return catalog.add_store(conn, slug=slug, name=slug.title(), domains=list(domains), spider=spider,
                                 currency=currency, delay=0, concurrency=4, is_local=is_local,
                                 min_interval=timedelta(minutes=5), max_interval=timedelta(hours=6))


def add_listings(db: Engine, store_id: int, urls: Sequence[str], *, watchers: int = 1) -> list[int]:
    """Listings inserted as the catalogue would, each with a frontier row (due now)."""
    with db.begin() as conn:
        ids = [int(conn.execute(sa.text(
            "INSERT INTO store_listings (store_id, url) VALUES (:s, :u) RETURNING id"),
            {"s": store_id, "u": u}).scalar()) for u in urls]
        conn.execute(sa.text(
            """
            INSERT INTO user_crawler_priorities (listing_id, store_id, watchers, priority, next_due_at)
            SELECT id, :s, :w, crawl_priority_score(:w, 0, 0, 0), pricehound_now() FROM unnest(CAST(:ids AS bigint[])) AS id
            """), {"s": store_id, "w": watchers, "ids": ids})
    return ids


def add_run(db: Engine, store_id: int, listing_ids: Sequence[int]) -> int:
    """A queued crawl run holding these listings, as dispatch leaves it (the run is the lease)."""
    with db.begin() as conn:
        run_id = int(conn.execute(sa.text(
            "INSERT INTO crawl_runs (store_id, listing_ids) VALUES (:s, :l) RETURNING id"),
            {"s": store_id, "l": list(listing_ids)}).scalar())
    return run_id


def rows(db: Engine, sql: str, **params) -> list[dict]:
    with db.begin() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]


def scalar(db: Engine, sql: str, **params):
    with db.begin() as conn:
        return conn.execute(sa.text(sql), params).scalar()


_clock = [datetime(2030, 1, 1, tzinfo=timezone.utc)]


def tick() -> datetime:
    """A strictly increasing observation time (so re-crawls are always newer)."""
    _clock[0] += timedelta(seconds=1)
    return _clock[0]


def ok(listing_id: int, price: str | None = "10.00", availability: str = "in_stock",
       currency: str | None = "USD", **extra) -> Observation:
    return Observation(listing_id=listing_id, url=f"https://shop.example/p/{listing_id}", kind="ok",
                       price=Decimal(price) if price is not None else None, currency=currency,
                       availability=availability, observed_at=tick(), **extra)


def removed(listing_id: int, reason: str = "http_404") -> Observation:
    return Observation(listing_id=listing_id, url=f"https://shop.example/p/{listing_id}", kind="removed",
                       reason=reason, observed_at=tick())


def failed(listing_id: int, reason: str = "http_500") -> Observation:
    return Observation(listing_id=listing_id, url=f"https://shop.example/p/{listing_id}", kind="failed",
                       reason=reason, observed_at=tick())
