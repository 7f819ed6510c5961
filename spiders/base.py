"""The base product spider: one request per crawl target, exactly one observation back.

A store's spider is a subclass that changes configuration (its name) and, where the store is a
known platform, which URL it asks first (see spiders/stores/shopify.py). Everything that can go
wrong with a request ends in the errback, so no target is ever silently lost: it becomes a
``failed`` observation with the reason.
"""

from __future__ import annotations

import dataclasses
import logging
import resource
from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.misc import load_object
from twisted.internet import defer, error
from twisted.python.failure import Failure

from spiders import discovery
from spiders import search as S
from spiders.discovery import SearchTarget
from spiders.endpoints import EndpointFlow
from spiders.extract_pool import EXTRACTION_CRASHED, ExtractionCrashed, ExtractionPool, pool_size
from spiders.extraction import Extraction, extract_product
from spiders.extraction.model import not_a_product
from spiders.extraction.tiles import read_tiles
from spiders.items import FAILED, OK, REMOVED, Observation
from spiders.middlewares import BlockedURL, connect_refusal, is_challenge_response
from spiders.observe import decide
from spiders.proxies import META_FAULT, PROXY_ERROR
from spiders.render_advice import PAGES_READ, page_evidence
from spiders.rendering import EXTRACTION_META, RENDER_META, RULE_META, RenderFailed
from spiders.targets import CrawlRun, Target

log = logging.getLogger("pricehound.crawl")

GONE_STATUSES = (404, 410)


def failure_reason(failure: Failure) -> str:
    """A short, stable reason for a request that produced no usable response."""
    exc = failure.value
    if isinstance(exc, BlockedURL):
        return "blocked_url"
    if isinstance(exc, RenderFailed):
        return exc.reason
    request = getattr(failure, "request", None)
    if request is not None and request.meta.get(META_FAULT):
        return PROXY_ERROR  # the proxy failed or refused us: says nothing about the product
    if isinstance(exc, HttpError):
        response = exc.response
        if is_challenge_response(response) or _page(response).page_kind == "challenge":
            return "challenge"
        return f"http_{response.status}"
    if isinstance(exc, IgnoreRequest):
        return "robots_disallowed" if "robots" in str(exc).lower() else "ignored"
    if isinstance(exc, (DownloadTimeoutError, error.TimeoutError, error.TCPTimedOutError, defer.TimeoutError)):
        return "timeout"
    if isinstance(exc, (CannotResolveHostError, error.DNSLookupError)):
        refused = connect_refusal(failure.request.url) if getattr(failure, "request", None) else None
        return "blocked_url" if refused is not None else "dns_error"
    if isinstance(exc, (DownloadConnectionRefusedError, error.ConnectionRefusedError)):
        return "connection_refused"
    if isinstance(exc, (DownloadCancelledError, defer.CancelledError)):
        return "oversize"
    if isinstance(exc, (DownloadFailedError, ResponseDataLossError, error.ConnectionLost,
                        error.ConnectionDone, error.ConnectError, OSError)):
        return "connection_error"
    return f"error:{type(exc).__name__}"


