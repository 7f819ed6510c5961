"""One-click unsubscribe (RFC 8058): from one watch, or from everything, idempotently.

Each is one statement, committed before the response, and the send path checks active flags and
suppressions when it sends: nothing queued before the click goes out after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Target:
    """What a token unsubscribes from, for the confirmation page."""

    email: str | None
    watch_title: str | None


def describe(conn: Connection, user_id: int, item_id: int | None) -> Target:
    row = conn.execute(
        sa.text(
            """
            SELECT u.email,
                   (SELECT coalesce(l.title, l.url, p.name)
                      FROM shopping_list_items i JOIN shopping_lists sl ON sl.id = i.list_id
                      LEFT JOIN store_listings l ON l.id = i.listing_id
                      LEFT JOIN branded_products p ON p.id = i.product_id
                     WHERE i.id = :item_id AND sl.user_id = u.id) AS title
              FROM users u WHERE u.id = :user_id
            """
        ),
        {"user_id": user_id, "item_id": item_id},
    ).one_or_none()
    return Target(None, None) if row is None else Target(row.email, row.title)


def unsubscribe_watch(conn: Connection, user_id: int, item_id: int) -> int:
    """Stop one watch's emails; returns how many rows changed (0 when already stopped or gone)."""
    return conn.execute(
        sa.text(
            """
            UPDATE shopping_list_items i SET active = false, updated_at = pricehound_now()
              FROM shopping_lists sl
             WHERE sl.id = i.list_id AND sl.user_id = :user_id AND i.id = :item_id AND i.active
            """
        ),
        {"user_id": user_id, "item_id": item_id},
    ).rowcount


def unsubscribe_everything(conn: Connection, user_id: int) -> int:
    """Suppress the address and stop all the user's watches; returns the watches stopped."""
    return int(conn.execute(
        sa.text(
            """
            WITH who AS (SELECT lower(email) AS email FROM users WHERE id = :user_id),
                 suppressed AS (
                    INSERT INTO email_suppressions (email, reason, detail)
                    SELECT email, 'unsubscribe', 'one-click unsubscribe link' FROM who
                    ON CONFLICT (email) DO NOTHING),
                 stopped AS (
                    UPDATE shopping_list_items i SET active = false, updated_at = pricehound_now()
                      FROM shopping_lists sl
                     WHERE sl.id = i.list_id AND sl.user_id = :user_id AND i.active
                    RETURNING 1)
            SELECT count(*) FROM stopped
            """
        ),
        {"user_id": user_id},
    ).scalar_one())


def resume_email(conn: Connection, email: str) -> None:
    """Lift the address's own unsubscribe (never a bounce or complaint): an explicit opt back in."""
    conn.execute(sa.text("DELETE FROM email_suppressions WHERE email = lower(:e) AND reason = 'unsubscribe'"),
                 {"e": email})
