"""Run one crawl: ``python -m spiders.run RUN_ID [-s NAME=VALUE ...]``.

The scheduler's crawl task starts this in a fresh process for each crawl run (Twisted's reactor
cannot be restarted inside a long-lived worker). It reads the run and its store, marks the run
running, crawls exactly the run's listings with the store's spider and settings, and records how
it went on the crawl_runs row. Exit code 0 when the crawl ran, whatever each page's outcome;
1 when it could not run (or was interrupted); 2 when the run id is wrong; 3 when pricehound's own
database failed it (unreachable at the start or the end, or observations that could not be
written): the store was not at fault, and the crawl task keeps the store's circuit breaker as it was.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pricehound.config import get_settings
from pricehound.db import SchemaTooNew, check_schema, get_engine
from pricehound.logs import configure as configure_logging
from spiders import endpoints
from spiders.targets import CrawlRun, RunNotFound, load_run

log = logging.getLogger("pricehound.crawl")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_DATABASE = 0, 1, 2, 3
RUNNABLE = ("queued", "running")
STATS_PREFIXES = ("downloader/response_status_count/", "downloader/exception_type_count/",
                  "pricehound/", "retry/", "robotstxt/")
STATS_KEYS = ("downloader/request_count", "downloader/response_count", "downloader/response_bytes",
              "item_scraped_count", "item_dropped_count", "elapsed_time_seconds", "finish_reason",
              "log_count/ERROR")

MARK_RUNNING = sa.text(
    """
    UPDATE crawl_runs
       SET status = 'running', started_at = pricehound_now(), finished_at = NULL, worker = :worker,
           requested = :requested, ok = 0, changed = 0, removed = 0, failed = 0, dropped = 0,
           error = NULL, stats = '{}'::jsonb
     WHERE id = :run_id AND status IN ('queued', 'running')
    """
)

MARK_FINISHED = sa.text(
    """
    UPDATE crawl_runs
       SET status = :status, finished_at = pricehound_now(), error = :error,
           stats = CAST(:stats AS jsonb), render_advice = :render_advice, started_at = coalesce(started_at, pricehound_now())
     WHERE id = :run_id
    """
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def stats_subset(stats: dict[str, Any]) -> dict[str, Any]:
    """The part of Scrapy's stats ops want on the crawl_runs row, JSON-ready."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if key in STATS_KEYS or key.startswith(STATS_PREFIXES):
            if isinstance(value, datetime):
                value = value.isoformat()
            elif not isinstance(value, (int, float, str, bool)) and value is not None:
                value = str(value)
            out[key] = value
    return out


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``-s NAME=VALUE`` pairs, values read as JSON when they parse (numbers, true/false)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"setting {pair!r} must look like NAME=VALUE")
        try:
            out[name.strip()] = json.loads(raw)
        except ValueError:
            out[name.strip()] = raw
    return out


def spider_class(name: str, settings: Any) -> type:
    from scrapy.spiderloader import SpiderLoader

    return SpiderLoader.from_settings(settings).load(name)


