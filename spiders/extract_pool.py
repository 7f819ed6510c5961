"""Reading pages off the reactor thread: a small process pool around ``extract_product``.

Extraction is pure CPU (lxml and regexes, a few ms a page). Run on the reactor thread it stalls
every download, callback and pipeline of the crawl while it runs; in worker processes it runs on
another core while the reactor keeps fetching. The workers get the response bytes, URL, encoding
and the store's hints and give back the plain ``Extraction``, so a page reads exactly as it would
in the crawl process.

A worker that dies (a crash in a C extension, the OOM killer) breaks the whole pool, and every
page queued in it at that moment with it. Each of those pages is then read again, one at a time,
in a one-process pool of its own: a page that kills that worker too is the culprit and raises
:class:`ExtractionCrashed` (the spider records a ``failed`` observation with the reason
``extraction_crashed``); every other page gets its reading. The main pool is rebuilt at once.

The first workers are forked when the crawl process is still single-threaded (at spider creation,
before the reactor runs): they start in milliseconds with everything already imported. A pool
rebuilt mid-crawl, when threads exist, spawns fresh interpreters instead (forking a process with
threads can copy a lock some other thread held).

Workers ignore SIGINT and SIGTERM (the crawl process decides when they stop: ``close`` at spider
close) and die with the crawl process if it is killed outright (Linux: PR_SET_PDEATHSIG).

This module imports no Scrapy or Twisted at import time: the workers import it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures.process as futures_process
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from spiders.extraction import Extraction, extract_product

log = logging.getLogger("pricehound.crawl")

EXTRACTION_CRASHED = "extraction_crashed"
AUTO_MAX_WORKERS = 4  # one crawl process feeds about this many readers at most; more only costs memory
# Pages waiting in the pipe to the workers, beyond the one each is reading. The executor's own
# default is one: a worker then idles whenever the executor's helper threads in the crawl process
# wait for the GIL behind the reactor, which is most of the time in a busy crawl (measured: 16-21%
# of a crawl's cores idle with the default, 8-13% with this). The pages are in memory anyway
# (Scrapy holds each response until its callback ends); a worker that dies takes at most this many
# with it, and each of those is read again alone.
QUEUED_PAGES = 16
_queue_depth_lock = threading.Lock()

Reader = Callable[..., Extraction]


class ExtractionCrashed(RuntimeError):
    """The worker process reading this page died, also when it read the page alone."""


def read_page(body: bytes, url: str, default_currency: str | None, hints: dict | None,
              encoding: str | None) -> Extraction:
    """What a worker runs: the same call the spider makes in-process."""
    return extract_product(body, url, default_currency=default_currency, hints=hints, encoding=encoding)


def pool_size(configured: int | None, cpus: int | None = None) -> int:
    """Worker processes for one crawl: the configured number, or CPUs - 1 (1 to 4); 0 = in-process."""
    if configured is not None:
        return max(0, int(configured))
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(cpus - 1, AUTO_MAX_WORKERS))


def _warm() -> int:
    return os.getpid()


def _init_worker(parent_pid: int) -> None:
    """Runs first in each worker: stop only when the crawl process says so, or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the crawl process died before the line above
        os._exit(1)


def _await_future(future: Future) -> Any:
    """An awaitable for a concurrent.futures.Future, on the asyncio loop or on Twisted's reactor."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        return asyncio.wrap_future(future, loop=loop)
    from twisted.internet import defer, reactor

    deferred: defer.Deferred = defer.Deferred()

    def fire(done: Future) -> None:
        error = done.exception()
        if error is not None:
            deferred.errback(error)
        else:
            deferred.callback(done.result())

    future.add_done_callback(lambda done: reactor.callFromThread(fire, done))
    return deferred


class ExtractionPool:
    """``await pool.read(...)``: extract_product in worker processes, or in-process with 0 workers."""

    def __init__(self, workers: int, reader: Reader = read_page):
        self.workers = max(0, int(workers))
        self.reader = reader
        self.crashes = 0
        self._executor: ProcessPoolExecutor | None = None
        self._alone: ProcessPoolExecutor | None = None
        self._isolator: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def in_process(self) -> bool:
        return self.workers == 0

    def start(self) -> ExtractionPool:
        """Start the workers now, so they are ready by the time the first page arrives."""
        if not self.in_process and self._executor is None and not self._closed:
            self._executor = self._new_executor(self.workers)
            for _ in range(self.workers):
                self._executor.submit(_warm)
        return self

    async def read(self, body: bytes, url: str, *, default_currency: str | None = None,
                   hints: dict | None = None, encoding: str | None = None) -> Extraction:
        """The page's Extraction; raises ExtractionCrashed when the page kills its reader."""
        args = (body, url, default_currency, hints, encoding)
        if self.in_process or self._closed:
            return self.reader(*args)
        executor = self._executor or self.start()._executor
        assert executor is not None
        try:
            return await _await_future(executor.submit(self.reader, *args))
        except BrokenProcessPool:
            self._replace(executor)
        return await _await_future(self._isolation().submit(self._read_alone, args))

    def close(self) -> None:
        """Stop every worker (called at spider close; reading falls back to in-process after)."""
        self._closed = True
        with self._lock:
            executors = [e for e in (self._executor, self._alone) if e is not None]
            isolator, self._isolator = self._isolator, None
            self._executor = self._alone = None
        if isolator is not None:
            isolator.shutdown(wait=True, cancel_futures=True)
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=True)

    # -- internals ------------------------------------------------------------------------------

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        context = multiprocessing.get_context("fork" if forkable else "spawn")
        # ProcessPoolExecutor sizes its call queue from this module constant when it is built and
        # has no argument for it; it is set only for the construction, under a lock.
        with _queue_depth_lock:
            default = futures_process.EXTRA_QUEUED_CALLS
            futures_process.EXTRA_QUEUED_CALLS = QUEUED_PAGES
            try:
                return ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                           initializer=_init_worker, initargs=(os.getpid(),))
            finally:
                futures_process.EXTRA_QUEUED_CALLS = default

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Rebuild the main pool once per crash, however many pages report it."""
        with self._lock:
            if self._executor is not broken or self._closed:
                return
            self.crashes += 1
            self._executor = self._new_executor(self.workers)
        log.warning("a page-reading worker process died; its pages are read again one at a time")
        broken.shutdown(wait=False, cancel_futures=True)

    def _isolation(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._isolator is None:
                self._isolator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract-alone")
            return self._isolator

    def _read_alone(self, args: tuple) -> Extraction:
        """In the isolation thread: one page in a one-process pool, so a crash names its page."""
        with self._lock:
            if self._alone is None:
                self._alone = self._new_executor(1)
            alone = self._alone
        try:
            return alone.submit(self.reader, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._alone is alone:
                    self._alone = None
            alone.shutdown(wait=False, cancel_futures=True)
            raise ExtractionCrashed(f"the process reading {args[1]} died") from None
