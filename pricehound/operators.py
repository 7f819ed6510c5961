"""What operators do to users, stores and watches: the functions behind the command line's
`users list/disable`, `stores pause/resume/remove`, `watch list/remove/import` and the /admin page.

Every change is one set-based statement in the caller's transaction, and validates its input
before it writes (``catalog.InputError`` with what to change), like the rest of the catalogue.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import catalog
from pricehound.catalog import InputError


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON can carry it: times as ISO 8601, money as a decimal string (never float)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


# -- users --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str | None
    status: str
    account_type: str
    verified_at: datetime | None
    is_admin: bool
    watches: int
    created_at: datetime


USERS_SQL = sa.text(
    """
    SELECT u.id, u.email, u.name, u.status, u.account_type, u.verified_at, u.is_admin, u.created_at,
           (SELECT count(*) FROM shopping_list_items i JOIN shopping_lists l ON l.id = i.list_id
             WHERE l.user_id = u.id AND i.active) AS watches
      FROM users u
     WHERE (CAST(:status AS text) IS NULL OR u.status = CAST(:status AS text))
       AND (CAST(:admins AS boolean) IS NULL OR u.is_admin = CAST(:admins AS boolean))
     ORDER BY u.id
    """
)


def list_users(conn: Connection, *, status: str | None = None, admins_only: bool = False) -> list[UserRow]:
    rows = conn.execute(USERS_SQL, {"status": status, "admins": True if admins_only else None})
    return [UserRow(**dict(r._mapping)) for r in rows]


def set_user_status(conn: Connection, email: str, status: str) -> tuple[int, str, int]:
    """Disable (or enable) a user: (user id, the status before, sessions ended). A disabled user
    gets no email (alerts go to active users only) and every session of theirs ends now."""
    if status not in ("active", "disabled"):
        raise InputError(f"a user's status is active or disabled, not {status!r}")
    user_id = catalog.user_id_for_email(conn, email)
    row = conn.execute(sa.text(
        """
        WITH old AS (SELECT status FROM users WHERE id = :id FOR UPDATE),
             upd AS (UPDATE users SET status = :status WHERE id = :id RETURNING id),
             ended AS (DELETE FROM web_sessions WHERE user_id = :id AND :status = 'disabled' RETURNING 1)
        SELECT (SELECT status FROM old) AS before, (SELECT count(*) FROM ended) AS sessions
        """), {"id": user_id, "status": status}).one()
    return user_id, row.before, int(row.sessions)


def set_admin(conn: Connection, user_id: int, admin: bool) -> None:
    conn.execute(sa.text("UPDATE users SET is_admin = :admin WHERE id = :id"), {"id": user_id, "admin": admin})


# -- stores -------------------------------------------------------------------------------------

def pause_store(conn: Connection, slug: str, reason: str | None = None) -> tuple[catalog.Store, bool]:
    """Stop dispatching the store until it is resumed: (the store, whether it was running before).
    A run already queued or crawling finishes; no new one starts."""
    catalog.check_text(reason, "a pause reason")
    store = catalog.get_store(conn, slug)
    row = conn.execute(sa.text(
        """
        UPDATE stores n SET paused_at = coalesce(o.paused_at, pricehound_now()),
                            paused_reason = coalesce(CAST(:reason AS text), o.paused_reason)
          FROM stores o WHERE o.id = n.id AND n.id = :id
        RETURNING o.paused_at IS NULL AS was_running
        """), {"id": store.id, "reason": (reason or "").strip() or None}).one()
    return store, bool(row.was_running)


def resume_store(conn: Connection, slug: str) -> tuple[catalog.Store, bool]:
    """Dispatch the store again: (the store, whether it was paused by hand). The circuit
    breaker's own pause (after failures) is left as it is: it lifts itself."""
    store = catalog.get_store(conn, slug)
    row = conn.execute(sa.text(
        """
        UPDATE stores n SET paused_at = NULL, paused_reason = NULL
          FROM stores o WHERE o.id = n.id AND n.id = :id
        RETURNING o.paused_at IS NOT NULL AS was_paused
        """), {"id": store.id}).one()
    return store, bool(row.was_paused)


@dataclass(frozen=True)
class StoreContents:
    """What removing a store deletes with it."""

    listings: int
    watches: int
    history_rows: int
    events: int
    crawl_runs: int
    busy_run: int | None

    def describe(self) -> str:
        return (f"{self.listings} listings, {self.watches} watches, {self.history_rows} price history rows, "
                f"{self.events} price events and {self.crawl_runs} crawl runs")


