"""Platform endpoints in a crawl: ask the endpoint, fall back to the page, reconcile the two.

Two ways in, decided per target when its first request is made:

- **endpoint first**: the store's platform is known (``stores.platform``, found by an earlier
  crawl, or a platform spider such as ``shopify``). The endpoint is asked; its reading is the
  observation. The page is read as well when the platform says the endpoint cannot tell
  (Shopify's pre-orders) and, to keep the endpoint honest, for about one listing in
  ``verify_every`` (the same listings each run: ``listing_id`` modulo). An endpoint that cannot
  be read, is switched off (robots.txt, 4xx) or finds nothing falls back to the page.
- **page first**: the platform is not known. The page is read; when it shows a platform's
  evidence (spiders/platforms) the endpoint is asked too, reconciled with the page, and the
  rest of the run goes endpoint first.

Reconciliation (``reconcile``): where the endpoint and the page disagree on the price, what a
buyer sees wins and the page's reading is recorded; where they agree, the endpoint's (exact
money, SKU, stock per variant), with the page's pre-order or stock wording where the endpoint
has none. Each reading carries the rule in ``rules["reconcile"]``.

An endpoint that keeps disagreeing or failing in a run (``DISTRUST_AFTER``) is not asked again
in that run, and the store's platform is cleared so the next run looks again; a run that read
the endpoint records the platform on the store (``record``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

import scrapy
import sqlalchemy as sa
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from spiders.extraction import Extraction
from spiders.items import OK, REMOVED, Observation
from spiders.platforms import Platform, by_name, detect
from spiders.targets import Target

log = logging.getLogger("pricehound.crawl")

GONE = (404, 410)
DISTRUST_AFTER = 3
# Why an endpoint request failed, when the page may still be read: the endpoint is forbidden to
# robots, unreadable, or refused (switched off, not allowed) while the page may well answer.
FALL_BACK_ON = frozenset({"robots_disallowed", "unreadable", "ignored"}
                         | {f"http_{code}" for code in range(400, 500) if code not in (404, 408, 410, 429)})
STATS = "pricehound/platform/"


def reconcile(endpoint: Extraction, page: Extraction) -> tuple[Extraction, str]:
    """The reading to record when the endpoint and the page were both read, and why. Where the
    endpoint's reading stands, the page's identity (GTIN, brand, part number) fills what the
    endpoint leaves out: a platform's API often has no GTIN field, and the product's identity
    must not depend on which of the two was read."""
    chosen, rule = _reconcile(endpoint, page)
    if chosen is page or page.page_kind != "product":
        return chosen, rule
    return _with_page_identity(chosen, page), rule


def _with_page_identity(endpoint: Extraction, page: Extraction) -> Extraction:
    filled = {f: getattr(page, f) for f in ("gtin", "brand", "mpn")
              if getattr(endpoint, f) is None and getattr(page, f) is not None}
    return dataclasses.replace(endpoint, **filled) if filled else endpoint


def _reconcile(endpoint: Extraction, page: Extraction) -> tuple[Extraction, str]:
    if page.page_kind != "product" or page.price is None:
        return endpoint, "reconcile.endpoint_only"
    if endpoint.page_kind != "product" or endpoint.price is None:
        return page, "reconcile.page_only"
    if endpoint.price != page.price or (endpoint.currency and page.currency and endpoint.currency != page.currency):
        return page, "reconcile.page_over_endpoint"
    if page.availability == "preorder" and endpoint.availability != "preorder":
        return _with_page_availability(endpoint, page), "reconcile.page_preorder"
    if endpoint.availability == "unknown" and page.availability != "unknown":
        return _with_page_availability(endpoint, page), "reconcile.page_availability"
    if page.availability not in ("unknown", endpoint.availability):
        return page, "reconcile.page_over_endpoint"
    return endpoint, "reconcile.agree"


def _with_page_availability(endpoint: Extraction, page: Extraction) -> Extraction:
    rules = {**endpoint.rules, "availability": page.rules.get("availability", "availability.page")}
    return dataclasses.replace(endpoint, availability=page.availability, rules=rules)


def _marked(ex: Extraction, rule: str) -> Extraction:
    return dataclasses.replace(ex, rules={**ex.rules, "reconcile": rule})


class EndpointFlow:
    """Mixed into spiders.base.ProductSpider: the endpoint side of a crawl (see the module)."""

    fixed_platform: str | None = None  # a platform spider's own platform (always endpoint first)
    verify_every = 10                  # 0: never read the page only to check the endpoint

    # attributes of ProductSpider this mixin uses
    run: Any
    store: Any
    crawler: Any
    pool: Any

    def platform_setup(self) -> None:
        self.platform: Platform | None = by_name(self.fixed_platform or getattr(self.store, "platform", None))
        self.endpoint_ok = 0
        self.endpoint_failed = 0
        self.disagreements = 0
        self.distrusted = False
        self.found: dict[str, str] = {}
        self.endpoints_off = not self.crawler_setting_bool("PRICEHOUND_PLATFORM_ENDPOINTS", True)
        if self.endpoints_off:  # pages only for this crawl; the store's platform is left as it is
            self.platform, self.distrusted = None, True

    def crawler_setting_bool(self, name: str, default: bool) -> bool:
        crawler = getattr(self, "crawler", None)
        return crawler.settings.getbool(name, default) if crawler is not None else default

    # -- first requests ---------------------------------------------------------------------

    def first_request(self, target: Target) -> scrapy.Request:
        platform = None if self.distrusted else self.platform
        url = platform.endpoint_url(target.url, None) if platform is not None else None
        if platform is None or url is None:
            return self.page_request(target)
        verify = bool(self.verify_every) and target.listing_id % self.verify_every == self.run.id % self.verify_every
        return scrapy.Request(url, callback=self.parse_endpoint, errback=self.on_endpoint_error, dont_filter=True,
                              meta={"listing_id": target.listing_id, "target_url": target.url,
                                    "handle_httpstatus_list": list(GONE), "platform": platform.name,
                                    "verify": verify})

    def page_request(self, target: Target) -> scrapy.Request:  # pragma: no cover - ProductSpider's
        raise NotImplementedError

    def _target(self, meta: dict) -> Target:
        return self.run.target(meta["listing_id"]) or Target(meta["listing_id"], meta["target_url"])

    def fallback(self, meta: dict, platform: str) -> scrapy.Request:
        """The page, read as any page (its endpoint already failed): no second endpoint try."""
        self.crawler.stats.inc_value(f"{STATS}{platform}/fallback")
        page = self.page_request(self._target(meta))
        return page.replace(meta={**page.meta, "platform_checked": True})

    # -- endpoint first -----------------------------------------------------------------------

    def parse_endpoint(self, response: Response) -> Iterable[Observation | scrapy.Request]:
        platform = by_name(response.meta["platform"])
        assert platform is not None
        if response.status in GONE and platform.gone_on_404:
            self._endpoint_worked(platform)
            yield self.observation(response, REMOVED, reason=f"http_{response.status}")
            return
        ex = None if response.status in GONE else platform.parse(
            response.body, response.meta["target_url"], self.store.default_currency)
        if ex is None or ex.page_kind != "product" or ex.source is None and ex.availability == "unknown":
            self._endpoint_failed(platform)
            yield self.fallback(response.meta, platform.name)
            return
        self._endpoint_worked(platform)
        target = self.run.target(response.meta["listing_id"])
        preorder_before = (not platform.knows_preorder and ex.availability == "in_stock"
                           and target is not None and target.availability == "preorder")
        if response.meta.get("verify") or preorder_before or platform.needs_page(response.body, ex):
            self.crawler.stats.inc_value(f"{STATS}{platform.name}/page_check")
            page = self.page_request(self._target(response.meta))
            yield page.replace(errback=self.on_page_check_error, meta={
                **page.meta, "endpoint": ex, "endpoint_status": response.status, "endpoint_url": response.url,
                "platform": platform.name, "platform_checked": True})
            return
        yield self.observation_from(response, ex)

    def on_endpoint_error(self, failure: Failure) -> Iterable[Observation | scrapy.Request]:
        from spiders.base import failure_reason

        meta = failure.request.meta
        platform = meta["platform"]
        self.crawler.stats.inc_value(f"{STATS}{platform}/endpoint_error")
        if failure_reason(failure) in FALL_BACK_ON:
            found = by_name(platform)
            if found is not None:
                self._endpoint_failed(found)
            yield self.fallback(meta, platform)
            return
        yield from self.on_error(failure)

    def on_page_check_error(self, failure: Failure) -> Iterable[Observation]:
        """The page could not be fetched: the endpoint's reading stands."""
        meta = failure.request.meta
        yield self._ok(meta, _marked(meta["endpoint"], "reconcile.endpoint_only"),
                       meta.get("endpoint_status"), meta.get("endpoint_url"))

    # -- page first ---------------------------------------------------------------------------

    def reconciled(self, response: Response, page: Extraction | None) -> Observation | None:
        """When the page was read to check an endpoint's reading: the reconciled observation
        (the endpoint's reading stands when the page says nothing)."""
        endpoint: Extraction | None = response.meta.get("endpoint")
        if endpoint is None:
            return None
        if page is None:
            return self.observation_from(response, _marked(endpoint, "reconcile.endpoint_only"))
        ex, rule = reconcile(endpoint, page)
        self._count_reconcile(response.meta.get("platform"), rule)
        return self.observation_from(response, _marked(ex, rule))

    def endpoint_check(self, response: TextResponse, page: Extraction) -> scrapy.Request | None:
        """After a page read as a product: the endpoint request when the page shows a platform
        (and the platform was not known), else None."""
        if self.distrusted or response.meta.get("platform_checked"):
            return None
        found = detect(response.headers, response.body)
        if found is None:
            return None
        platform, rule = found
        self.crawler.stats.inc_value(f"{STATS}{platform.name}/detected")
        self.found.setdefault(platform.name, rule)
        if self.platform is None:
            self.platform = platform  # the rest of the run asks the endpoint first
        url = platform.endpoint_url(response.meta.get("target_url", response.url), response.body)
        if url is None:
            return None
        return scrapy.Request(url, callback=self.parse_endpoint_check, errback=self.on_endpoint_check_error,
                              dont_filter=True, meta={
                                  "listing_id": response.meta["listing_id"],
                                  "target_url": response.meta.get("target_url", response.url),
                                  "page": page, "page_status": response.status, "page_url": response.url,
                                  "platform": platform.name})

    def parse_endpoint_check(self, response: Response) -> Iterable[Observation]:
        platform = by_name(response.meta["platform"])
        assert platform is not None
        page: Extraction = response.meta["page"]
        ex = platform.parse(response.body, response.meta["target_url"], self.store.default_currency) \
            if response.status == 200 else None
        if ex is None or ex.page_kind != "product" or ex.source is None and ex.availability == "unknown":
            self._endpoint_failed(platform)
            yield self._ok(response.meta, _marked(page, "reconcile.page_only"),
                           response.meta["page_status"], response.meta["page_url"])
            return
        self._endpoint_worked(platform)
        chosen, rule = reconcile(ex, page)
        self._count_reconcile(platform.name, rule)
        yield self.observation_from(response, _marked(chosen, rule))

    def on_endpoint_check_error(self, failure: Failure) -> Iterable[Observation]:
        """The endpoint could not be read: the page's reading stands."""
        meta = failure.request.meta
        found = by_name(meta["platform"])
        if found is not None:
            self._endpoint_failed(found)
        yield self._ok(meta, _marked(meta["page"], "reconcile.page_only"), meta["page_status"], meta["page_url"])

    # -- bookkeeping --------------------------------------------------------------------------

    def _ok(self, meta: dict, ex: Extraction, status: int | None, url: str | None) -> Observation:
        self.crawler.stats.inc_value(f"pricehound/source/{ex.source or 'none'}")
        return Observation(
            listing_id=meta["listing_id"], url=meta.get("target_url", url), kind=OK, price=ex.price,
            currency=ex.currency, regular_price=ex.regular_price, availability=ex.availability, title=ex.name,
            sku=ex.sku, gtin=ex.gtin, brand=ex.brand, mpn=ex.mpn, image_url=ex.image_url, source=ex.source,
            status_code=status,
            final_url=url, rules={"observation": "observe.product", **ex.rules},
        )

    def _endpoint_worked(self, platform: Platform) -> None:
        self.endpoint_ok += 1
        self.found.setdefault(platform.name, "platform.endpoint_answered")
        self.crawler.stats.inc_value(f"{STATS}{platform.name}/endpoint_read")

    def _endpoint_failed(self, platform: Platform) -> None:
        self.endpoint_failed += 1
        self.crawler.stats.inc_value(f"{STATS}{platform.name}/endpoint_failed")
        if self.endpoint_ok == 0 and self.endpoint_failed >= DISTRUST_AFTER:
            self._distrust(platform.name, "its endpoint answered nothing readable")

    def _count_reconcile(self, platform: str | None, rule: str) -> None:
        self.crawler.stats.inc_value(f"{STATS}{platform}/{rule}")
        if rule == "reconcile.page_over_endpoint":
            self.disagreements += 1
            if self.disagreements >= DISTRUST_AFTER:
                self._distrust(platform or "?", "its endpoint disagreed with the pages")

    def _distrust(self, platform: str, why: str) -> None:
        if not self.distrusted:
            self.distrusted = True
            self.crawler.stats.set_value(f"{STATS}distrusted", platform)
            log.warning("store %s: %s; the pages are read for the rest of this crawl", self.store.slug, why)

    def platform_closed(self) -> None:
        """Leave in the stats what the store's platform should be (``record`` writes it)."""
        stats = self.crawler.stats
        if self.endpoints_off:
            return
        if self.distrusted:
            stats.set_value(f"{STATS}store", "")
            return
        if self.platform is not None and (self.endpoint_ok or self.found):
            stats.set_value(f"{STATS}store", self.platform.name)
            stats.set_value(f"{STATS}evidence", self.found.get(self.platform.name, "platform.store_setting"))


RECORD_SQL = sa.text(
    """
    UPDATE stores
       SET platform = NULLIF(:platform, ''),
           platform_seen_at = CASE WHEN :platform = '' THEN platform_seen_at ELSE pricehound_now() END
     WHERE id = :store_id
    """
)


def record(conn: Any, store_id: int, stats: dict[str, Any]) -> None:
    """Keep on the store the platform this run found ('' clears it; no word leaves it as it was)."""
    platform = stats.get(f"{STATS}store")
    if platform is None:
        return
    conn.execute(RECORD_SQL, {"platform": str(platform), "store_id": store_id})
