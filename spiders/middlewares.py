"""Downloader middlewares: the URL guard (SSRF and domain rules on every request) and retries
with backoff that honour Retry-After.

Both are downloader middlewares, so they see every request Scrapy sends: the targets, the
robots.txt fetches and each hop of a redirect (RedirectMiddleware hands a new request back to
the engine, which passes it through the whole chain again).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import run_in_thread, sleep
from scrapy.utils.misc import load_object

from pricehound import urls

log = logging.getLogger("pricehound.crawl")


class BlockedURL(IgnoreRequest):
    """The request was refused by the URL guard; ``str()`` says why."""


def connect_refusal(url: str) -> str | None:
    """Why the crawl's resolver (spiders/resolver.py) refused to connect to the URL's host, if it did.

    Twisted reports a refused name as a plain failed lookup; the resolver keeps the reason.
    """
    from twisted.internet import reactor

    refusals = getattr(getattr(reactor, "nameResolver", None), "refusals", None)
    if not refusals:
        return None
    try:
        host, port = urls.host_and_port(url)
    except urls.UnsafeURL:
        return None
    return refusals.get(f"{host}:{port}")


class UrlGuardMiddleware:
    """Refuse any request off the store's allowed domains or onto a private network.

    The domain rules are checked on every request (redirects included). The address check
    resolves the host (in a thread, never on the reactor) once per host and run, so a refusal
    is reported before anything is sent; the resolver applies the same rules again to the
    answer each connection uses (DNS rebinding). A store marked local (demo store, tests) may
    use private addresses when the operator allows local stores at all.
    """

    def __init__(self, crawler: Crawler, allowed_domains: list[str], allow_private: bool,
                 lookup: Any = None, host_map: Any = None):
        from pricehound import hostmap

        self.crawler = crawler
        self.host_map = host_map or hostmap.HostMap()
        self.allowed_domains = tuple(allowed_domains)
        self.allow_private = allow_private
        self.lookup = lookup or urls.system_resolver
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UrlGuardMiddleware:
        s = crawler.settings
        lookup = s.get("PRICEHOUND_DNS_LOOKUP")
        if lookup is not None:
            lookup = load_object(lookup)
        from pricehound import hostmap

        return cls(crawler, s.getlist("PRICEHOUND_ALLOWED_DOMAINS"), s.getbool("PRICEHOUND_ALLOW_PRIVATE"),
                   lookup, hostmap.HostMap.parse(s.getlist("PRICEHOUND_RESOLVE")))

    async def process_request(self, request: Request) -> None:
        refusal = await self.refusal(request.url)
        if refusal is not None:
            self.crawler.stats.inc_value("pricehound/blocked_url")
            log.warning("refused %s: %s", request.url, refusal)
            raise BlockedURL(refusal)

    async def refusal(self, url: str) -> str | None:
        """Why the URL must not be fetched, or None."""
        try:
            host, port = urls.host_and_port(url)
        except urls.UnsafeURL as exc:
            return str(exc)
        if not urls.domain_matches(host, port, self.allowed_domains):
            return f"{host}:{port} is not one of the store's domains"
        key = f"{host}:{port}"
        if key not in self._verdicts:
            self._verdicts[key] = await run_in_thread(self._check, url)
        return self._verdicts[key]

    def _check(self, url: str) -> str | None:
        try:
            _host, port = urls.host_and_port(url)
            urls.check_fetchable(url, allow_private=self.allow_private,
                                 resolver=self.host_map.lookup(self.lookup, port))
        except urls.UnsafeURL as exc:
            return str(exc)
        return None


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """A Retry-After header as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    # The server's date is real wall-clock time, so the wait is measured against real time.
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def is_challenge_response(response: Response) -> bool:
    """A bot wall announces itself in headers often enough to skip pointless retries."""
    mitigated = response.headers.get(b"cf-mitigated")
    return bool(mitigated and mitigated.lower() == b"challenge")


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry rules (transient errors only) with a pause before each retry.

    The pause is the server's Retry-After on 429/503 (cut to RETRY_AFTER_MAX), otherwise
    exponential backoff with jitter. A bot challenge is not retried: asking again only makes
    the wall higher.
    """

    def __init__(self, settings: Any):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 30.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 60.0)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if is_challenge_response(response):
            return response
        result = super().process_response(request, response)
        if isinstance(result, Request):
            hint = None
            if response.status in (429, 503):
                hint = retry_after_seconds(response.headers.get(b"Retry-After"))
            await self._pause(result, hint)
        return result

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        if connect_refusal(request.url) is not None:
            return None  # refused by policy, not a transient error: asking again changes nothing
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._pause(result, None)
        return result

    async def _pause(self, retry: Request, retry_after: float | None) -> None:
        attempt = int(retry.meta.get("retry_times", 1))
        if retry_after is not None:
            delay = min(retry_after, self.retry_after_max)
        else:
            delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
            delay *= random.uniform(0.8, 1.2)
        if delay > 0:
            self.crawler.stats.inc_value("pricehound/retry/wait_seconds", round(delay, 3))
            await sleep(delay)
