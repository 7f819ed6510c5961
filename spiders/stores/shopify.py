"""Shopify stores: read the platform's ``/products/<handle>.js`` endpoint first.

The endpoint gives every variant's price in minor units and a per-variant ``available`` flag,
which is more exact than any page markup. When it cannot be read (blocked by robots.txt, an
unreadable body, a store that turned it off) the spider falls back to the product page and the
generic extraction chain, so the target still gets its one observation.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.base import GONE_STATUSES, ProductSpider, failure_reason
from spiders.extraction import parse_shopify_product_js
from spiders.items import REMOVED, Observation
from spiders.targets import Target

FALL_BACK_ON = ("robots_disallowed", "unreadable")


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
        yield self.observation_from(response, ex)

    def on_endpoint_error(self, failure: Failure) -> Iterable[Observation | scrapy.Request]:
        if failure_reason(failure) in FALL_BACK_ON:
            self.crawler.stats.inc_value("pricehound/shopify/fallback")
            yield self._fallback(failure.request.meta)
            return
        yield from self.on_error(failure)

    def _fallback(self, meta: dict) -> scrapy.Request:
        target = self.run.target(meta["listing_id"]) or Target(meta["listing_id"], meta["target_url"])
        return self.page_request(target)
