"""A crawl run's store and targets, read from PostgreSQL by run id.

The scheduler writes a ``crawl_runs`` row (store, listing ids); the crawl process reads it here,
once, before the reactor starts, together with what the validator needs to judge a new price
(the listing's current price and any price it refused last time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound.catalog import Store
from spiders.discovery import SearchTarget, load_searches

log = logging.getLogger("pricehound.crawl")


class RunNotFound(LookupError):
    """No crawl_runs row has this id."""


# A crawl's store is the one shape of a stores row (pricehound.catalog.Store); the old name stays
# an alias for code that spelled it so.
StoreConfig = Store


@dataclass(frozen=True)
class Target:
    """One listing to visit, with its current state (None when never read)."""

    listing_id: int
    url: str
    status: str = "active"
    price: Decimal | None = None
    currency: str | None = None
    availability: str | None = None
    suspect_price: Decimal | None = None
    suspect_currency: str | None = None


@dataclass(frozen=True)
class CrawlRun:
    id: int
    status: str
    store: StoreConfig
    targets: tuple[Target, ...]
    searches: tuple[SearchTarget, ...] = ()  # products to search for at the store (spiders/discovery.py)

    def target(self, listing_id: int) -> Target | None:
        return self._by_id().get(listing_id)

    def _by_id(self) -> dict[int, Target]:
        cache = self.__dict__.get("_index")
        if cache is None:
            cache = {t.listing_id: t for t in self.targets}
            object.__setattr__(self, "_index", cache)
        return cache


RUN_SQL = sa.text(
    """
    SELECT r.id AS run_id, r.status AS run_status, r.listing_ids, r.search_ids, s.*,
           (SELECT split_part(u, '/', 1) || '//' || split_part(u, '/', 3)
              FROM (SELECT s.search_url AS u, 0 AS o UNION ALL SELECT s.sitemap_url, 1
                    UNION ALL (SELECT l.url, 2 FROM store_listings l WHERE l.store_id = s.id
                                ORDER BY l.id DESC LIMIT 1)) known
             WHERE u IS NOT NULL ORDER BY o LIMIT 1) AS origin
      FROM crawl_runs r JOIN stores s ON s.id = r.store_id
     WHERE r.id = :run_id
    """
)

TARGETS_SQL = sa.text(
    """
    SELECT l.id, l.url, l.status, l.suspect_price, l.suspect_currency,
           p.price, p.currency, p.availability
      FROM store_listings l
      LEFT JOIN store_prices p ON p.listing_id = l.id
     WHERE l.id = ANY (:ids) AND l.store_id = :store_id
     ORDER BY l.id
    """
)


def load_run(conn: Connection, run_id: int) -> CrawlRun:
    """The run, its store and its targets (listings of other stores are left out, loudly)."""
    row = conn.execute(RUN_SQL, {"run_id": run_id}).one_or_none()
    if row is None:
        raise RunNotFound(f"crawl run {run_id} does not exist")
    store = Store.from_row(row)
    wanted = sorted(set(row.listing_ids or ()))
    targets = tuple(
        Target(listing_id=t.id, url=t.url, status=t.status, price=t.price,
               currency=t.currency.strip() if t.currency else None, availability=t.availability,
               suspect_price=t.suspect_price,
               suspect_currency=t.suspect_currency.strip() if t.suspect_currency else None)
        for t in conn.execute(TARGETS_SQL, {"ids": wanted, "store_id": store.id})
    )
    missing = len(wanted) - len(targets)
    if missing:
        log.warning("crawl run %s: %d of %d listings are gone or belong to another store; skipped",
                    run_id, missing, len(wanted))
    searches = load_searches(conn, sorted(set(row.search_ids or ())), store.id)
    return CrawlRun(id=int(row.run_id), status=row.run_status, store=store, targets=targets,
                    searches=searches)
