"""Every observation read from a page says which rules decided its fields."""

from __future__ import annotations

import asyncio
import json
import pickle
from dataclasses import asdict, fields
from datetime import datetime
from decimal import Decimal

from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from spiders.base import ProductSpider
from spiders.items import Observation
from spiders.targets import CrawlRun, StoreConfig, Target

PRODUCT = b"""<html><head><title>Kettle</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","name":"Steel Kettle",
"offers":{"@type":"Offer","price":"19.99","priceCurrency":"USD","availability":"https://schema.org/InStock"}}</script>
</head><body><h1>Steel Kettle</h1><p class="price">$19.99</p><button>Add to cart</button></body></html>"""

GONE = b"""<html><head><title>Page not found</title></head><body><h1>Page not found</h1>
<p>Sorry, the product you are looking for is no longer available.</p></body></html>"""


def _spider() -> ProductSpider:
    store = StoreConfig(id=1, slug="s", spider="base", allowed_domains=("shop.example",), default_currency="USD",
                        download_delay=0, concurrency=1)
    run = CrawlRun(id=1, status="running", store=store,
                   targets=(Target(listing_id=7, url="https://shop.example/p/1"),))
    crawler = get_crawler(ProductSpider)
    spider = ProductSpider(run)
    spider.crawler = crawler
    return spider


def _observe(body: bytes) -> Observation:
    spider = _spider()
    request = Request("https://shop.example/p/1", meta={"listing_id": 7, "target_url": "https://shop.example/p/1"})
    response = HtmlResponse(request.url, status=200, body=body, encoding="utf-8", request=request)

    async def collect():
        return [o async for o in spider.parse_page(response)]

    (obs,) = asyncio.run(collect())
    return obs


def test_an_ok_observation_names_the_rule_behind_each_field():
    obs = _observe(PRODUCT)
    assert obs.kind == "ok" and obs.price == Decimal("19.99") and obs.currency == "USD"
    assert obs.rules["price"].startswith("price.")
    assert obs.rules["availability"].startswith("availability.")
    assert obs.rules["page_kind"].startswith("kind.")
    assert obs.rules["observation"] == "observe.product"


def test_a_removed_observation_names_the_page_kind_rule():
    obs = _observe(GONE)
    assert obs.kind == "removed"
    assert obs.rules["observation"] == "observe.gone_page"
    assert obs.rules["page_kind"].startswith("kind.")


def test_an_observation_with_rules_survives_json_and_pickle():
    obs = Observation(listing_id=3, url="https://shop.example/p/3", kind="ok", price=Decimal("2.500"),
                      currency="KWD", availability="in_stock",
                      rules={"price": "price.structured_in_buy_box", "availability": "availability.structured_in"})
    d = asdict(obs)
    text = json.dumps(d, default=lambda v: format(v, "f") if isinstance(v, Decimal) else v.isoformat())
    back = json.loads(text)
    again = Observation(**{**back, "price": Decimal(back["price"]), "observed_at": datetime.fromisoformat(back["observed_at"])})
    assert again == obs
    assert pickle.loads(pickle.dumps(obs)) == obs
    assert {f.name for f in fields(Observation)} >= {"rules"}


def test_observations_do_not_share_one_rules_dict():
    a = Observation(listing_id=1, url="u", kind="failed", reason="timeout")
    b = Observation(listing_id=2, url="u", kind="failed", reason="timeout")
    a.rules["observation"] = "x"
    assert b.rules == {}
