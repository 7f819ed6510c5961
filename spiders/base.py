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

from spiders.endpoints import EndpointFlow
from spiders.extract_pool import EXTRACTION_CRASHED, ExtractionCrashed, ExtractionPool, pool_size
from spiders.extraction import Extraction, extract_product
from spiders.extraction.model import not_a_product
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
