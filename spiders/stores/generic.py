"""The generic spider: any store whose product pages the extraction chain reads as they are."""

from __future__ import annotations

from spiders.base import ProductSpider


class GenericSpider(ProductSpider):
    name = "generic"
