"""Shopify stores named by the operator (``--spider shopify``): the ``/products/<handle>.js``
endpoint first, from the first listing of the first run.

Any store whose pages show Shopify's evidence gets the same reading without naming this spider
(spiders/platforms/shopify.py, spiders/endpoints.py); this spider only skips the first page read.
The endpoint knows no pre-order state: when its document mentions a pre-order, the page is read
as well and a pre-order there wins (price and identity still come from the endpoint). Other
products cost one request.
"""

from __future__ import annotations

from spiders.base import ProductSpider


class ShopifySpider(ProductSpider):
    name = "shopify"
    fixed_platform = "shopify"
    verify_every = 0          # the page is read only when the endpoint hints at a pre-order
    reads_most_pages = False  # the endpoint is JSON; pages are read only to check pre-orders or as a fallback
