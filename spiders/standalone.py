"""`scrapy crawl SPIDER -a run_id=N`: one crawl run, as Scrapy users run spiders.

The crawl task runs ``python -m spiders.run`` in a subprocess it supervises. A person at a shell
can instead run the spider with Scrapy's own command, from the repository (scrapy.cfg points at
spiders/settings.py), and get the same crawl: the run is claimed like the task claims it (the
store lease taken, refused while another crawl holds the store or when the run is over), the
store's politeness settings apply (``-s NAME=VALUE`` still wins), the store lease is renewed while
it runs, and at the end the run row, the store's breaker and the unobserved targets are settled
by the same code as the task's.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pricehound.config import get_settings
from pricehound.db import get_engine

log = logging.getLogger("pricehound.crawl")


class RunRefused(RuntimeError):
    """The run cannot be crawled now; the message says why and what to do."""


def start(crawler: Any, raw_run_id: Any, spider_name: str) -> Any:
    """Claim the run, mark it running and put its store's settings on the crawler (which Scrapy
    freezes only after the spider is made). Returns the CrawlRun."""
    from pricehound.catalog import InputError, parse_id
    from spiders.run import MARK_RUNNING, RUNNABLE, worker_name
    from spiders.settings import crawl_settings
    from spiders.targets import load_run
    from workers import crawl as task

    try:
        run_id = parse_id(raw_run_id, "run_id")
    except InputError as exc:
        raise RunRefused(str(exc)) from None
    config = get_settings()
    engine = get_engine(config)
    with engine.connect() as conn:
        run = load_run(conn, run_id)
    if run.store.spider != spider_name:
        raise RunRefused(f"crawl run {run_id} is for store {run.store.slug}, whose spider is "
                         f"{run.store.spider}: `scrapy crawl {run.store.spider} -a run_id={run_id}`")
    if run.status not in RUNNABLE:
        raise RunRefused(f"crawl run {run_id} is {run.status}; only a queued run is crawled "
                         f"(`pricehound crawl {run.store.slug} --now` queues a new one)")
    me = f"scrapy {worker_name()}"
    decision = task.claim(engine, run_id, me=me, settings=config)
    if decision.action != "run":
        if decision.action in ("lost", "stale"):
            task.finish(engine, run_id)
        raise RunRefused(f"crawl run {run_id} cannot be crawled now: {decision.action} ({decision.detail})")
    with engine.begin() as conn:
        conn.execute(MARK_RUNNING, {"run_id": run_id, "worker": me, "requested": len(run.targets)})
    crawler.settings.setdict(crawl_settings(run, config), priority="project")
    crawler.pricehound_standalone = {"me": me, "ttl": task.store_lease_ttl(config)}
    _keep_lease(crawler, engine, run, me, task)
    log.info("crawl run %s: store %s, spider %s, %d listings (scrapy crawl)", run.id, run.store.slug,
             spider_name, len(run.targets))
    return run


def _keep_lease(crawler: Any, engine: Any, run: Any, me: str, task: Any) -> None:
    """Renew the store lease every third of its life while the crawl runs (as the task does)."""
    from twisted.internet import task as twisted_task
    from twisted.internet import threads

    ttl = task.store_lease_ttl(get_settings())

    def renew() -> Any:
        def work() -> None:
            with engine.begin() as conn:
                conn.execute(task.RENEW_STORE, {"ttl": ttl, "store_id": run.store.id, "run_id": run.id, "me": me})
        return threads.deferToThread(work).addErrback(lambda f: log.warning("store lease not renewed: %s", f.value))

    loop = twisted_task.LoopingCall(renew)
    crawler.pricehound_lease_loop = loop

    def begin(*_: Any) -> None:
        # Scrapy built the reactor's resolver from the project settings when the process
        # started; the store's address rules (a local store's own hosts) are on the crawler
        from twisted.internet import reactor

        from spiders.resolver import GuardedResolver

        GuardedResolver.from_crawler(crawler, reactor).install_on_reactor()
        loop.start(max(ttl / 3.0, 0.2), now=False)

    from scrapy import signals

    crawler.pricehound_on_open = begin  # signal receivers are held weakly
    crawler.signals.connect(begin, signal=signals.spider_opened)


def finish(crawler: Any, run: Any, reason: str) -> None:
    """Record how the run ended and settle the store as the crawl task does."""
    from spiders.run import MARK_FINISHED, outcome, stats_subset
    from workers import crawl as task

    loop = getattr(crawler, "pricehound_lease_loop", None)
    if loop is not None and loop.running:
        loop.stop()
    from spiders.render_advice import advice

    stats = {**dict(crawler.stats.get_stats() or {}), "finish_reason": reason}
    status, error = outcome(stats)
    render_advice = advice(stats, run.store.slug, getattr(run.store, "render", "none"))
    if render_advice:
        log.warning("crawl run %s: %s", run.id, render_advice)
    engine = get_engine(get_settings())
    with engine.begin() as conn:
        conn.execute(MARK_FINISHED, {"run_id": run.id, "status": status, "error": error,
                                     "stats": json.dumps(stats_subset(stats), sort_keys=True),
                                     "render_advice": render_advice})
    done = task.finish(engine, run.id, database_failed=bool(stats.get("pricehound/write_errors")))
    if done is not None:
        log.info(task.describe(done, run.store.slug))
