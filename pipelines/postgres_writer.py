"""The PostgreSQL writer pipeline: buffer observations, flush them in batches off the reactor.

A flush happens every PRICEHOUND_WRITE_BATCH observations, every PRICEHOUND_WRITE_INTERVAL
seconds for a part-filled batch, and at close. Each flush is one transaction (pipelines/flush.py)
run in a thread (deferToThread), one at a time in order; close waits for the last one. After
each commit the new event ids go to the alert stage (pipelines/handoff.py).

Observations refused by validation arrive through Scrapy's item_dropped signal and are written
as ``dropped`` rows, so every target of the run is accounted for and its lease released.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy.engine import Engine
from twisted.internet import defer, task, threads
from twisted.python.failure import Failure

from pipelines import handoff, observations
from pipelines.flush import (
    DEFAULT_CONFIRM_SHARE,
    FlushResult,
    Row,
    Sanity,
    ensure_input_table,
    flush_rows,
    row_from_dropped,
    row_from_observation,
)
from pipelines.validate import InvalidObservation, places
from spiders.items import Observation

log = logging.getLogger("pricehound.writer")

WRITE_ATTEMPTS = 3
MAX_PENDING_FLUSHES = 3  # beyond this, process_item waits: back-pressure on the crawl


def _transient(exc: BaseException) -> bool:
    """Connection drops, deadlocks and serialisation failures are worth another try."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    code = getattr(getattr(exc, "orig", None), "pgcode", None)
    return isinstance(exc, sa.exc.OperationalError) or code in ("40001", "40P01")


