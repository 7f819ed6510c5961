"""Scrapy settings for pricehound's crawls.

The module-level names are the fixed part (what ``scrapy.cfg`` points at); ``crawl_settings``
adds what depends on the store being crawled and on pricehound's configuration, so one crawl
process is polite to exactly one store in exactly the way its ``stores`` row says.
"""

from __future__ import annotations

from typing import Any

from pricehound import tasknames
from pricehound.config import Settings

BOT_NAME = "pricehound"
SPIDER_MODULES = ["spiders.stores"]
NEWSPIDER_MODULE = "spiders.stores"

# -- politeness ----------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "pricehound"
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5         # each delay drawn from 0.5x to 1.5x, as RANDOMIZE_DOWNLOAD_DELAY did
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
COOKIES_ENABLED = True
REDIRECT_MAX_TIMES = 5
DOWNLOAD_TIMEOUT = 20
DNS_TIMEOUT = 10
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0

# -- retries: transient errors only, with backoff; Retry-After honoured up to a cap ---------
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 1.0       # seconds before the first retry, doubled for each further one
RETRY_BACKOFF_MAX = 30.0
RETRY_AFTER_MAX = 60.0         # a Retry-After longer than this is cut to it
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"  # a page that keeps failing is a failed observation, not an error

# Address rules at connect time: the resolver Twisted asks when it opens a connection hands it
# only public addresses (or, for a store marked local, any address of the store's own hosts),
# so a name that changes its answer after the URL guard looked (DNS rebinding) is still refused.
TWISTED_DNS_RESOLVER = "spiders.resolver.GuardedResolver"

DOWNLOADER_MIDDLEWARES = {
    # every request, robots.txt and redirects included, is checked before anything else
    "spiders.middlewares.UrlGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.BackoffRetryMiddleware": 550,
    # pages of a store that renders are fetched by headless Chromium (off for every other store);
    # last before the downloader, so the URL guard, robots.txt and retries see these requests too
    "spiders.rendering.RenderMiddleware": 950,
    # above the retries, so it sees each failure before a retry is made (and picks a rested proxy)
    "spiders.proxies.ProxyMiddleware": 560,
}

# A crawl requests its targets (and on a platform one more URL per target) and follows no links:
# link depth, the length of discovered URLs and Referer headers for followed links have nothing to
# do here, yet each of these middlewares would wrap every callback's output on the reactor.
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
}

# Each callback yields exactly one thing (an observation, or the next request for the target).
# Scrapy starts this many item workers (asyncio tasks) for every response whatever it yields:
# the default 100 cost more reactor time per page than the item pipelines themselves.
CONCURRENT_ITEMS = 1

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.postgres_writer.PostgresWriterPipeline": 800,
}

# -- pricehound ----------------------------------------------------------------------------
PRICEHOUND_RUN_ID = None               # set per run: the writer is off without it
PRICEHOUND_ALLOWED_DOMAINS: list[str] = []
PRICEHOUND_ALLOW_PRIVATE = False
PRICEHOUND_ALLOW_PRIVATE_HOSTS: list[str] = []  # read by the resolver: hosts that may be private
PRICEHOUND_DNS_LOOKUP = None           # host -> addresses (import path); None: the system resolver
PRICEHOUND_RESOLVE: list[str] = []     # host mapping HOST:PORT:ADDRESS, used before the lookup (local stores)
PRICEHOUND_REMOVED_AFTER = 2
PRICEHOUND_WRITE_BATCH = 500           # observations per flush
PRICEHOUND_WRITE_INTERVAL = 2.0        # seconds between flushes of a part-filled batch
PRICEHOUND_MAX_JUMP = 20               # beyond 20x or under 1/20 of the last: only when the visible page shows it
PRICEHOUND_CONFIRM = True              # stock flips, returns and large moves wait for a second agreeing reading
PRICEHOUND_CONFIRM_SHARE = "0.30"      # a price move beyond this share of the old price is read twice
PRICEHOUND_ALERT_TASK = tasknames.EVALUATE_EVENTS
PRICEHOUND_HANDOFF = True              # false: no alert task is sent; the caller evaluates the events
# Worker processes that read pages (spiders/extract_pool.py): None = CPUs - 1 (1 to 4), 0 = in-process.
PRICEHOUND_EXTRACT_WORKERS = None
PRICEHOUND_EXTRACT_READER = None       # import path of the page reader (tests); None: extract_product
# Rendering (spiders/rendering.py): on only for stores added with --render js.
PRICEHOUND_RENDER = False
PRICEHOUND_CHROMIUM_PATH = "/usr/bin/chromium"
PRICEHOUND_RENDER_BROWSER_URL = None   # DevTools URL of a running Chromium to use instead of launching one
PRICEHOUND_RENDER_CONTEXTS = 2         # browser contexts (pages at once) per crawl
PRICEHOUND_RENDER_TIMEOUT = 15.0       # seconds for a page to show its product data
PRICEHOUND_RENDER_MEMORY_BYTES = 1024 * 1024 * 1024  # the browser's resident memory ceiling per crawl
PRICEHOUND_RENDER_BLOCK = ["image", "font", "media"]  # resource types never fetched while rendering
PRICEHOUND_PROXY_POOL = None           # the store's pool name; its proxies come from PRICEHOUND_PROXY_POOLS
PRICEHOUND_PROXY_ROTATION = "round_robin"
PRICEHOUND_PROXY_REST = 30.0           # seconds a failed proxy rests, doubled per failure in a row
PRICEHOUND_PROXY_HOSTS: list[str] = []  # proxies' host:port: operator configuration the resolver lets through
PRICEHOUND_PLATFORM = None             # the store's platform as a crawl last found it (spiders/platforms)
PRICEHOUND_PLATFORM_ENDPOINTS = True   # false: read pages only, never a platform endpoint

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False        # no code-execution endpoint in a crawl process
LOG_LEVEL = "INFO"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_DATEFORMAT = "%Y-%m-%d %H:%M:%S"
LOGSTATS_INTERVAL = 60.0
EXTENSIONS = {"spiders.logformat.OneLineLogs": 0}  # one line per event under `scrapy crawl` too
FEED_EXPORT_ENCODING = "utf-8"