def store_contents(conn: Connection, store: catalog.Store) -> StoreContents:
    row = conn.execute(sa.text(
        """
        SELECT (SELECT count(*) FROM store_listings WHERE store_id = :id) AS listings,
               (SELECT count(*) FROM shopping_list_items i JOIN store_listings l ON l.id = i.listing_id
                 WHERE l.store_id = :id) AS watches,
               (SELECT count(*) FROM price_history_log h JOIN store_listings l ON l.id = h.listing_id
                 WHERE l.store_id = :id) AS history_rows,
               (SELECT count(*) FROM price_events e JOIN store_listings l ON l.id = e.listing_id
                 WHERE l.store_id = :id) AS events,
               (SELECT count(*) FROM crawl_runs WHERE store_id = :id) AS crawl_runs,
               (SELECT current_run_id FROM stores
                 WHERE id = :id AND crawl_lease_until >= pricehound_now()) AS busy_run
        """), {"id": store.id}).one()
    return StoreContents(**dict(row._mapping))


def remove_store(conn: Connection, slug: str) -> tuple[catalog.Store, StoreContents]:
    """Delete the store and everything of it (listings, their history, events and watches, its
    crawl runs). Refused while a crawl holds the store: it would write into rows being deleted."""
    store = catalog.get_store(conn, slug)
    conn.execute(sa.text("SELECT 1 FROM stores WHERE id = :id FOR UPDATE"), {"id": store.id})
    contents = store_contents(conn, store)
    if contents.busy_run is not None:
        raise InputError(f"store {slug} is being crawled (run {contents.busy_run}); pause it "
                         f"(`pricehound stores pause {slug}`) and remove it when the run has finished")
    conn.execute(sa.text("DELETE FROM stores WHERE id = :id"), {"id": store.id})
    return store, contents


# -- watches ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WatchRow:
    id: int
    email: str
    list: str
    store: str | None
    listing_id: int | None
    url: str | None
    target_price: Decimal | None
    min_drop_percent: Decimal
    notify: list[str]
    active: bool
    price: Decimal | None
    currency: str | None
    availability: str | None
    created_at: datetime


WATCHES_SQL = sa.text(
    """
    SELECT i.id, u.email, l.name AS list, s.slug AS store, i.listing_id, sl.url, i.target_price,
           i.min_drop_percent, i.notify_kinds AS notify, i.active, p.price, p.currency,
           p.availability, i.created_at
      FROM shopping_list_items i
      JOIN shopping_lists l ON l.id = i.list_id
      JOIN users u ON u.id = l.user_id
      LEFT JOIN store_listings sl ON sl.id = i.listing_id
      LEFT JOIN stores s ON s.id = sl.store_id
      LEFT JOIN store_prices p ON p.listing_id = i.listing_id
     WHERE (CAST(:email AS text) IS NULL OR lower(u.email) = lower(CAST(:email AS text)))
       AND (CAST(:store AS text) IS NULL OR s.slug = CAST(:store AS text))
       AND (CAST(:active AS boolean) IS NULL OR i.active = CAST(:active AS boolean))
       AND i.id > :after
     ORDER BY i.id
     LIMIT :limit
    """
)


def list_watches(conn: Connection, *, email: str | None = None, store: str | None = None,
                 active: bool | None = None, after: int = 0, limit: int | None = None) -> list[WatchRow]:
    if email is not None:
        email = catalog.parse_email(email)
    if store is not None:
        catalog.get_store(conn, store)  # an unknown store is a typo, not an empty list
    rows = conn.execute(WATCHES_SQL, {"email": email, "store": store, "active": active, "after": after,
                                      "limit": limit})
    return [WatchRow(**{**dict(r._mapping), "currency": r.currency.strip() if r.currency else None,
                        "notify": list(r.notify)}) for r in rows]


def remove_watches(conn: Connection, ids: Sequence[int], *, email: str | None = None) -> list[int]:
    """Delete the watches with these ids (only the user's, when ``email`` is given); returns the
    ids deleted. Each listing's watcher count and crawl priority follow through the trigger."""
    user_id = catalog.user_id_for_email(conn, email) if email else None
    rows = conn.execute(sa.text(
        """
        DELETE FROM shopping_list_items i USING shopping_lists l
         WHERE l.id = i.list_id AND i.id = ANY (:ids)
           AND (CAST(:user_id AS bigint) IS NULL OR l.user_id = CAST(:user_id AS bigint))
        RETURNING i.id
        """), {"ids": [catalog.parse_id(i, "watch id") for i in ids], "user_id": user_id}).scalars().all()
    return sorted(int(i) for i in rows)


# -- watch import -------------------------------------------------------------------------------

