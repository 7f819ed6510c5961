"""`pricehound status`: what the system holds and what it is doing, for ops at a glance."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

COUNTS_SQL = """
SELECT (SELECT count(*) FROM stores)                                         AS stores,
       (SELECT count(*) FROM store_listings)                                 AS listings,
       (SELECT count(*) FROM shopping_list_items WHERE active)               AS watches,
       (SELECT count(*) FROM users)                                          AS users,
       (SELECT count(*) FROM user_crawler_priorities
         WHERE watchers > 0 AND next_due_at <= now()
           AND (lease_until IS NULL OR lease_until < now()))                 AS due_targets,
       (SELECT count(*) FROM user_crawler_priorities WHERE lease_until >= now()) AS leased_targets,
       (SELECT count(*) FROM notifications WHERE status = 'pending')         AS pending_notifications,
       (SELECT count(*) FROM notifications WHERE status = 'sent')            AS sent_notifications,
       (SELECT count(*) FROM price_history_log)                              AS history_rows,
       (SELECT max(version) FROM schema_version)                             AS schema_version
"""


@dataclass(frozen=True)
class Counts:
    stores: int
    listings: int
    watches: int
    users: int
    due_targets: int
    leased_targets: int
    pending_notifications: int
    sent_notifications: int
    history_rows: int
    schema_version: int


def counts(conn: Connection) -> Counts:
    row = conn.execute(sa.text(COUNTS_SQL)).one()
    return Counts(**{k: int(v or 0) for k, v in row._mapping.items()})


def render(c: Counts) -> str:
    rows = [
        ("schema version", c.schema_version),
        ("stores", c.stores),
        ("listings", c.listings),
        ("users", c.users),
        ("active watches", c.watches),
        ("due crawl targets", c.due_targets),
        ("leased crawl targets", c.leased_targets),
        ("price history rows", c.history_rows),
        ("pending notifications", c.pending_notifications),
        ("sent notifications", c.sent_notifications),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value:>8}" for label, value in rows)
