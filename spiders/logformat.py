"""Scrapy's own log lines in pricehound's one format, however the crawl was started.

`python -m spiders.run` installs pricehound's handler itself; `scrapy crawl` (scrapy.cfg) lets
Scrapy install a root handler with a plain logging.Formatter, which writes a traceback over many
lines. This extension gives every root handler pricehound's formatter (one line per event,
PRICEHOUND_LOG_FORMAT=json for containers) as the crawler loads its extensions; the few lines
Scrapy writes before that (its version, the settings it was given) keep Scrapy's format."""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from pricehound import logs


class OneLineLogs:
    @classmethod
    def from_crawler(cls, crawler: Crawler | None) -> OneLineLogs:
        for handler in logging.getLogger().handlers:
            handler.setFormatter(logs.formatter())
        logging.captureWarnings(True)
        return cls()