def crawl_settings(run: Any, config: Settings) -> dict[str, Any]:
    """Settings for one crawl run: this module, then the store's row, then pricehound's config.

    ``run`` is a spiders.targets.CrawlRun.
    """
    store = run.store
    delay = float(store.download_delay)
    concurrency = int(store.concurrency)
    allow_private = bool(store.is_local and config.allow_local_stores)
    return {
        "DOWNLOAD_DELAY": delay,
        "AUTOTHROTTLE_START_DELAY": max(delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, delay * 10),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "CONCURRENT_REQUESTS": max(concurrency, 8),
        "USER_AGENT": config.crawler_user_agent,
        "DOWNLOAD_TIMEOUT": config.download_timeout,
        "DOWNLOAD_MAXSIZE": config.max_response_bytes,
        "LOG_LEVEL": config.log_level.upper(),
        "PRICEHOUND_RUN_ID": run.id,
        "PRICEHOUND_ALLOWED_DOMAINS": list(store.allowed_domains),
        "PRICEHOUND_ALLOW_PRIVATE": allow_private,
        # the resolver's allowance, from the store row: a local store's own hosts, nothing else
        "PRICEHOUND_ALLOW_PRIVATE_HOSTS": list(store.allowed_domains) if allow_private else [],
        # the store's host mapping, like curl --resolve: only a local store, only while allowed
        "PRICEHOUND_RESOLVE": list(getattr(store, "resolve", ()) or ()) if allow_private else [],
        "PRICEHOUND_REMOVED_AFTER": config.removed_after,
        "PRICEHOUND_CONFIRM": config.confirm,
        "PRICEHOUND_CONFIRM_SHARE": str(config.confirm_share),
        "PRICEHOUND_MAX_JUMP": str(config.max_jump),
        "PRICEHOUND_SANITY_MIN_PAGES": config.sanity_min_pages,
        "PRICEHOUND_SANITY_SHARE": str(config.sanity_share),
        "PRICEHOUND_SANITY_FACTOR": str(config.sanity_factor),
        "PRICEHOUND_ALERT_TASK": config.alert_task,
        "PRICEHOUND_EXTRACT_WORKERS": config.extract_workers,
        "PRICEHOUND_RENDER": getattr(store, "render", "none") == "js",
        "PRICEHOUND_CHROMIUM_PATH": config.chromium_path,
        "PRICEHOUND_RENDER_BROWSER_URL": config.render_browser_url,
        "PRICEHOUND_RENDER_CONTEXTS": min(config.render_contexts, concurrency),
        "PRICEHOUND_RENDER_TIMEOUT": float(config.render_timeout),
        "PRICEHOUND_RENDER_MEMORY_BYTES": config.render_memory_mb * 1024 * 1024,
        "PRICEHOUND_RENDER_BLOCK": list(config.render_block),
        "PRICEHOUND_PLATFORM": getattr(store, "platform", None),
        **proxy_settings(store, config),
    }


def proxy_settings(store: Any, config: Settings) -> dict[str, Any]:
    """The store's proxy pool by name (the proxies and passwords are read from the environment
    by the middleware, so they appear in no settings dump), the proxies' addresses for the
    resolver, and the SOCKS-capable download handler when the pool has SOCKS proxies."""
    pool = getattr(store, "proxy_pool", None)
    if not pool:
        return {}
    try:
        proxies = config.proxy_pools.get(pool)
    except KeyError:
        return {"PRICEHOUND_PROXY_POOL": pool}  # the middleware refuses to crawl around it
    out: dict[str, Any] = {
        "PRICEHOUND_PROXY_POOL": pool,
        "PRICEHOUND_PROXY_ROTATION": getattr(store, "proxy_rotation", "round_robin"),
        "PRICEHOUND_PROXY_REST": config.proxy_rest,
        "PRICEHOUND_PROXY_HOSTS": [p.address for p in proxies],
    }
    if any(p.scheme.startswith("socks5") or p.scheme == "https" for p in proxies):
        out["DOWNLOAD_HANDLERS"] = {"http": "spiders.socks.TunnelDownloadHandler",
                                    "https": "spiders.socks.TunnelDownloadHandler"}
    return out