class PostgresWriterPipeline:
    def __init__(self, crawler: Crawler, run_id: int, *, batch_size: int, interval: float,
                 removed_after: int, alert_task: str, engine: Engine | None = None, handoff: bool = True,
                 confirm: bool = True, confirm_share: Decimal = DEFAULT_CONFIRM_SHARE,
                 sanity: Sanity | None = None):
        self.crawler = crawler
        self.run_id = run_id
        self.batch_size = batch_size
        self.interval = interval
        self.removed_after = removed_after
        self.confirm = confirm
        self.confirm_share = confirm_share
        self.sanity = sanity if sanity is not None else Sanity()
        self.alert_task = alert_task
        self.handoff = handoff  # off: whoever started the crawl evaluates its events itself
        self._engine = engine
        self._buffer: list[Row] = []
        self._notes: dict[int, observations.Note] = {}  # how each buffered row was read
        self._chain: defer.Deferred = defer.succeed(None)
        self._pending = 0
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PostgresWriterPipeline:
        s = crawler.settings
        run_id = s.get("PRICEHOUND_RUN_ID")
        if run_id is None:
            raise NotConfigured("no PRICEHOUND_RUN_ID: observations are not written")
        pipeline = cls(
            crawler, int(run_id), batch_size=max(1, s.getint("PRICEHOUND_WRITE_BATCH", 500)),
            interval=max(0.1, s.getfloat("PRICEHOUND_WRITE_INTERVAL", 2.0)),
            removed_after=max(1, s.getint("PRICEHOUND_REMOVED_AFTER", 2)),
            alert_task=s.get("PRICEHOUND_ALERT_TASK") or handoff.DEFAULT_TASK,
            handoff=s.getbool("PRICEHOUND_HANDOFF", True),
            confirm=s.getbool("PRICEHOUND_CONFIRM", True),
            confirm_share=Decimal(str(s.get("PRICEHOUND_CONFIRM_SHARE") or DEFAULT_CONFIRM_SHARE)),
            sanity=Sanity(min_pages=s.getint("PRICEHOUND_SANITY_MIN_PAGES", Sanity.min_pages),
                          share=Decimal(str(s.get("PRICEHOUND_SANITY_SHARE") or Sanity.share)),
                          factor=Decimal(str(s.get("PRICEHOUND_SANITY_FACTOR") or Sanity.factor))),
        )
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from pricehound.config import get_settings
            from pricehound.db import get_engine

            self._engine = get_engine(get_settings())
        return self._engine

    # -- Scrapy hooks -----------------------------------------------------------------------

    def open_spider(self) -> None:
        self._timer = task.LoopingCall(self._flush_if_any)
        self._timer.start(self.interval, now=False)
        # Connect while the first pages are fetched, so no flush (in a short run: the only one,
        # at close) waits for a new connection and the batch table.
        self._chain.addCallback(lambda _: threads.deferToThread(self.connect))

    def connect(self) -> None:
        """In the writer thread: open the connection flushes use. A failure here is only logged:
        the first flush connects (and retries) itself."""
        try:
            with self.engine.begin() as conn:
                ensure_input_table(conn)
        except Exception as exc:  # noqa: BLE001 - the flush reports what matters
            log.warning("could not connect to the database yet (%s); the first flush will retry",
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, Observation):
            self._add(row_from_observation(item), observations.note_for(item))
            if self._pending > MAX_PENDING_FLUSHES:
                await maybe_deferred_to_future(self._chain)
        return item

    def item_dropped(self, item: Any, response: Any, exception: BaseException, spider: Any = None) -> None:
        if not isinstance(item, Observation):
            return
        reason = exception.reason if isinstance(exception, InvalidObservation) else "invalid"
        suspect_price = suspect_currency = None
        if reason == "absurd_jump" and isinstance(item.price, Decimal) and item.currency:
            suspect_currency = item.currency.strip().upper()
            suspect_price = item.price.quantize(places(suspect_currency))
        self._add(row_from_dropped(item, reason, suspect_price, suspect_currency), observations.note_for(item))

    async def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._flush()
        await maybe_deferred_to_future(self._chain)

    # -- batching ---------------------------------------------------------------------------

    def _add(self, row: Row, note: observations.Note | None = None) -> None:
        self._buffer.append(row)
        if note is not None:
            self._notes[row.listing_id] = note
        if len(self._buffer) >= self.batch_size:
            self._flush()

    def _flush_if_any(self) -> None:
        if self._buffer:
            self._flush()

    def _flush(self) -> None:
        """Queue the buffered rows as the next flush; flushes run one after another."""
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        notes = {row.listing_id: self._notes.pop(row.listing_id) for row in batch if row.listing_id in self._notes}
        self._pending += 1

        def run(_: Any) -> defer.Deferred:
            d = threads.deferToThread(self.write, batch, notes)
            d.addBoth(self._done, len(batch))
            return d

        self._chain.addCallback(run)

    def _done(self, result: FlushResult | Exception | Any, size: int) -> None:
        self._pending -= 1
        stats = self.crawler.stats
        if not isinstance(result, FlushResult):
            if isinstance(result, Failure):
                log.error("flush of %d observations failed: %s", size, result.getTraceback())
            stats.inc_value("pricehound/write_errors", size)
            return None
        stats.inc_value("pricehound/flushes")
        for key, value in result.counts.items():
            if value:
                stats.inc_value(f"pricehound/written/{key}", value)
        if result.event_ids:
            stats.inc_value("pricehound/events", len(result.event_ids))
        return None

    # -- in the writer thread ---------------------------------------------------------------

    def write(self, batch: list[Row], notes: dict[int, observations.Note] | None = None) -> FlushResult | Exception:
        """Flush one batch (retrying transient database errors), then hand its events over.
        The batch's observations are kept for ``pricehound explain`` in the same transaction."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            started = time.perf_counter()
            try:
                with self.engine.begin() as conn:
                    result = flush_rows(conn, batch, run_id=self.run_id, removed_after=self.removed_after,
                                        confirm=self.confirm, confirm_share=self.confirm_share,
                                        sanity=self.sanity)
                    observations.record_quietly(conn, batch, notes, run_id=self.run_id)
            except Exception as exc:  # noqa: BLE001 - logged and counted; the crawl goes on
                if attempt < WRITE_ATTEMPTS and _transient(exc):
                    log.warning("flush of %d observations failed (attempt %d), retrying: %s",
                                len(batch), attempt, exc)
                    time.sleep(0.5 * 2 ** (attempt - 1))
                    continue
                log.error("flush of %d observations for crawl run %s failed: %s",
                          len(batch), self.run_id, exc)
                return exc
            log.debug("flushed %d observations in %.3fs: %s", len(batch),
                      time.perf_counter() - started, result.counts)
            if result.event_ids and self.handoff and not handoff.publish_events(result.event_ids, self.alert_task):
                self.crawler.stats.inc_value("pricehound/handoff_failures")
            return result
        raise AssertionError("unreachable")
