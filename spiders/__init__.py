"""Scrapy side of pricehound: settings, the observation item, the base product spider, one
module per store spider (spiders/stores/) and the process entry point (spiders/run.py).

What a page says is read by the pure functions in spiders/extraction; this package only fetches
pages politely and turns each crawl target into exactly one observation.
"""
