"""Shopify stores: read the platform's ``/products/<handle>.js`` endpoint first.

The endpoint gives every variant's price in minor units and a per-variant ``available`` flag,
which is more exact than any page markup. When it cannot be read (blocked by robots.txt, an
unreadable body, a store that turned it off) the spider falls back to the product page and the
generic extraction chain, so the target still gets its one observation.

The endpoint knows no pre-order state: a pre-order variant is simply ``available``. When the
endpoint's document mentions a pre-order at all (a tag, the title, the description, a selling
plan named so), the product page is read as well, and if the page says pre-order, that wins
(price and identity still come from the endpoint). Products without such a mention cost one
request, as before.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Iterable
from urllib.parse import parse_qs, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from spiders.base import GONE_STATUSES, ProductSpider, failure_reason
from spiders.extract_pool import EXTRACTION_CRASHED, ExtractionCrashed
from spiders.extraction import Extraction, parse_shopify_product_js
from spiders.items import OK, REMOVED, Observation
from spiders.targets import Target

FALL_BACK_ON = ("robots_disallowed", "unreadable")
# English, German and French spellings; the endpoint body is searched as bytes, once.
PREORDER_SIGNAL = re.compile(rb"pre[-_ ]?order|vorbestell|pr(?:e|\xc3\xa9)-?commande", re.IGNORECASE)


def endpoint_url(product_url: str) -> str | None:
    """``https://shop/products/kettle?variant=1`` -> ``https://shop/products/kettle.js``."""
    parts = urlsplit(product_url)
    path = parts.path.rstrip("/")
    if "/products/" not in path or path.endswith((".js", ".json")):
        return None
    return urlunsplit((parts.scheme, parts.netloc, path + ".js", "", ""))


def variant_of(product_url: str) -> str | None:
    values = parse_qs(urlsplit(product_url).query).get("variant")
    return values[0] if values else None


class ShopifySpider(ProductSpider):
    name = "shopify"
    reads_most_pages = False  # the endpoint is JSON; pages are read only to check pre-orders or as a fallback

    def requests_for(self, target: Target) -> Iterable[scrapy.Request]:
        js = endpoint_url(target.url)
        if js is None:
            yield self.page_request(target)
            return
        yield scrapy.Request(
            js, callback=self.parse_endpoint, errback=self.on_endpoint_error, dont_filter=True,
            meta={"listing_id": target.listing_id, "target_url": target.url,
                  "handle_httpstatus_list": list(GONE_STATUSES)},
        )

    def parse_endpoint(self, response: Response) -> Iterable[Observation | scrapy.Request]:
        if response.status in GONE_STATUSES:
            yield self.observation(response, REMOVED, reason=f"http_{response.status}")
            return
        target_url = response.meta["target_url"]
        ex = parse_shopify_product_js(response.body, variant_of(target_url), self.store.default_currency)
        if ex.page_kind != "product" or ex.source is None and ex.availability == "unknown":
            self.crawler.stats.inc_value("pricehound/shopify/fallback")
            yield self._fallback(response.meta)
            return
        if ex.availability != "preorder" and PREORDER_SIGNAL.search(response.body):
            self.crawler.stats.inc_value("pricehound/shopify/preorder_check")
            target = self.run.target(response.meta["listing_id"]) or Target(response.meta["listing_id"], target_url)
            check = self.page_request(target)
            yield check.replace(callback=self.parse_preorder_check, errback=self.on_preorder_check_error,
                                meta={**check.meta, "endpoint": ex, "endpoint_status": response.status,
                                      "endpoint_url": response.url})
            return
        yield self.observation_from(response, ex)

    async def parse_preorder_check(self, response: Response) -> AsyncIterator[Observation]:
        """The product page, read only for its availability: pre-order there wins.

        A page that kills its reader (see spiders/extract_pool.py) says nothing: the endpoint's
        reading stands, as when the page cannot be fetched.
        """
        ex: Extraction = response.meta["endpoint"]
        page = None
        if response.status not in GONE_STATUSES and isinstance(response, TextResponse):
            try:
                page = await self.pool.read(response.body, response.url,
                                            default_currency=self.store.default_currency,
                                            encoding=response.encoding)
            except ExtractionCrashed:
                self.crawler.stats.inc_value(f"pricehound/shopify/{EXTRACTION_CRASHED}")
        if page is not None and page.page_kind == "product" and page.availability == "preorder":
            self.crawler.stats.inc_value("pricehound/shopify/preorder")
            ex = dataclasses.replace(ex, availability="preorder")
        yield self.observation_from(response, ex)

    def on_preorder_check_error(self, failure: Failure) -> Iterable[Observation]:
        """The page could not be read: the endpoint's reading stands."""
        meta = failure.request.meta
        ex: Extraction = meta["endpoint"]
        self.crawler.stats.inc_value(f"pricehound/source/{ex.source or 'none'}")
        yield Observation(
            listing_id=meta["listing_id"], url=meta.get("target_url", failure.request.url), kind=OK,
            price=ex.price, currency=ex.currency, regular_price=ex.regular_price,
            availability=ex.availability, title=ex.name, sku=ex.sku, gtin=ex.gtin, image_url=ex.image_url,
            brand=ex.brand, mpn=ex.mpn,
            source=ex.source, status_code=meta.get("endpoint_status"), final_url=meta.get("endpoint_url"),
        )

    def on_endpoint_error(self, failure: Failure) -> Iterable[Observation | scrapy.Request]:
        if failure_reason(failure) in FALL_BACK_ON:
            self.crawler.stats.inc_value("pricehound/shopify/fallback")
            yield self._fallback(failure.request.meta)
            return
        yield from self.on_error(failure)

    def _fallback(self, meta: dict) -> scrapy.Request:
        target = self.run.target(meta["listing_id"]) or Target(meta["listing_id"], meta["target_url"])
        return self.page_request(target)
