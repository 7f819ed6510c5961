"""Proxies per store: a downloader middleware that sends each request through the store's pool.

A store names a pool (``stores.proxy_pool``); the pool's proxies and their passwords come from
the environment (PRICEHOUND_PROXY_POOLS, pricehound/config.py), never from the database or the
crawl's settings, so no settings dump or log line carries a password.

Rotation is per store: ``round_robin`` gives each request the next proxy that is not resting;
``sticky`` keeps a listing on the proxy it was first given (its page, its endpoint and its
retries look like one visitor) until that proxy fails, and then moves it to the next one.

A proxy that fails (it cannot be reached, the tunnel or the SOCKS handshake is refused, 407) or
is refused by the store (403, 429 through it) rests: 1x the rest time after its first failure in
a row, then 2x, 4x... up to 32x. A request never waits long for a resting pool: when every
proxy rests for more than ``WAIT_MAX`` seconds the request fails as ``proxy_error`` (a failed
observation, never a removal), and the next crawl tries again.

The URL guard (spiders/middlewares.py) runs first and vets the *target* host as always; the
proxy itself is operator configuration and is let through by the resolver
(PRICEHOUND_PROXY_HOSTS). Over ``socks5`` the crawler resolves the target through the guarded
resolver and hands the proxy an address it approved (spiders/socks.py).

Stats, per proxy label (``scheme://host:port``, no credentials):
``pricehound/proxy/<label>/requests``, ``.../failures``, ``.../rests``; ``pricehound status``
sums the failures of recent runs per proxy.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    NotConfigured,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from twisted.internet import error as txerror

from pricehound.config import Proxy

log = logging.getLogger("pricehound.crawl")

PROXY_ERROR = "proxy_error"
STATS_PREFIX = "pricehound/proxy/"
ROTATIONS = ("round_robin", "sticky")
REFUSED_BY_PROXY = (407,)              # the proxy refuses us: its credentials are wrong or spent
REFUSED_THROUGH_PROXY = (403, 429)     # the store refuses the proxy's address: a ban
MAX_REST_FACTOR = 32
WAIT_MAX = 5.0                         # seconds a request may wait for a resting pool
SWITCHES_MAX = 1                       # a refused request is asked once more through another proxy
# Errors of the connection itself: with a proxy between, the proxy is the connection.
CONNECTION_FAULTS: tuple[type[BaseException], ...] = (
    DownloadConnectionRefusedError, DownloadFailedError, DownloadTimeoutError, ResponseDataLossError,
    CannotResolveHostError, txerror.ConnectError, txerror.ConnectionLost, txerror.ConnectionDone,
    txerror.TimeoutError, txerror.DNSLookupError, ConnectionError,
)
META_LABEL = "pricehound_proxy"
META_FAULT = "pricehound_proxy_fault"
META_TUNNEL = "pricehound_tunnel"
META_SWITCHES = "pricehound_proxy_switches"


class ProxyUnavailable(Exception):
    """No proxy of the store's pool can take the request now; ``str()`` says why."""


def is_proxy_fault(exc: BaseException) -> bool:
    """Whether a failed request's exception is the proxy's doing (the tunnel, the handshake or the
    connection to it): the SOCKS and CONNECT errors of spiders/socks.py, Scrapy's TunnelError."""
    if isinstance(exc, ProxyUnavailable):
        return True
    return type(exc).__name__ in ("TunnelError", "Socks5Error", "TunnelRefused")


@dataclass
class ProxyState:
    """One proxy and how it has been doing in this crawl."""

    proxy: Proxy
    failures_in_row: int = 0
    rest_until: float = 0.0
    requests: int = 0
    failures: int = 0
    rests: int = 0

    @property
    def label(self) -> str:
        return self.proxy.label