def process_cpu_seconds() -> float:
    """User + system CPU of this process and its reaped children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _page(response: Response) -> Extraction:
    if not isinstance(response, TextResponse):
        return not_a_product("unrecognised", "unreadable", "kind.not_text")
    return extract_product(response.body, response.url, encoding=response.encoding)


class ProductSpider(EndpointFlow, scrapy.Spider):
    """Visit each target of one crawl run and yield one Observation per target; a store whose
    pages show a known platform is read through its endpoint too (spiders/endpoints.py)."""

    name = "base"
    custom_settings: dict[str, Any] = {}
    # Start the page readers with the spider; a spider that reads few pages starts them on first use.
    reads_most_pages = True

    def __init__(self, run: CrawlRun, *args: Any, **kwargs: Any):
        kwargs.pop("run_id", None)  # `scrapy crawl NAME -a run_id=N`: read into ``run`` by from_crawler
        super().__init__(*args, **kwargs)
        self.run = run
        self.store = run.store
        self.pool = ExtractionPool(0)
        self._cpu_at_open = process_cpu_seconds()
        self.platform_setup()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ProductSpider:
        """The spider, with its page readers already starting (PRICEHOUND_EXTRACT_WORKERS).

        From Scrapy's own command (``scrapy crawl generic -a run_id=N``) the run is claimed and
        its store's settings applied here, before Scrapy freezes the crawler's settings."""
        if kwargs.get("run") is None and not args:
            from spiders import standalone

            if "run_id" not in kwargs:
                raise standalone.RunRefused(f"which crawl run? `scrapy crawl {cls.name} -a run_id=N` (a crawl_runs "
                                            "id; `pricehound crawl STORE --now` queues one)")
            kwargs["run"] = standalone.start(crawler, kwargs["run_id"], cls.name)
            crawler.pricehound_run = kwargs["run"]
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.platform_setup()  # again, now that the crawl's settings are at hand
        s = crawler.settings
        configured = s.get("PRICEHOUND_EXTRACT_WORKERS")
        workers = pool_size(None if configured in (None, "", "auto") else int(configured))
        reader = s.get("PRICEHOUND_EXTRACT_READER")
        spider.pool = ExtractionPool(workers, load_object(reader)) if reader else ExtractionPool(workers)
        if spider.reads_most_pages:
            spider.pool.start()
        return spider

    def closed(self, reason: str) -> None:
        """Stop the page readers; record the CPU the crawl used while crawling, readers included."""
        self.pool.close()
        self.platform_closed()
        self.crawler.stats.set_value("pricehound/cpu_seconds",
                                     round(process_cpu_seconds() - self._cpu_at_open, 3))
        if getattr(self.crawler, "pricehound_run", None) is self.run:
            from spiders import standalone

            standalone.finish(self.crawler, self.run, reason)

    # -- requests -------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for target in self.run.targets:
            for request in self.requests_for(target):
                yield request
        for search in self.run.searches:
            yield self.search_request(search)

    def requests_for(self, target: Target) -> Iterable[scrapy.Request]:
        """The first request for a target: its platform's endpoint when the store's platform is
        known, else its page (spiders/endpoints.py)."""
        yield self.first_request(target)

    def page_request(self, target: Target) -> scrapy.Request:
        return scrapy.Request(
            target.url, callback=self.parse_page, errback=self.on_error, dont_filter=True,
            meta={"listing_id": target.listing_id, "target_url": target.url,
                  "handle_httpstatus_list": list(GONE_STATUSES),
                  RENDER_META: getattr(self.store, "render", "none") == "js"},
        )

    # -- responses ------------------------------------------------------------------------

    async def read_page(self, response: TextResponse) -> Extraction:
        """The extraction chain's reading of the page, in a worker process when there are any."""
        return await self.pool.read(response.body, response.url, default_currency=self.store.default_currency,
                                    hints=self.store.extraction_hints or None, encoding=response.encoding)

    async def parse_page(self, response: Response) -> AsyncIterator[Observation | scrapy.Request]:
        """A product page (or what answered in its place) -> ok, removed or failed, decided by
        spiders.observe.decide (what `pricehound extract` prints for the same page)."""
        extraction = None
        rendered = response.meta.pop(EXTRACTION_META, None)  # the reading a render stopped on
        render_rule = response.meta.pop(RULE_META, None)
        if (response.status not in GONE_STATUSES and isinstance(response, TextResponse)
                and response.body.strip()):
            try:
                extraction = rendered if rendered is not None else await self.read_page(response)
            except ExtractionCrashed:
                if response.meta.get("endpoint") is not None:  # the endpoint's reading stands
                    yield self.reconciled(response, None)
                    return
                yield self.observation(response, FAILED, reason=EXTRACTION_CRASHED)
                return
            self.crawler.stats.inc_value(PAGES_READ)
            if render_rule is None:
                evidence = page_evidence(extraction, response.body)
                if evidence:
                    self.crawler.stats.inc_value(evidence)
        verdict = decide(response.status, response.meta.get("target_url", response.url), response.url,
                         bool(response.meta.get("redirect_urls")), extraction)
        rules = {**(extraction.rules if extraction is not None else {}), "observation": verdict.rules[0]}
        if render_rule:
            rules["render"] = render_rule
        if response.meta.get("endpoint") is not None:  # read to check the endpoint's reading
            yield self.reconciled(response, extraction if verdict.kind == OK else None)
            return
        if verdict.kind == OK and extraction is not None:
            check = self.endpoint_check(response, dataclasses.replace(extraction, rules=rules)) \
                if isinstance(response, TextResponse) else None
            if check is not None:  # the page shows a platform: its endpoint is read and reconciled
                yield check
                return
            yield self.observation_from(response, extraction, rules)
        else:
            yield self.observation(response, verdict.kind, reason=verdict.reason, rules=rules)
        self.logger.debug("listing %s read from %s: %s %s", response.meta["listing_id"], response.url,
                          verdict.kind, verdict.reason or "")

    def on_error(self, failure: Failure) -> Iterable[Observation]:
        """Every request that ends without a response to parse ends here: a failed observation."""
        request = failure.request
        reason = failure_reason(failure)
        response = getattr(failure.value, "response", None)
        self.crawler.stats.inc_value(f"pricehound/failed/{reason}")
        log.debug("listing %s failed (%s): %s", request.meta.get("listing_id"), reason, request.url)
        yield Observation(
            listing_id=request.meta["listing_id"], url=request.meta.get("target_url", request.url),
            kind=FAILED, reason=reason, status_code=response.status if response is not None else None,
            final_url=request.url,
        )

    # -- searches (spiders/discovery.py) --------------------------------------------------

    def search_request(self, search: SearchTarget) -> scrapy.Request:
        """The store's search page for the product; without one, its sitemap (named on the
        store, else listed in robots.txt, else /sitemap.xml)."""
        meta = {"search_id": search.id, "search": search, "handle_httpstatus_list": list(GONE_STATUSES)}
        if self.store.search_url:
            return scrapy.Request(S.search_url(self.store.search_url, search.query), callback=self.parse_search,
                                  errback=self.on_search_error, dont_filter=True, meta=meta)
        return self.sitemap_search_request(search)

    def sitemap_search_request(self, search: SearchTarget) -> scrapy.Request:
        """The store's sitemap: named on the store, else found through robots.txt."""
        if self.store.sitemap_url:
            return self._sitemap_request(self.store.sitemap_url, search, pending=[])
        origin = self.store.origin or f"https://{self.store.allowed_domains[0]}"
        return scrapy.Request(f"{origin}/robots.txt", callback=self.parse_robots, errback=self.on_search_error,
                              dont_filter=True, meta={"search_id": search.id, "search": search,
                                                      "handle_httpstatus_list": list(GONE_STATUSES)})

    def _sitemap_request(self, url: str, search: SearchTarget, pending: list[str],
                         found: list[tuple[str, str]] | None = None) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_search_error, dont_filter=True,
                              meta={"search_id": search.id, "search": search, "pending": pending,
                                    "found": found if found is not None else [],
                                    "handle_httpstatus_list": list(GONE_STATUSES)})

    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        search: SearchTarget = response.meta["search"]
        text = response.text if isinstance(response, TextResponse) and response.status == 200 else ""
        listed = [u for u in S.sitemaps_in_robots(text) if discovery.on_store(u, self.store.allowed_domains)]
        origin = self.store.origin or f"https://{self.store.allowed_domains[0]}"
        queue = S.order_sitemaps(listed) or [f"{origin}/sitemap.xml"]
        yield self._sitemap_request(queue[0], search, pending=queue[1:])

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        """Read one sitemap; follow an index's product sitemaps; then match URL slugs to the query."""
        search: SearchTarget = response.meta["search"]
        pending: list[str] = list(response.meta.get("pending") or [])
        found: list[tuple[str, str]] = list(response.meta.get("found") or [])
        pages, children = S.read_sitemap(response.body) if response.status == 200 else ([], [])
        if children:
            pending = S.order_sitemaps([u for u in children if discovery.on_store(u, self.store.allowed_domains)]
                                       + pending)
        found.extend((u, S.slug_title(u)) for u in pages if discovery.on_store(u, self.store.allowed_domains))
        if pending:
            yield self._sitemap_request(pending[0], search, pending=pending[1:], found=found)
            return
        if not found and response.status != 200:
            self._search_ended(search, "failed", S.RULE_SEARCH_FAILED)
            return
        candidates = S.best(search.query, found)
        if not candidates:
            self._search_ended(search, "not_found", S.RULE_SITEMAP_NO_MATCH)
            return
        yield from self._crawl_candidates(search, candidates, "sitemap")

    def parse_search(self, response: Response) -> Iterable[scrapy.Request]:
        """A search page: its result tiles, the best few against the query, their product pages."""
        search: SearchTarget = response.meta["search"]
        if response.status in GONE_STATUSES or not isinstance(response, TextResponse):
            self._search_ended(search, "failed", S.RULE_SEARCH_FAILED)
            return
        found = read_tiles(response.body, response.url, encoding=response.encoding,
                           currency_hint=self.store.default_currency)
        self.crawler.stats.inc_value("pricehound/search/tiles", len(found))
        if not found:
            # a page with no results is an answer only when it is the search page: a challenge,
            # a queue, maintenance or a wall served in its place says nothing about the product
            page = _page(response)
            if page.page_kind == "challenge" or page.page_reason in S.NOT_AN_ANSWER:
                self._search_ended(search, "failed", S.RULE_SEARCH_FAILED)
            else:
                self._search_ended(search, "not_found", S.RULE_NO_RESULTS)
            return
        candidates = S.best(search.query, [(t.url, t.name) for t in found])
        if not candidates:
            self._search_ended(search, "not_found", S.RULE_NO_MATCH)
            return
        yield from self._crawl_candidates(search, candidates, "search_page")

    def _crawl_candidates(self, search: SearchTarget, candidates: list, source: str) -> Iterable[scrapy.Request]:
        with self._engine().begin() as conn:
            listings = discovery.add_candidates(
                conn, store_id=self.store.id, allowed_domains=self.store.allowed_domains,
                trailing_slash=self.store.trailing_slash, search_id=search.id, run_id=self.run.id,
                source=source, candidates=candidates)
        if not listings:
            self._search_ended(search, "not_found", S.RULE_NO_MATCH)
            return
        self.crawler.stats.inc_value("pricehound/search/candidates", len(listings))
        for listing_id, url in listings:
            request = self.page_request(Target(listing_id=listing_id, url=url))
            request.meta["search_id"] = search.id
            yield request

    def on_search_error(self, failure: Failure) -> Iterable[scrapy.Request]:
        """A search page, robots.txt or sitemap that failed: the search is tried again later. A
        search page the store's robots.txt keeps crawlers off (Shopify's default does) is not a
        failure: the store is searched through its sitemap instead."""
        search = failure.request.meta.get("search")
        reason = failure_reason(failure)
        self.crawler.stats.inc_value(f"pricehound/search/failed/{reason}")
        if search is None:
            return
        if reason == "robots_disallowed" and failure.request.callback == self.parse_search:
            yield self.sitemap_search_request(search)
            return
        self._search_ended(search, "failed", S.RULE_SEARCH_FAILED)

    def _search_ended(self, search: SearchTarget, status: str, rule: str) -> None:
        self.crawler.stats.inc_value(f"pricehound/search/{status}")
        log.info("search %s for %r at %s: %s (%s)", search.id, search.query, self.store.slug, status, rule)
        try:
            with self._engine().begin() as conn:
                discovery.record_outcome(conn, [search.id], status, rule)
        except Exception:  # noqa: BLE001 - the search stays due and is tried again
            log.exception("search %s: could not record its outcome", search.id)

    def _engine(self):
        engine = self.__dict__.get("_db")
        if engine is None:
            from pricehound.config import get_settings
            from pricehound.db import get_engine

            engine = self.__dict__["_db"] = get_engine(get_settings())
        return engine

    # -- building observations ------------------------------------------------------------

    def observation(self, response: Response, kind: str, reason: str | None = None,
                    rules: dict[str, str] | None = None) -> Observation:
        if kind == FAILED:
            self.crawler.stats.inc_value(f"pricehound/failed/{reason}")
        elif kind == REMOVED:
            self.crawler.stats.inc_value(f"pricehound/removed/{reason}")
        return Observation(
            listing_id=response.meta["listing_id"], url=response.meta.get("target_url", response.url),
            kind=kind, reason=reason, status_code=response.status, final_url=response.url,
            rules=dict(rules or {}),
        )

    def observation_from(self, response: Response, ex: Extraction,
                         rules: dict[str, str] | None = None) -> Observation:
        """An ok observation from the extraction; ``rules`` names what decided each field."""
        self.crawler.stats.inc_value(f"pricehound/source/{ex.source or 'none'}")
        return Observation(
            listing_id=response.meta["listing_id"], url=response.meta.get("target_url", response.url),
            kind=OK, price=ex.price, currency=ex.currency, regular_price=ex.regular_price,
            availability=ex.availability, title=ex.name, sku=ex.sku, gtin=ex.gtin,
            brand=ex.brand, mpn=ex.mpn,
            image_url=ex.image_url, source=ex.source, status_code=response.status,
            final_url=response.url, rules=dict(rules if rules is not None else {"observation": "observe.product", **ex.rules}),
        )