IMPORT_COLUMNS = ("url", "target", "kinds")


@dataclass(frozen=True)
class ImportLine:
    """One line of an import file, as read: its number in the file and its fields."""

    line: int
    url: str
    target: str | None = None
    kinds: str | None = None


@dataclass
class LineResult:
    line: int
    url: str
    accepted: bool
    reason: str
    watch_id: int | None = None


@dataclass
class ImportReport:
    results: list[LineResult] = field(default_factory=list)
    written: bool = False

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.results)

    @property
    def refused(self) -> int:
        return sum(not r.accepted for r in self.results)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "refused": self.refused, "written": self.written,
                "lines": [asdict(r) for r in self.results]}


def read_import(text: str) -> list[ImportLine]:
    """See :func:`_read_import`; a file the csv module cannot read is refused as a whole."""
    try:
        return _read_import(text)
    except csv.Error as exc:
        raise InputError(f"the file is not readable CSV ({exc}); give one URL per line, or a CSV with a url column") from None


def _read_import(text: str) -> list[ImportLine]:
    """The lines of an import file: a CSV whose header names ``url`` (and optionally ``target``,
    ``kinds``), or else one URL per line. Blank lines and lines starting with # are skipped.
    Kinds inside one CSV field are separated by ``;``, ``|`` or spaces (commas too when quoted)."""
    lines = text.splitlines()
    first = next((i for i, raw in enumerate(lines) if raw.strip() and not raw.lstrip().startswith("#")), None)
    if first is None:
        return []
    header = [h.strip().lower() for h in next(csv.reader([lines[first]]))]
    if "url" not in header:
        return [ImportLine(n, raw.strip()) for n, raw in enumerate(lines, 1)
                if raw.strip() and not raw.lstrip().startswith("#")]
    unknown = [h for h in header if h and h not in IMPORT_COLUMNS]
    if unknown:
        raise InputError(f"unknown column(s) {', '.join(unknown)} in the CSV header; use {', '.join(IMPORT_COLUMNS)}")
    out: list[ImportLine] = []
    reader = csv.reader(io.StringIO("\n".join(lines[first + 1:])))
    for offset, cells in enumerate(reader):
        number = first + 2 + offset
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        values = dict(zip(header, (c.strip() for c in cells), strict=False))
        if len(cells) > len(header):
            values["url"] = values.get("url") or ""
            out.append(ImportLine(number, values["url"], None, "\x00too many fields"))
            continue
        out.append(ImportLine(number, values.get("url", ""), values.get("target") or None,
                              values.get("kinds") or None))
    return out


def _kinds(raw: str | None) -> str | None:
    if raw is None:
        return None
    for sep in (";", "|", " "):
        raw = raw.replace(sep, ",")
    return raw


def import_watches(conn: Connection, *, email: str, lines: Iterable[ImportLine],
                   list_name: str = catalog.DEFAULT_LIST_NAME, keep_valid: bool = False,
                   dry_run: bool = False) -> ImportReport:
    """Watch every URL of an import for one user, each line accepted or refused with a reason.

    The rule: every line is tried inside one transaction (each in a savepoint, so a refused line
    leaves nothing behind). Then, if any line was refused, nothing at all is written unless
    ``keep_valid``, which writes the accepted lines (still in that one transaction). A watch of
    a URL the user already watches in the list is updated to the line's options. ``dry_run``
    checks everything and writes nothing."""
    catalog.parse_email(email)
    catalog.user_id_for_email(conn, email)  # an unknown user refuses the whole file at once
    report = ImportReport()
    seen: dict[int, int] = {}
    for line in lines:
        if line.kinds is not None and line.kinds.startswith("\x00"):
            report.results.append(LineResult(line.line, line.url, False, line.kinds[1:]))
            continue
        if not line.url:
            report.results.append(LineResult(line.line, line.url, False, "no URL on the line"))
            continue
        savepoint = conn.begin_nested()
        try:
            watch = catalog.add_watch(conn, email=email, url=line.url, target_price=line.target,
                                      notify=_kinds(line.kinds), list_name=list_name)
        except InputError as exc:
            savepoint.rollback()
            report.results.append(LineResult(line.line, line.url, False, str(exc)))
            continue
        savepoint.commit()
        reason = f"watch {watch.id} at {watch.store_slug}"
        if watch.id in seen:
            reason += f" (same page as line {seen[watch.id]}: this line's options win)"
        seen.setdefault(watch.id, line.line)
        report.results.append(LineResult(line.line, line.url, True, reason, watch.id))
    report.written = not dry_run and report.accepted > 0 and (keep_valid or report.refused == 0)
    return report