def crawl(run: CrawlRun, overrides: dict[str, Any]) -> dict[str, Any]:
    """Run the store's spider over the run's targets in this process; return Scrapy's stats."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings as ScrapySettings

    from spiders import settings as base_settings
    from spiders.settings import crawl_settings

    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule(base_settings, priority="project")
    scrapy_settings.setdict(crawl_settings(run, get_settings()), priority="project")
    scrapy_settings.setdict(overrides, priority="cmdline")
    scrapy_settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")  # ours is installed
    spidercls = spider_class(run.store.spider, scrapy_settings)
    process = CrawlerProcess(scrapy_settings)
    configure_logging(get_settings().log_level)  # Scrapy reset the root level; ops get ours
    crawler = process.create_crawler(spidercls)
    # Scrapy pins its own logger at DEBUG, which our root handler would then print: two lines per
    # page ("Crawled", "Scraped from" with the whole item) formatted and written on the reactor.
    logging.getLogger("scrapy").setLevel(scrapy_settings.get("LOG_LEVEL") or "INFO")
    process.crawl(crawler, run=run)
    process.start()
    return dict(crawler.stats.get_stats() or {})


def outcome(stats: dict[str, Any]) -> tuple[str, str | None]:
    """succeeded, or failed with the reason, from how the crawl ended."""
    reason = stats.get("finish_reason")
    if stats.get("pricehound/write_errors"):
        return "failed", f"{stats['pricehound/write_errors']} observations could not be written (see the crawl log)"
    if reason not in (None, "finished"):
        return "failed", f"crawl stopped before the end ({reason})"
    return "succeeded", None


def settle_searches(engine, run: CrawlRun) -> None:
    """Link the candidates the run's searches crawled and say what each search found. If the
    database fails here, the searches stay due and are simply searched again."""
    from spiders.discovery import settle

    try:
        with engine.begin() as conn:
            settled = settle(conn, run.id)
    except sa.exc.SQLAlchemyError as exc:
        log.error("crawl run %s: could not settle its searches (%s)", run.id, str(exc).splitlines()[0])
        return
    for s in settled:
        log.info("crawl run %s: search %s %s%s", run.id, s.search_id, s.status,
                 f" (listing {s.listing_id})" if s.listing_id else "")


def _run_id(raw: str) -> int:
    """A crawl_runs id: positive and within bigint (argparse answers exit 2 otherwise)."""
    from pricehound.catalog import InputError, parse_id

    try:
        return parse_id(raw, "the run id")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spiders.run", description="Run one crawl run.")
    parser.add_argument("run_id", type=_run_id, help="crawl_runs.id")
    parser.add_argument("-s", "--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        help="override a Scrapy setting (tests, debugging)")
    args = parser.parse_args(argv)
    config = get_settings()
    configure_logging(config.log_level)
    try:
        overrides = parse_overrides(args.overrides)
    except ValueError as exc:
        print(f"spiders.run: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = get_engine(config)
    try:
        check_schema(engine)
        with engine.begin() as conn:
            run = load_run(conn, args.run_id)
            if run.status not in RUNNABLE:
                print(f"spiders.run: crawl run {run.id} is {run.status}; only queued runs are crawled",
                      file=sys.stderr)
                return EXIT_BAD_INPUT
            conn.execute(MARK_RUNNING, {"run_id": run.id, "worker": worker_name(),
                                        "requested": len(run.targets)})
    except RunNotFound as exc:
        print(f"spiders.run: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SchemaTooNew as exc:
        print(f"spiders.run: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except sa.exc.SQLAlchemyError as exc:
        log.error("crawl run %s could not start: the database did not answer (%s)", args.run_id,
                  str(exc).splitlines()[0])
        return EXIT_DATABASE
    log.info("crawl run %s: store %s, spider %s, %d listings, %d searches", run.id, run.store.slug,
             run.store.spider, len(run.targets), len(run.searches))
    try:
        stats = crawl(run, overrides)
        status, error = outcome(stats)
    except Exception as exc:  # noqa: BLE001 - whatever stopped the crawl goes on the run row
        log.exception("crawl run %s could not run", run.id)
        stats, status, error = {}, "failed", f"{type(exc).__name__}: {exc}"[:2000]
    from spiders.render_advice import advice

    render_advice = advice(stats, run.store.slug, run.store.render)
    if render_advice:
        log.warning("crawl run %s: %s", run.id, render_advice)
    if run.searches:
        settle_searches(engine, run)
    try:
        with engine.begin() as conn:
            conn.execute(MARK_FINISHED, {"run_id": run.id, "status": status, "error": error,
                                         "stats": json.dumps(stats_subset(stats), sort_keys=True),
                                         "render_advice": render_advice})
            endpoints.record(conn, run.store.id, stats)  # the platform the crawl found, for the next
    except sa.exc.SQLAlchemyError as exc:
        log.error("crawl run %s: could not record how it ended (%s)", run.id, str(exc).splitlines()[0])
        return EXIT_DATABASE
    log.info("crawl run %s %s%s", run.id, status, f": {error}" if error else "")
    if status == "succeeded":
        return EXIT_OK
    return EXIT_DATABASE if stats.get("pricehound/write_errors") else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
