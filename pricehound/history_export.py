"""`pricehound history export`: the price history as CSV or JSON lines, streamed.

The rows come through a server-side cursor (psycopg2's named cursor, SQLAlchemy's
``stream_results``) a batch at a time and are written as they arrive, so an export of any size
runs in the memory of one batch.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import catalog, clock
from pricehound.operators import jsonable

FORMATS = ("csv", "jsonl")
COLUMNS = ("observed_at", "listing_id", "store", "url", "price", "currency", "regular_price",
           "availability", "crawl_run_id")
#: rows fetched from the server per round trip
BATCH = 2000

EXPORT_SQL = sa.text(
    """
    SELECT h.observed_at, h.listing_id, s.slug AS store, l.url, h.price, h.currency, h.regular_price,
           h.availability, h.crawl_run_id
      FROM price_history_log h
      JOIN store_listings l ON l.id = h.listing_id
      JOIN stores s ON s.id = l.store_id
     WHERE (CAST(:store_id AS bigint) IS NULL OR l.store_id = CAST(:store_id AS bigint))
       AND (CAST(:listing_ids AS bigint[]) IS NULL OR h.listing_id = ANY (CAST(:listing_ids AS bigint[])))
       AND (CAST(:since AS timestamptz) IS NULL OR h.observed_at >= CAST(:since AS timestamptz))
       AND (CAST(:until AS timestamptz) IS NULL OR h.observed_at < CAST(:until AS timestamptz))
     ORDER BY h.observed_at, h.id
    """
)


def parse_when(raw: str | None, what: str) -> datetime | None:
    """An instant: ISO 8601 (a date, or a time; UTC when no offset is given), or a duration
    before now like 90m, 12h, 7d."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1].lower() in units:
        try:
            return clock.now() - timedelta(seconds=float(text[:-1]) * units[text[-1].lower()])
        except ValueError:
            pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise catalog.InputError(f"{what} must be a date or time like 2026-01-31 or 2026-01-31T08:00Z, "
                                 f"or a duration before now like 7d; got {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def rows(conn: Connection, *, store: str | None = None, listing_ids: Sequence[int] | None = None,
         since: datetime | None = None, until: datetime | None = None,
         batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """The history rows matching the filters, oldest first, fetched ``batch`` at a time."""
    store_id = catalog.get_store(conn, store).id if store else None
    ids = [catalog.parse_id(i, "listing id") for i in listing_ids] if listing_ids else None
    if since and until and until <= since:
        raise catalog.InputError("--until must be later than --since")
    result = conn.execute(EXPORT_SQL, {"store_id": store_id, "listing_ids": ids, "since": since, "until": until},
                          execution_options={"stream_results": True, "max_row_buffer": batch})
    try:
        for part in result.partitions(batch):
            for row in part:
                yield dict(row._mapping)
    finally:
        result.close()


#: rows between two progress reports
PROGRESS_EVERY = 50_000


def write(out: IO[str], fmt: str, records: Iterator[dict[str, Any]],
          progress: Callable[[int], None] | None = None) -> int:
    """Write the records as CSV (with a header) or JSON lines; return how many were written.
    ``progress`` is told the count every PROGRESS_EVERY rows."""
    if fmt not in FORMATS:
        raise catalog.InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    count = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(COLUMNS)
    for record in records:
        shown = jsonable(record)
        if writer is not None:
            writer.writerow(["" if shown[c] is None else shown[c] for c in COLUMNS])
        else:
            out.write(json.dumps(shown) + "\n")
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    return count
