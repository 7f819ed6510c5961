"""A page reader for tests: dies (like a segfault would kill it) on the page named by an env var.

``PRICEHOUND_TEST_CRASH_ON`` is a URL fragment; a page whose URL contains it kills the process
reading it, every other page is read as the crawl normally would.
"""

from __future__ import annotations

import os

from spiders.extract_pool import read_page
from spiders.extraction import Extraction

CRASH_ON_ENV = "PRICEHOUND_TEST_CRASH_ON"


def read(body: bytes, url: str, default_currency: str | None, hints: dict | None,
         encoding: str | None) -> Extraction:
    fragment = os.environ.get(CRASH_ON_ENV)
    if fragment and fragment in url:
        os._exit(70)
    return read_page(body, url, default_currency, hints, encoding)
