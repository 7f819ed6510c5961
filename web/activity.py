"""Demand signals: views, adds and removals go to user_activity, which feeds crawl priority."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# A page reloaded ten times is one view: repeats inside this window are not recorded again.
VIEW_WINDOW = timedelta(hours=1)


def record(conn: Connection, user_id: int | None, kind: str, listing_ids: Iterable[int | None],
           *, once_per: timedelta | None = None) -> None:
    """One row per listing, in one statement; with ``once_per``, skip listings this user already
    has such a row for within that window."""
    ids = sorted({int(i) for i in listing_ids if i is not None})
    if not ids:
        return
    conn.execute(
        sa.text(
            """
            INSERT INTO user_activity (user_id, listing_id, kind)
            SELECT :user_id, x.listing_id, :kind
              FROM unnest(CAST(:ids AS bigint[])) AS x (listing_id)
             WHERE NOT :dedupe OR NOT EXISTS (
                    SELECT 1 FROM user_activity a
                     WHERE a.listing_id = x.listing_id AND a.user_id = :user_id AND a.kind = :kind
                       AND a.occurred_at > pricehound_now() - CAST(:window AS interval))
            """
        ),
        {"user_id": user_id, "kind": kind, "ids": ids, "dedupe": once_per is not None,
         "window": once_per or timedelta(0)},
    )
