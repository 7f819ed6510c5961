"""Pages built by script, read through a real headless Chromium.

A store added with ``--render js`` has its product pages fetched by Chromium (Debian's package,
``PRICEHOUND_CHROMIUM_PATH``) driven by Playwright from the crawl process: the downloader
middleware below answers the spider's page requests with the rendered HTML, which then goes
through exactly the extraction and observation rules of any other page. Requests that are not
page requests (robots.txt, platform endpoints) are downloaded as usual.

- **A bounded pool of browser contexts per crawl** (``PRICEHOUND_RENDER_CONTEXTS``, never more
  than the store's concurrency), each with one page reused from render to render; page visits
  are spaced by the store's delay (DOWNLOAD_DELAY, with its jitter), as Scrapy's download slots
  would space them.
- **Blocked by default**: images, fonts and media (``PRICEHOUND_RENDER_BLOCK``: they fail in the
  browser before they are sent) and every host off the store's domains (refused by the proxy).
  Service workers are blocked too.
- **The address guard holds inside the browser**: Chromium resolves no name itself
  (``--host-resolver-rules``) and sends every request, loopback included, through the crawl's
  guarded proxy (spiders/guardproxy.py), which applies the crawl's domain and address rules and
  connects only to the address it vetted. WebRTC may not send UDP around the proxy.
- **Rendered until the product data is there**: after the document is parsed, the page is read
  with the extraction chain itself; it is read again whenever its DOM has changed and then been
  quiet for a moment, until the chain finds the product (``render.product_present``), or the page
  has settled (no request in flight, no change) as something else (``render.settled``), or the
  time limit runs out (``failed(render_timeout)``).
- **Failures are failures**: a timeout, a crashed page or browser, a refused address are
  ``failed`` observations with their reason (``render_timeout``, ``browser_crash``,
  ``blocked_url``), never a removal.
- **A memory ceiling** (``PRICEHOUND_RENDER_MEMORY_MB``): the memory of the browser's processes
  (their PSS: shared pages counted once) is measured as pages are released, at most once a second; over the ceiling, the context just used is closed
  (its renderer's memory goes with it) and the pool keeps one context fewer.

Stats (on the crawl_runs row): ``pricehound/render/pages``, ``.../rule/<rule>``,
``.../blocked/<type>``, ``.../refused`` (by the proxy: foreign hosts, private addresses),
``.../recycled``, ``.../peak_rss_bytes`` and ``.../peak_pss_bytes`` (see process_memory),
``.../browser_cpu_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.misc import load_object

from pricehound import hostmap, urls
from spiders.extraction import Extraction, extract_product
from spiders.guardproxy import REFUSED_HEADER, GuardProxy

log = logging.getLogger("pricehound.crawl")

RENDER_META = "pricehound_render"  # set by the spider on the requests to render
EXTRACTION_META = "pricehound_rendered_extraction"  # the reading the render stopped on
RULE_META = "pricehound_render_rule"
RENDERED_HEADER = "X-Pricehound-Rendered"

# Chromium as a crawler runs it: headless, as root in a container (no sandbox), no GPU, no QUIC
# (UDP would not go through the proxy), and none of the browser's own background traffic
# (component updates, sync, safe browsing, field trials), which would only be refused.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-breakpad", "--mute-audio",
    "--disable-domain-reliability", "--metrics-recording-only", "--no-pings",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # the browser's own calls home (form autofill hints, translation, optimisation hints, casting),
    # and the spare renderer it keeps starting for the next site (measured: ~15% of the CPU of a
    # rendered page; a crawl navigates one page within one site)
    "--disable-features=AutofillServerCommunication,Translate,OptimizationHints,MediaRouter,"
    "InterestFeedContentSuggestions,CertificateTransparencyComponentUpdater,SpareRendererForSitePerProcess",
)
# The browser resolves no host name at all: the proxy (an address) does it for the crawl.
NO_NAME_RESOLUTION = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
# Chromium sends requests for loopback hosts directly unless told otherwise: "<-loopback>"
# removes that exception, so a page cannot reach 127.0.0.1 around the proxy.
PROXY_BYPASS = "<-loopback>"
# The browser's own proxy: nothing listens there (port 9, discard, is one Chromium will not even
# try). Only the contexts a crawl opens, each with its crawl's guarded proxy, reach anything; the
# browser's own background calls go nowhere.
DEAD_PROXY = "http://127.0.0.1:9"

# Counts DOM changes from the first moment of every document (an init script).
MUTATIONS_SCRIPT = """(() => {
  if (window.__pricehoundMutations !== undefined) { return; }
  window.__pricehoundMutations = 0;
  new MutationObserver(() => { window.__pricehoundMutations++; })
    .observe(document, {subtree: true, childList: true, characterData: true});
})();"""
# Resolves [count, changed]: as soon as the DOM has changed since `seen` and then been quiet for
# `gap` ms, or after `quiet` ms with [count, false] when nothing changed.
SETTLE_SCRIPT = """([seen, gap, quiet]) => new Promise(resolve => {
  const start = performance.now();
  let last = window.__pricehoundMutations === undefined ? 0 : window.__pricehoundMutations;
  let changedAt = seen !== null && last !== seen ? start : null;
  const tick = () => {
    const now = performance.now();
    const count = window.__pricehoundMutations || 0;
    if (count !== last) { last = count; changedAt = now; }
    if (changedAt !== null && now - changedAt >= gap) { return resolve([last, true]); }
    if (now - start >= quiet) { return resolve([last, changedAt !== null]); }
    setTimeout(tick, 25);
  };
  tick();
})"""
READ_SCRIPT = """() => [window.__pricehoundMutations || 0,
  (document.doctype ? new XMLSerializer().serializeToString(document.doctype) + "\\n" : "")
  + document.documentElement.outerHTML]"""
CHANGE_GAP_MS = 100  # a DOM that changed is read again once it has been quiet this long
SETTLE_WINDOW_MS = 500  # no change and no request in flight this long: the page has settled
MEMORY_CHECK_SECONDS = 1.0
# Playwright's (and PRICEHOUND_RENDER_BLOCK's) resource type names -> DevTools' names
CDP_RESOURCE_TYPES = {"xhr": "XHR", "eventsource": "EventSource", "websocket": "WebSocket",
                      "texttrack": "TextTrack", "cspviolationreport": "CSPViolationReport"}


def shared_browser_command(chromium_path: str, user_data_dir: str, port: int = 0) -> list[str]:
    """A Chromium for PRICEHOUND_RENDER_BROWSER_URL: the same hardening as a crawl's own browser,
    DevTools on 127.0.0.1, and no proxy but a dead one, so that only the contexts a crawl opens
    (each with its crawl's guarded proxy) can fetch anything at all."""
    return [chromium_path, *CHROMIUM_FLAGS, f"--host-resolver-rules={NO_NAME_RESOLUTION}",
            f"--proxy-server={DEAD_PROXY}", f"--proxy-bypass-list={PROXY_BYPASS}",
            f"--user-data-dir={user_data_dir}", "--remote-debugging-address=127.0.0.1",
            f"--remote-debugging-port={port}", "about:blank"]


class RenderFailed(IgnoreRequest):
    """The browser could not give a page; ``reason`` is the observation's reason."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Rendered:
    status: int
    url: str
    html: str
    redirects: list[str]
    rule: str
    extraction: Extraction | None = None


@dataclass
class _Slot:
    context: Any
    page: Any
    inflight: int = 0
    crashed: bool = False
    uses: int = 0
    handlers: list = field(default_factory=list)


def process_memory(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) of these processes in bytes (Linux /proc; 0 for any that is gone).

    RSS counts every shared page (libraries, the browser's shared memory) once per process that
    maps it, so a browser's summed RSS overstates what it holds; PSS shares each page among the
    processes that map it, and sums to the memory the browser really uses. The ceiling is
    enforced on PSS."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return rss, pss


class BrowserPool:
    """Chromium (launched, or a running one at ``browser_url``) and a bounded pool of contexts."""

    def __init__(self, *, proxy: GuardProxy, reader: Any, chromium_path: str = "/usr/bin/chromium",
                 browser_url: str | None = None, contexts: int = 2, timeout: float = 15.0,
                 memory_bytes: int = 1 << 30, block: tuple[str, ...] = ("image", "font", "media"),
                 allowed_domains: tuple[str, ...] = (), user_agent: str | None = None,
                 max_bytes: int = 0, stats: Any = None, delay: float = 0.0, delay_jitter: float = 0.0):
        self.proxy = proxy
        self.reader = reader  # async (html, url) -> Extraction
        self.chromium_path = chromium_path
        self.browser_url = browser_url
        self.max_contexts = max(1, int(contexts))
        self.limit = self.max_contexts
        self.timeout = float(timeout)
        self.memory_bytes = int(memory_bytes)
        self.block = frozenset(block)
        self.allowed_domains = tuple(allowed_domains)
        self.user_agent = user_agent
        self.max_bytes = int(max_bytes or 0)
        self.stats = stats
        # the store's delay between page visits: rendered pages bypass Scrapy's download slots
        self.delay = max(0.0, float(delay or 0))
        self.delay_jitter = min(max(0.0, float(delay_jitter or 0)), 1.0)
        self._next_visit = 0.0
        self._pace_lock: asyncio.Lock | None = None
        self._pw: Any = None
        self._browser: Any = None
        self._cdp: Any = None
        self._user_data: tempfile.TemporaryDirectory | None = None
        self._idle: list[_Slot] = []
        self._open = 0
        self._cond: asyncio.Condition | None = None
        self._start_lock: asyncio.Lock | None = None
        self._last_memory_check = 0.0
        self.peak_rss = 0
        self.peak_pss = 0

    # -- the browser ------------------------------------------------------------------------

    def _inc(self, key: str, n: float = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"pricehound/render/{key}", n)

    async def start(self) -> None:
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
            self._cond = asyncio.Condition()
        async with self._start_lock:
            if self._browser is not None and self._browser.is_connected():
                return
            await self._drop_browser()
            from playwright.async_api import async_playwright

            if self._pw is None:
                self._pw = await async_playwright().start()
            if self.browser_url:
                self._browser = await self._pw.chromium.connect_over_cdp(self.browser_url)
            else:
                if not os.path.exists(self.chromium_path):
                    raise RenderFailed("browser_missing", f"no Chromium at {self.chromium_path}; install "
                                       "Debian's chromium package or set PRICEHOUND_CHROMIUM_PATH")
                self._user_data = tempfile.TemporaryDirectory(prefix="pricehound-chromium-")
                self._browser = await self._pw.chromium.launch(
                    executable_path=self.chromium_path, headless=True,
                    args=[*CHROMIUM_FLAGS, f"--host-resolver-rules={NO_NAME_RESOLUTION}",
                          f"--proxy-server={DEAD_PROXY}", f"--proxy-bypass-list={PROXY_BYPASS}"],
                    # a fresh profile for each browser: nothing carried over between crawls
                    env={**os.environ, "HOME": self._user_data.name})
                self._inc("launches")
            self._cdp = await self._browser.new_browser_cdp_session()
            self._open, self._idle = 0, []

    async def _drop_browser(self) -> None:
        browser, self._browser, self._cdp = self._browser, None, None
        if browser is not None:
            with contextlib.suppress(Exception):
                if self.browser_url:
                    for slot in self._idle:
                        await slot.context.close()
                else:
                    await browser.close()
        self._idle, self._open = [], 0
        if self._user_data is not None:
            with contextlib.suppress(Exception):
                self._user_data.cleanup()
            self._user_data = None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._record_browser_cpu()
        await self._drop_browser()
        if self._pw is not None:
            with contextlib.suppress(Exception):
                await self._pw.stop()
            self._pw = None

    async def processes(self) -> list[dict]:
        """The browser's processes (type, pid, CPU seconds), as the browser reports them."""
        if self._cdp is None:
            return []
        info = await self._cdp.send("SystemInfo.getProcessInfo")
        return list(info.get("processInfo") or ())

    async def _record_browser_cpu(self) -> None:
        if self.browser_url or self._cdp is None:
            return  # a shared browser's CPU is not this crawl's alone
        cpu = sum(float(p.get("cpuTime") or 0) for p in await self.processes())
        if self.stats is not None:
            self.stats.set_value("pricehound/render/browser_cpu_seconds", round(cpu, 3))

    async def memory(self) -> tuple[int, int]:
        """(RSS, PSS) of the browser's processes now; the peaks are kept."""
        rss, pss = process_memory([int(p["id"]) for p in await self.processes() if p.get("id")])
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
        if self.stats is not None:
            self.stats.max_value("pricehound/render/peak_rss_bytes", rss)
            self.stats.max_value("pricehound/render/peak_pss_bytes", pss)
        return rss, pss

    # -- contexts ---------------------------------------------------------------------------

    async def _new_slot(self) -> _Slot:
        context = await self._browser.new_context(
            proxy={"server": self.proxy.url, "bypass": PROXY_BYPASS},
            user_agent=self.user_agent, service_workers="block", accept_downloads=False,
            viewport={"width": 1280, "height": 900}, java_script_enabled=True)
        await context.add_init_script(MUTATIONS_SCRIPT)
        page = await context.new_page()
        slot = _Slot(context=context, page=page)
        await self._block_types(context, page)

        def started(_request: Any) -> None:
            slot.inflight += 1

        def ended(_request: Any) -> None:
            slot.inflight = max(0, slot.inflight - 1)

        def crashed(_page: Any) -> None:
            slot.crashed = True

        page.on("request", started)
        page.on("requestfinished", ended)
        page.on("requestfailed", ended)
        page.on("crash", crashed)
        self._inc("contexts_opened")
        return slot

    async def _block_types(self, context: Any, page: Any) -> None:
        """Requests of the blocked types fail in the browser before they are sent. Only those
        requests stop for the crawl to answer (DevTools' Fetch domain with resource-type
        patterns); every other request goes straight to the proxy, which refuses hosts off the
        store's domains."""
        if not self.block:
            return
        cdp = await context.new_cdp_session(page)

        async def refuse(event: dict) -> None:
            self._inc(f"blocked/{str(event.get('resourceType') or 'other').lower()}")
            with contextlib.suppress(Exception):
                await cdp.send("Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "BlockedByClient"})

        cdp.on("Fetch.requestPaused", lambda event: asyncio.ensure_future(refuse(event)))
        await cdp.send("Fetch.enable", {"patterns": [
            {"urlPattern": "*", "resourceType": CDP_RESOURCE_TYPES.get(kind, kind.title()), "requestStage": "Request"}
            for kind in sorted(self.block)]})

    async def acquire(self) -> _Slot:
        await self.start()
        assert self._cond is not None
        async with self._cond:
            while not self._idle and self._open >= self.limit:
                await self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return await self._new_slot()
        except BaseException:
            async with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    async def release(self, slot: _Slot, *, broken: bool = False) -> None:
        assert self._cond is not None
        recycle = broken or slot.crashed or not self._browser or not self._browser.is_connected()
        if not recycle and time.monotonic() - self._last_memory_check >= MEMORY_CHECK_SECONDS:
            self._last_memory_check = time.monotonic()
            with contextlib.suppress(Exception):
                _rss, pss = await self.memory()
                if pss > self.memory_bytes:
                    recycle = True
                    if self.limit > 1:
                        self.limit -= 1
                    log.warning("browser memory %.0f MiB over the ceiling of %.0f MiB: a context closed, "
                                "%d kept", pss / 2**20, self.memory_bytes / 2**20, self.limit)
        if recycle:
            self._inc("recycled")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(slot.context.close(), 5)
            async with self._cond:
                self._open = max(0, self._open - 1)  # a relaunch may have reset the count already
                self._cond.notify()
            return
        async with self._cond:
            self._idle.append(slot)
            self._cond.notify()

    # -- rendering --------------------------------------------------------------------------

    async def _pace(self) -> None:
        """Wait until the store's delay since the last page visit has passed (politeness: the
        rendered pages never go through Scrapy's download slots, which apply DOWNLOAD_DELAY)."""
        if self.delay <= 0:
            return
        if self._pace_lock is None:
            self._pace_lock = asyncio.Lock()
        async with self._pace_lock:
            wait = self._next_visit - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            spread = random.uniform(1 - self.delay_jitter, 1 + self.delay_jitter)
            self._next_visit = time.monotonic() + self.delay * spread

    async def render(self, url: str) -> Rendered:
        """The page at ``url`` once its product data is there; RenderFailed otherwise."""
        slot = await self.acquire()
        started = time.monotonic()
        broken = True
        try:
            await self._pace()
            result = await asyncio.wait_for(self._render(slot, url), self.timeout)
            broken = False
            return result
        except asyncio.TimeoutError:
            raise RenderFailed("render_timeout", f"no product data within {self.timeout:.0f} s") from None
        except IgnoreRequest:  # RenderFailed, or BlockedURL when the guard refused the page
            raise
        except Exception as exc:  # noqa: BLE001 - whatever Playwright raises is sorted into a reason
            raise self._failure(slot, url, exc) from None
        finally:
            self._inc("pages")
            self._inc("seconds", round(time.monotonic() - started, 3))
            await self.release(slot, broken=broken)

    def _failure(self, slot: _Slot, url: str, exc: Exception) -> Exception:
        from spiders.middlewares import BlockedURL

        text = str(exc)
        if slot.crashed or not self._browser or not self._browser.is_connected() \
                or "crash" in text.lower() or "has been closed" in text or "Target closed" in text:
            log.warning("browser crashed rendering %s: %s", url, text.splitlines()[0] if text else exc)
            return RenderFailed("browser_crash", text.splitlines()[0] if text else type(exc).__name__)
        try:
            host, port = urls.host_and_port(url)
        except urls.UnsafeURL:
            host, port = "", 0
        refused = self.proxy.refusals.get(f"{host}:{port}")
        if refused is not None or "ERR_TUNNEL_CONNECTION_FAILED" in text:
            return BlockedURL(refused or "the guard refused the browser's connection")
        if "ERR_BLOCKED_BY_CLIENT" in text:  # a document is never blocked by type: it left the domains
            return BlockedURL("the page sent the browser off the store's domains")
        if "ERR_TIMED_OUT" in text or "Timeout" in type(exc).__name__:
            return RenderFailed("render_timeout", text.splitlines()[0])
        return RenderFailed("connection_error", text.splitlines()[0] if text else type(exc).__name__)

    async def _render(self, slot: _Slot, url: str) -> Rendered:
        from spiders.middlewares import BlockedURL

        page = slot.page
        slot.uses += 1
        response = await page.goto(url, wait_until="domcontentloaded", timeout=self.timeout * 1000)
        if response is None:
            raise RenderFailed("render_error", "the browser gave no document")
        refused = await response.header_value(REFUSED_HEADER)
        if refused:
            raise BlockedURL(refused)
        redirects: list[str] = []
        hop = response.request.redirected_from
        while hop is not None:
            redirects.insert(0, hop.url)
            hop = hop.redirected_from
        final_url = response.url
        if response.status >= 400:
            return Rendered(response.status, final_url, await page.content(), redirects, "render.error_status")
        seen, html, extraction = await self._read(page, final_url)
        while True:
            if extraction.page_kind == "product":
                return Rendered(response.status, final_url, html, redirects, "render.product_present", extraction)
            count, changed = await page.evaluate(SETTLE_SCRIPT, [seen, CHANGE_GAP_MS, SETTLE_WINDOW_MS])
            if changed:
                seen, html, extraction = await self._read(page, final_url)
                continue
            if slot.inflight == 0:
                # quiet, and nothing in flight that could still fill it in: it is what it is
                return Rendered(response.status, final_url, html, redirects, "render.settled", extraction)

    async def _read(self, page: Any, url: str) -> tuple[int, str, Extraction]:
        """The DOM's change count and markup as of now, and the extraction chain's reading of it."""
        seen, html = await page.evaluate(READ_SCRIPT)
        if self.max_bytes and len(html) > self.max_bytes:
            raise RenderFailed("oversize", f"the rendered page is over {self.max_bytes} bytes")
        return int(seen or 0), html, await self.reader(html, url)


class RenderMiddleware:
    """Answer the spider's page requests of a store that renders with the page as Chromium built it.

    Off (NotConfigured) unless PRICEHOUND_RENDER is true, which crawl_settings sets from the
    store's row. The browser starts on the first page to render and stops when the spider closes.
    """

    def __init__(self, crawler: Crawler):
        s = crawler.settings
        if not s.getbool("PRICEHOUND_RENDER"):
            raise NotConfigured("this store's pages are not rendered")
        self.crawler = crawler
        lookup = s.get("PRICEHOUND_DNS_LOOKUP")
        self.proxy = GuardProxy(
            s.getlist("PRICEHOUND_ALLOWED_DOMAINS"), allow_private=s.getbool("PRICEHOUND_ALLOW_PRIVATE"),
            lookup=load_object(lookup) if lookup else None,
            host_map=hostmap.HostMap.parse(s.getlist("PRICEHOUND_RESOLVE")), stats=crawler.stats,
            idle_timeout=max(5.0, s.getfloat("PRICEHOUND_RENDER_TIMEOUT", 15.0) * 2))
        self.pool = BrowserPool(
            proxy=self.proxy, reader=self._read, chromium_path=s.get("PRICEHOUND_CHROMIUM_PATH"),
            browser_url=s.get("PRICEHOUND_RENDER_BROWSER_URL") or None,
            contexts=s.getint("PRICEHOUND_RENDER_CONTEXTS", 2),
            timeout=s.getfloat("PRICEHOUND_RENDER_TIMEOUT", 15.0),
            memory_bytes=s.getint("PRICEHOUND_RENDER_MEMORY_BYTES", 1 << 30),
            block=tuple(s.getlist("PRICEHOUND_RENDER_BLOCK")),
            allowed_domains=tuple(s.getlist("PRICEHOUND_ALLOWED_DOMAINS")),
            user_agent=s.get("USER_AGENT"), max_bytes=s.getint("DOWNLOAD_MAXSIZE", 0), stats=crawler.stats,
            delay=s.getfloat("DOWNLOAD_DELAY", 0.0), delay_jitter=s.getfloat("DOWNLOAD_DELAY_JITTER", 0.0))
        self._proxy_started = False
        if self.pool.browser_url:
            # the shared browser's DevTools endpoint is never a place a page may reach
            try:
                host, port = urls.host_and_port(self.pool.browser_url)
                self.proxy.never.add((host if urls.ip_literal(host) is None else str(urls.ip_literal(host)), port))
            except urls.UnsafeURL:
                pass
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RenderMiddleware:
        return cls(crawler)

    async def _read(self, html: str, url: str) -> Extraction:
        """The extraction chain's reading, in the spider's page readers when it has them."""
        spider = self.crawler.spider
        store = getattr(spider, "store", None)
        currency = getattr(store, "default_currency", None)
        hints = getattr(store, "extraction_hints", None) or None
        pool = getattr(spider, "pool", None)
        body = html.encode("utf-8")
        if pool is not None:
            return await pool.read(body, url, default_currency=currency, hints=hints, encoding="utf-8")
        return extract_product(body, url, default_currency=currency, hints=hints, encoding="utf-8")

    async def process_request(self, request: Request) -> HtmlResponse | None:
        if not request.meta.get(RENDER_META):
            return None
        if not self._proxy_started:
            await self.proxy.start()
            self._proxy_started = True
        rendered = await self.pool.render(request.url)
        self.crawler.stats.inc_value(f"pricehound/render/rule/{rendered.rule}")
        if rendered.redirects:
            request.meta["redirect_urls"] = rendered.redirects
        request.meta[EXTRACTION_META] = rendered.extraction
        request.meta[RULE_META] = rendered.rule
        return HtmlResponse(url=rendered.url, status=rendered.status, body=rendered.html.encode("utf-8"),
                            encoding="utf-8", request=request,
                            headers={"Content-Type": "text/html; charset=utf-8", RENDERED_HEADER: "js"})

    async def spider_closed(self, spider: Any = None) -> None:
        await self.pool.close()
        await self.proxy.close()