class ProxyPool:
    """The rotation and the resting of one pool's proxies; pure (the clock is given), so the rules
    are tested without a crawl."""

    def __init__(self, proxies: Sequence[Proxy], rotation: str = "round_robin", rest: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        if rotation not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, got {rotation!r}")
        self.states = [ProxyState(p) for p in proxies]
        self.rotation = rotation
        self.rest = float(rest)
        self.clock = clock
        self._next = itertools.cycle(range(len(self.states))) if self.states else iter(())
        self._sticky: dict[Any, int] = {}

    def by_label(self, label: str) -> ProxyState | None:
        return next((s for s in self.states if s.label == label), None)

    def resting(self, state: ProxyState) -> bool:
        return state.rest_until > self.clock()

    def choose(self, key: Any = None) -> ProxyState | None:
        """The proxy for the next request (``key``: the listing, for sticky rotation); None when
        every proxy rests."""
        if not self.states:
            return None
        if self.rotation == "sticky" and key is not None:
            held = self._sticky.get(key)
            if held is not None and not self.resting(self.states[held]):
                return self.states[held]
        for _ in range(len(self.states)):
            index = next(self._next)
            if not self.resting(self.states[index]):
                if self.rotation == "sticky" and key is not None:
                    self._sticky[key] = index
                return self.states[index]
        return None

    def wait_seconds(self) -> float:
        """How long until the first resting proxy may be used again."""
        now = self.clock()
        return max(0.0, min((s.rest_until for s in self.states), default=now) - now)

    def failed(self, state: ProxyState) -> float:
        """Count a failure and rest the proxy: 1x, 2x, 4x... the rest time; returns the rest."""
        state.failures += 1
        state.failures_in_row += 1
        state.rests += 1
        rest = self.rest * min(MAX_REST_FACTOR, 2 ** (state.failures_in_row - 1))
        state.rest_until = self.clock() + rest
        return rest

    def worked(self, state: ProxyState) -> None:
        state.failures_in_row = 0


class ProxyMiddleware:
    """Send every request of the crawl through the store's proxy pool (see the module docstring)."""

    def __init__(self, crawler: Crawler, pool_name: str, pool: ProxyPool):
        self.crawler = crawler
        self.pool_name = pool_name
        self.pool = pool

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyMiddleware:
        s = crawler.settings
        name = s.get("PRICEHOUND_PROXY_POOL")
        if not name:
            raise NotConfigured("the store has no proxy pool")
        from pricehound.config import get_settings

        try:
            proxies: Sequence[Proxy] = get_settings().proxy_pools.get(name)
        except KeyError:
            # never fall back to a direct connection the operator chose to avoid
            log.error("proxy pool %r is not in PRICEHOUND_PROXY_POOLS: every request of this crawl fails", name)
            proxies = ()
        pool = ProxyPool(proxies, s.get("PRICEHOUND_PROXY_ROTATION") or "round_robin",
                         s.getfloat("PRICEHOUND_PROXY_REST", 30.0))
        return cls(crawler, name, pool)

    # -- requests ---------------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        key = request.meta.get("listing_id") or request.meta.get("target_url") or request.url
        state = self.pool.choose(key)
        if state is None and self.pool.states and self.pool.wait_seconds() <= WAIT_MAX:
            await sleep(self.pool.wait_seconds())
            state = self.pool.choose(key)
        if state is None:
            why = (f"every proxy of pool {self.pool_name!r} is resting after failures" if self.pool.states
                   else f"proxy pool {self.pool_name!r} is not configured (PRICEHOUND_PROXY_POOLS)")
            self.crawler.stats.inc_value(f"{STATS_PREFIX}{self.pool_name}/unavailable")
            request.meta[META_FAULT] = True
            raise ProxyUnavailable(why)
        proxy = state.proxy
        state.requests += 1
        self._inc(state, "requests")
        request.meta[META_LABEL] = state.label
        request.meta.pop(META_FAULT, None)
        if proxy.scheme == "http":
            # Scrapy's own proxy support (HttpProxyMiddleware turns the credentials into a header)
            request.meta.pop(META_TUNNEL, None)
            request.meta["proxy"] = proxy.url
        else:
            # socks5, socks5h and TLS to the proxy: spiders/socks.py opens the tunnel
            request.meta["proxy"] = None  # None, not absent: no proxy from the environment either
            request.headers.pop(b"Proxy-Authorization", None)
            request.meta[META_TUNNEL] = proxy

    # -- outcomes ---------------------------------------------------------------------------

    def process_response(self, request: Request, response: Response) -> Request | Response:
        state = self._state(request)
        if state is None:
            return response
        if response.status in REFUSED_BY_PROXY or response.status in REFUSED_THROUGH_PROXY:
            self._fail(state, f"http_{response.status}")
            switches = int(request.meta.get(META_SWITCHES, 0))
            if response.status != 429 and switches < SWITCHES_MAX and self._another_ready(state):
                # 429 is retried by the retry middleware (after its pause); 403 and 407 are not
                self.crawler.stats.inc_value(f"{STATS_PREFIX}{self.pool_name}/switched")
                return request.replace(dont_filter=True, meta={**request.meta, META_SWITCHES: switches + 1})
            if response.status in REFUSED_BY_PROXY:
                request.meta[META_FAULT] = True
            return response
        self.pool.worked(state)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        state = self._state(request)
        if state is None or isinstance(exception, ProxyUnavailable):
            return None
        if is_proxy_fault(exception) or isinstance(exception, CONNECTION_FAULTS):
            request.meta[META_FAULT] = True
            self._fail(state, type(exception).__name__)
        return None

    # -- helpers ----------------------------------------------------------------------------

    def _state(self, request: Request) -> ProxyState | None:
        label = request.meta.get(META_LABEL)
        return self.pool.by_label(label) if label else None

    def _another_ready(self, state: ProxyState) -> bool:
        return any(s is not state and not self.pool.resting(s) for s in self.pool.states)

    def _fail(self, state: ProxyState, why: str) -> None:
        rest = self.pool.failed(state)
        self._inc(state, "failures")
        self._inc(state, "rests")
        log.warning("proxy %s of pool %s failed (%s); resting %.0fs", state.label, self.pool_name, why, rest)

    def _inc(self, state: ProxyState, what: str) -> None:
        self.crawler.stats.inc_value(f"{STATS_PREFIX}{state.label}/{what}")

