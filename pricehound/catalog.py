"""Stores, users and watches: the write paths the command line and the HTTP service share.

Each function validates everything before it writes and raises ``InputError`` with a message
a person can act on, so a refused request leaves no row behind. Adding a watch creates or
bumps the listing's crawl frontier row through the trigger in schema.sql, never here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import urls
from pricehound.kinds import DEFAULT_NOTIFY, NOTIFY_KINDS

__all__ = ["DEFAULT_NOTIFY", "NOTIFY_KINDS"]  # re-exported: callers validate watches here
DEFAULT_LIST_NAME = "Watching"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SPIDER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?$")
MAX_PRICE = Decimal("9999999999.99")
MAX_ID = 2**63 - 1  # PostgreSQL bigint




class InputError(ValueError):
    """Input refused before anything was written; the message says what to change."""


@dataclass(frozen=True)
class Store:
    """A ``stores`` row: the one Python shape of it, for the command line, the web service and
    each crawl (spiders/targets.py reads it with its run)."""

    id: int
    slug: str
    allowed_domains: tuple[str, ...]
    spider: str
    default_currency: str
    download_delay: Decimal
    concurrency: int
    name: str = ""
    is_local: bool = False
    active: bool = True
    extraction_hints: dict[str, Any] = field(default_factory=dict)
    resolve: tuple[str, ...] = ()  # host mapping (pricehound/hostmap.py), local stores only
    trailing_slash: str = "strip"
    render: str = "none"  # none | js: pages fetched as served, or rendered in headless Chromium
    proxy_pool: str | None = None  # a pool of PRICEHOUND_PROXY_POOLS, by name only
    proxy_rotation: str = "round_robin"
    platform: str | None = None  # the shop platform the crawl last found
    search_url: str | None = None  # search page template with {query}; None: search the sitemap
    sitemap_url: str | None = None
    # scheme://host of the store's pages (search URL, sitemap, newest listing); a crawl run's
    # query computes it, other readers leave it None
    origin: str | None = None

    @classmethod
    def from_row(cls, row: Any, *, prefix: str = "") -> Store:
        """From a row holding the store's columns (``prefix`` when a join renamed them)."""
        m = row._mapping

        def col(name: str, default: Any = None) -> Any:
            return m.get(prefix + name, m.get(name, default))

        return cls(
            id=col("id"), slug=col("slug"), name=col("name", ""), allowed_domains=tuple(col("allowed_domains")),
            spider=col("spider"), default_currency=str(col("default_currency")).strip(),
            download_delay=Decimal(col("download_delay")), concurrency=int(col("concurrency")),
            is_local=bool(col("is_local", False)), active=bool(col("active", True)),
            extraction_hints=dict(col("extraction_hints") or {}),
            resolve=tuple(col("resolve") or ()),
            trailing_slash=col("url_trailing_slash") or "strip",
            render=col("render") or "none",
            proxy_pool=col("proxy_pool"), proxy_rotation=col("proxy_rotation") or "round_robin",
            platform=col("platform"),
            search_url=col("search_url"), sitemap_url=col("sitemap_url"), origin=col("origin"),
        )


# -- validation ---------------------------------------------------------------------------------

def control_character(text: str) -> str | None:
    """The first control character in ``text`` (C0, DEL, C1, line and paragraph separators), or None.
    PostgreSQL cannot store NUL, and the others have no place in a name, an address or a URL."""
    for ch in text:
        code = ord(ch)
        if code < 32 or 127 <= code < 160 or code in (0x2028, 0x2029):
            return ch
    return None


def check_text(raw: str | None, what: str) -> str | None:
    """``raw`` unchanged, or InputError when it holds a control character."""
    if raw is not None and control_character(raw) is not None:
        raise InputError(f"{what} must not contain control characters ({control_character(raw)!r})")
    return raw


def parse_id(raw: str | int, what: str = "id") -> int:
    """A positive id that fits PostgreSQL's bigint."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InputError(f"{what} must be a whole number, got {raw!r}") from None
    if not 1 <= value <= MAX_ID:
        raise InputError(f"{what} must be between 1 and {MAX_ID}, got {raw}")
    return value


def parse_email(raw: str) -> str:
    check_text(raw, "an email address")
    email = (raw or "").strip()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InputError(f"{raw!r} is not an email address")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def parse_money(raw: str | Decimal | None, what: str) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InputError(f"{what} must be a number, got {raw!r}") from None
    if not value.is_finite():
        raise InputError(f"{what} must be a number, got {raw!r}")
    if value < 0:
        raise InputError(f"{what} must not be negative, got {raw}")
    if value > MAX_PRICE:
        raise InputError(f"{what} is too large ({raw})")
    return value.quantize(Decimal("0.01"))


def parse_percent(raw: str | Decimal | None, what: str = "minimum drop percent") -> Decimal:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Decimal(0)
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InputError(f"{what} must be a number between 0 and 100, got {raw!r}") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise InputError(f"{what} must be a number between 0 and 100, got {raw!r}")
    return value.quantize(Decimal("0.01"))


# cheapest_store compares one product's price across stores, so it can fire only for a watch of a
# product at several stores; a URL watches one store's listing and would never hear it.
CHEAPEST_ON_URL = ("cheapest_store cannot fire on a watch of one URL (it compares a product across "
                   "stores); leave it out of the alert kinds")


def parse_notify(raw: str | Iterable[str] | None, *, url_watch: bool = False) -> list[str]:
    if raw is None:
        return list(DEFAULT_NOTIFY)
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    kinds = [k.strip().lower().replace("-", "_") for k in items if k.strip()]
    unknown = [k for k in kinds if k not in NOTIFY_KINDS]
    if unknown or not kinds:
        raise InputError(f"unknown alert kind(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(NOTIFY_KINDS)}")
    if url_watch and "cheapest_store" in kinds:
        raise InputError(CHEAPEST_ON_URL)
    return sorted(set(kinds), key=NOTIFY_KINDS.index)


def parse_domains(raw: str | Sequence[str], *, is_local: bool = True) -> list[str]:
    """Lower-case domains; an IP address, localhost or a local-network name only for a store
    marked local (``is_local``), so a store that could never be crawled is refused at the door."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    domains = [d.strip().lower().rstrip(".") for d in items if d.strip()]
    if not domains:
        raise InputError("a store needs at least one allowed domain")
    for domain in domains:
        check_text(domain, "a domain")
        if not DOMAIN_RE.match(domain):
            raise InputError(f"{domain!r} is not a domain name (example: shop.example.com)")
        if not is_local:
            host = domain.rsplit(":", 1)[0] if ":" in domain else domain
            if urls.ip_literal(host) is not None:
                raise InputError(f"{domain!r} is an IP address: give the store's domain name "
                                 "(or add a local test store with --local)")
            if urls.is_local_name(host):
                raise InputError(f"{domain!r} only names this machine or a local network "
                                 "(add a local test store with --local)")
    return domains


def parse_currency(raw: str) -> str:
    from pricehound.currencies import ISO_CODES

    value = (raw or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", value) or value not in ISO_CODES:
        raise InputError(f"currency must be an ISO 4217 code like USD or EUR, got {raw!r}")
    return value


# What a store's extraction hints may hold: a CSS/XPath selector per field the selector step
# reads, and flags the validation step reads.
HINT_FLAGS = ("free_items",)


def parse_selectors(raw: dict[str, Any] | None) -> dict[str, Any]:
    """A store's extraction hints, refused when a key is unknown or a selector is not text."""
    from spiders.extraction.selectors import FIELDS

    hints = dict(raw or {})
    unknown = sorted(k for k in hints if k not in FIELDS and k not in HINT_FLAGS)
    if unknown:
        raise InputError(f"unknown selector key(s) {', '.join(map(repr, unknown))}; "
                         f"use {', '.join(FIELDS)} (and the flag {', '.join(HINT_FLAGS)})")
    for key in FIELDS:
        if key in hints and not (isinstance(hints[key], str) and hints[key].strip()):
            raise InputError(f"the selector for {key!r} must be a CSS or XPath expression")
        if key in hints:
            check_text(hints[key], f"the selector for {key!r}")
    for key in HINT_FLAGS:
        if key in hints and not isinstance(hints[key], bool):
            raise InputError(f"{key!r} must be true or false")
    return hints


# -- stores -------------------------------------------------------------------------------------

def add_store(
    conn: Connection,
    *,
    slug: str,
    name: str,
    domains: str | Sequence[str],
    spider: str = "generic",
    currency: str = "USD",
    delay: Decimal | float | str = Decimal("1.0"),
    concurrency: int = 2,
    min_interval: timedelta = timedelta(minutes=5),
    max_interval: timedelta = timedelta(hours=6),
    selectors: dict[str, Any] | None = None,
    is_local: bool = False,
) -> Store:
    """Create a store, or update it when the slug exists (so set-up scripts can re-run)."""
    if not SLUG_RE.match(slug or ""):
        raise InputError(f"store slug {slug!r} must be lower-case letters, digits, '-' or '_'")
    if not (name or "").strip():
        raise InputError("a store needs a name")
    check_text(name, "a store name")
    if not SPIDER_RE.match(spider or ""):
        raise InputError(f"spider name {spider!r} must be lower-case letters, digits or '_'")
    try:
        delay_value = Decimal(str(delay))
    except InvalidOperation:
        raise InputError(f"download delay must be a number of seconds, got {delay!r}") from None
    if not delay_value.is_finite() or delay_value < 0:
        raise InputError(f"download delay must be a number of seconds >= 0, got {delay!r}")
    if not 1 <= int(concurrency) <= 32:
        raise InputError(f"concurrency must be between 1 and 32, got {concurrency}")
    if min_interval <= timedelta(0) or max_interval < min_interval:
        raise InputError("crawl intervals must be positive and min <= max")
    row = conn.execute(
        sa.text(
            """
            INSERT INTO stores (slug, name, allowed_domains, spider, default_currency, download_delay,
                                concurrency, min_interval, max_interval, extraction_hints, is_local)
            VALUES (:slug, :name, :domains, :spider, :currency, :delay, :concurrency,
                    :min_interval, :max_interval, CAST(:hints AS jsonb), :is_local)
            ON CONFLICT (slug) DO UPDATE
               SET name = excluded.name, allowed_domains = excluded.allowed_domains,
                   spider = excluded.spider, default_currency = excluded.default_currency,
                   download_delay = excluded.download_delay, concurrency = excluded.concurrency,
                   min_interval = excluded.min_interval, max_interval = excluded.max_interval,
                   extraction_hints = excluded.extraction_hints, is_local = excluded.is_local
            RETURNING *
            """
        ),
        dict(
            slug=slug, name=name.strip(), domains=parse_domains(domains), spider=spider,
            currency=parse_currency(currency), delay=delay_value, concurrency=int(concurrency),
            min_interval=min_interval, max_interval=max_interval,
            hints=json.dumps(parse_selectors(selectors)), is_local=bool(is_local),
        ),
    ).one()
    return Store.from_row(row)


def set_resolve(conn: Connection, store: Store, entries: Sequence[str]) -> Store:
    """Replace the store's host mapping (``HOST:PORT:ADDRESS`` entries; none clears it).

    Only a store marked local may map its hosts, only while local stores are allowed at all, and
    only hosts on its own allowed domains."""
    from pricehound import hostmap
    from pricehound.config import get_settings

    try:
        mapping = hostmap.HostMap.parse(entries)
    except hostmap.HostMapError as exc:
        raise InputError(str(exc)) from None
    if mapping and not store.is_local:
        raise InputError(f"store {store.slug} is not marked local; only a local store (--local) may map its hosts")
    if mapping and not get_settings().allow_local_stores:
        raise InputError("local stores are not allowed here (PRICEHOUND_ALLOW_LOCAL_STORES is off); "
                         "host mapping is refused")
    for entry in mapping.entries:
        port = 0 if entry.port == hostmap.ANY_PORT else int(entry.port)
        if not urls.domain_matches(entry.host, port, store.allowed_domains):
            raise InputError(f"--resolve {entry}: {entry.host} is not on store {store.slug}'s domains "
                             f"({', '.join(store.allowed_domains)})")
    row = conn.execute(sa.text("UPDATE stores SET resolve = :resolve WHERE id = :id RETURNING *"),
                       {"resolve": mapping.as_list(), "id": store.id}).one()
    return Store.from_row(row)


RENDER_MODES = ("none", "js")


def set_render(conn: Connection, store: Store, mode: str) -> Store:
    """How the store's pages are fetched: ``js`` renders them in headless Chromium (pages built
    by script), ``none`` reads the HTML as served."""
    if mode not in RENDER_MODES:
        raise InputError(f"--render must be one of {', '.join(RENDER_MODES)}, got {mode!r}")
    row = conn.execute(sa.text("UPDATE stores SET render = :render WHERE id = :id RETURNING *"),
                       {"render": mode, "id": store.id}).one()
    return Store.from_row(row)


PROXY_ROTATIONS = ("round_robin", "sticky")


def set_proxy(conn: Connection, store: Store, pool: str | None, rotation: str | None = None) -> Store:
    """Crawl the store through a named proxy pool (None: directly), with its rotation.

    Only the pool's name is stored: the proxies and their credentials stay in the environment
    (PRICEHOUND_PROXY_POOLS), so a pool that is not configured here is refused now, not at crawl time.
    """
    if pool is not None:
        from pricehound.config import get_settings

        configured = get_settings().proxy_pools
        if pool not in configured.names():
            known = ", ".join(configured.names()) or "none is configured"
            raise InputError(f"no proxy pool {pool!r} in PRICEHOUND_PROXY_POOLS ({known}); "
                             "add it there first, e.g. PRICEHOUND_PROXY_POOLS='eu=http://host:3128'")
    if rotation is not None and rotation not in PROXY_ROTATIONS:
        raise InputError(f"proxy rotation must be one of {', '.join(PROXY_ROTATIONS)}, got {rotation!r}")
    row = conn.execute(sa.text(
        """UPDATE stores SET proxy_pool = :pool, proxy_rotation = coalesce(:rotation, proxy_rotation)
            WHERE id = :id RETURNING *"""), {"pool": pool, "rotation": rotation, "id": store.id}).one()
    return Store.from_row(row)


def _store_lookup(store: Store, port: int) -> urls.Resolver:
    """How a store's host resolves: its mapping (a local store, local stores allowed), else DNS."""
    if not store.resolve or not store.is_local:
        return urls.system_resolver
    from pricehound import hostmap
    from pricehound.config import get_settings

    if not get_settings().allow_local_stores:
        return urls.system_resolver
    return hostmap.HostMap.parse(store.resolve).lookup(urls.system_resolver, port)


def list_stores(conn: Connection) -> list[Store]:
    return [Store.from_row(r) for r in conn.execute(sa.text("SELECT * FROM stores ORDER BY slug"))]


def get_store(conn: Connection, slug: str) -> Store:
    row = conn.execute(sa.text("SELECT * FROM stores WHERE slug = :slug"), {"slug": slug}).one_or_none()
    if row is None:
        raise InputError(f"no store {slug!r}; `pricehound stores list` shows the stores")
    return Store.from_row(row)


def store_for_url(conn: Connection, url: str) -> Store:
    """The active store whose allowed domains hold the URL's host (most specific domain wins)."""
    host, port = urls.host_and_port(url)
    best: tuple[int, Store] | None = None
    for store in list_stores(conn):
        if not store.active:
            continue
        for domain in store.allowed_domains:
            if urls.domain_matches(host, port, [domain]):
                score = len(domain)
                if best is None or score > best[0]:
                    best = (score, store)
    if best is None:
        raise InputError(f"{host} is not on any store's allowed domains; add the store first (`pricehound stores add`)")
    return best[1]


# -- users --------------------------------------------------------------------------------------

def add_user(conn: Connection, *, email: str, name: str | None = None, premium: bool = False,
             verified: bool = False) -> int:
    """Create a user (or return the existing one with that address, case-insensitively)."""
    address = parse_email(email)
    check_text(name, "a name")
    row = conn.execute(
        sa.text(
            """
            INSERT INTO users (email, name, account_type, verified_at)
            VALUES (:email, :name, :account_type, CASE WHEN :verified THEN pricehound_now() END)
            ON CONFLICT (lower(email)) DO UPDATE
               SET name = coalesce(excluded.name, users.name),
                   account_type = CASE WHEN :premium THEN 'premium' ELSE users.account_type END,
                   verified_at = coalesce(users.verified_at, excluded.verified_at)
            RETURNING id
            """
        ),
        dict(email=address, name=(name or None), account_type="premium" if premium else "free",
             verified=verified, premium=premium),
    ).one()
    return int(row.id)


def user_id_for_email(conn: Connection, email: str) -> int:
    address = parse_email(email)
    row = conn.execute(sa.text("SELECT id FROM users WHERE lower(email) = lower(:e)"), {"e": address}).one_or_none()
    if row is None:
        raise InputError(f"no user {address}; add them with `pricehound users add --email {address}`")
    return int(row.id)


UNCHANGED_ARG: Any = object()  # an option not given


# -- listings and watches -----------------------------------------------------------------------

def ensure_listing(conn: Connection, store: Store, url: str) -> int:
    """The listing for this URL at this store, created if new. The URL must be fetchable.
    Equivalent spellings of one URL (RFC 3986 section 6) are one listing."""
    canonical = urls.canonical_url(url, store.trailing_slash)
    host, port = urls.host_and_port(canonical)
    if not urls.domain_matches(host, port, store.allowed_domains):
        raise InputError(f"{host} is not one of store {store.slug!r}'s domains ({', '.join(store.allowed_domains)})")
    try:
        urls.check_fetchable(canonical, allow_private=store.is_local, resolver=_store_lookup(store, port))
    except urls.UnsafeURL as exc:
        raise InputError(f"refusing {url}: {exc}") from None
    row = conn.execute(
        sa.text(
            """
            INSERT INTO store_listings (store_id, url) VALUES (:store_id, :url)
            ON CONFLICT (store_id, url_key) DO UPDATE SET url_key = excluded.url_key
            RETURNING id
            """
        ),
        {"store_id": store.id, "url": canonical},
    ).one()
    return int(row.id)


def merge_declared_canonical(conn: Connection, listing_id: int, declared_url: str | None) -> int:
    """Record the canonical URL a listing's page declares and merge every listing of the same store
    that is, or declares, that page into the oldest one (history and watches kept). Returns the
    id the listing lives on as. A declaration off the store's domains, or not a fetchable form,
    is ignored: a page cannot pull a listing onto another site."""
    row = conn.execute(sa.text(
        "SELECT s.* FROM store_listings l JOIN stores s ON s.id = l.store_id WHERE l.id = :id"),
        {"id": listing_id}).one_or_none()
    if row is None or not declared_url:
        return listing_id
    store = Store.from_row(row)
    try:
        canonical = urls.canonical_url(declared_url, store.trailing_slash)
        host, port = urls.host_and_port(canonical)
    except (urls.UnsafeURL, ValueError):
        return listing_id
    if not urls.domain_matches(host, port, store.allowed_domains):
        return listing_id
    group = conn.execute(sa.text(
        """
        WITH k AS (SELECT pricehound_url_key(:url, :rule) AS key),
             marked AS (UPDATE store_listings SET declared_key = (SELECT key FROM k) WHERE id = :id RETURNING id)
        SELECT l.id FROM store_listings l, k
         WHERE l.store_id = :store AND (l.url_key = k.key OR l.declared_key = k.key OR l.id = :id)
         ORDER BY l.id FOR UPDATE OF l
        """), {"url": canonical, "rule": store.trailing_slash, "id": listing_id, "store": store.id}).scalars().all()
    keep = group[0]
    for dup in group[1:]:
        conn.execute(sa.text("SELECT pricehound_merge_listings(:keep, :dup)"), {"keep": keep, "dup": dup})
    return keep


def ensure_list(conn: Connection, user_id: int, name: str = DEFAULT_LIST_NAME) -> int:
    check_text(name, "a list name")
    if not 1 <= len((name or "").strip()) <= 200:
        raise InputError("a list name must have 1 to 200 characters")
    row = conn.execute(
        sa.text(
            """
            INSERT INTO shopping_lists (user_id, name) VALUES (:user_id, :name)
            ON CONFLICT (user_id, name) DO UPDATE SET name = excluded.name
            RETURNING id
            """
        ),
        {"user_id": user_id, "name": name},
    ).one()
    return int(row.id)


@dataclass(frozen=True)
class Watch:
    id: int
    user_id: int
    listing_id: int
    store_slug: str
    url: str


def _require_http_url(url: str) -> None:
    """InputError unless the URL is one the crawl could fetch (http(s), a host, no credentials)."""
    try:
        urls.split_http_url(url)
    except urls.UnsafeURL as exc:
        raise InputError(f"refusing {url!r}: {exc}") from None


def add_watch(
    conn: Connection,
    *,
    email: str,
    url: str,
    target_price: str | Decimal | None = None,
    min_drop_percent: str | Decimal | None = None,
    notify: str | Iterable[str] | None = None,
    list_name: str = DEFAULT_LIST_NAME,
) -> Watch:
    """Watch a URL for a user: finds the store by host, creates the listing, adds or updates the
    watch. Validates all input first, so a refusal writes nothing."""
    target = parse_money(target_price, "target price")
    drop = parse_percent(min_drop_percent)
    kinds = parse_notify(notify, url_watch=True)
    _require_http_url(url)
    user_id = user_id_for_email(conn, email)
    store = store_for_url(conn, url)
    listing_id = ensure_listing(conn, store, url)
    list_id = ensure_list(conn, user_id, list_name)
    row = conn.execute(
        sa.text(
            """
            INSERT INTO shopping_list_items (list_id, listing_id, target_price, min_drop_percent, notify_kinds)
            VALUES (:list_id, :listing_id, :target, :drop, :kinds)
            ON CONFLICT (list_id, listing_id) WHERE listing_id IS NOT NULL DO UPDATE
               SET target_price = excluded.target_price, min_drop_percent = excluded.min_drop_percent,
                   notify_kinds = excluded.notify_kinds, active = true, updated_at = pricehound_now()
            RETURNING id
            """
        ),
        dict(list_id=list_id, listing_id=listing_id, target=target, drop=drop, kinds=kinds),
    ).one()
    canonical = conn.execute(sa.text("SELECT url FROM store_listings WHERE id = :id"), {"id": listing_id}).scalar_one()
    return Watch(id=int(row.id), user_id=user_id, listing_id=listing_id, store_slug=store.slug, url=canonical)


def change_existing_watch(
    conn: Connection,
    *,
    email: str,
    url: str,
    list_name: str = DEFAULT_LIST_NAME,
    target_price: str | Decimal | None = UNCHANGED_ARG,
    min_drop_percent: str | Decimal | None = UNCHANGED_ARG,
    notify: str | Iterable[str] | None = UNCHANGED_ARG,
) -> tuple[Watch, dict[str, tuple[Any, Any]], bool] | None:
    """Change only the given options of the user's existing watch of this URL (in this list):
    (the watch, {option: (old, new)} for what changed, whether it is active), or None when there
    is no such watch. Nothing else is touched: a paused watch stays paused."""
    wanted: dict[str, Any] = {}
    if target_price is not UNCHANGED_ARG:
        wanted["target_price"] = parse_money(target_price, "target price")
    if min_drop_percent is not UNCHANGED_ARG:
        wanted["min_drop_percent"] = parse_percent(min_drop_percent)
    if notify is not UNCHANGED_ARG:
        wanted["notify_kinds"] = parse_notify(notify, url_watch=True)
    _require_http_url(url)
    user_id = user_id_for_email(conn, email)
    store = store_for_url(conn, url)
    canonical = urls.canonical_url(url, store.trailing_slash)
    row = conn.execute(sa.text(
        """
        SELECT i.id, i.listing_id, i.active, i.target_price, i.min_drop_percent, i.notify_kinds, sl.url
          FROM shopping_list_items i
          JOIN shopping_lists l ON l.id = i.list_id
          JOIN store_listings sl ON sl.id = i.listing_id
         WHERE l.user_id = :user AND l.name = :list AND sl.store_id = :store
           AND sl.url_key = pricehound_url_key(:url, :rule)
           FOR UPDATE OF i
        """), {"user": user_id, "list": list_name, "store": store.id, "url": canonical,
               "rule": store.trailing_slash}).one_or_none()
    if row is None:
        return None
    current = {"target_price": row.target_price, "min_drop_percent": row.min_drop_percent,
               "notify_kinds": list(row.notify_kinds)}
    changes = {k: (current[k], v) for k, v in wanted.items() if current[k] != v}
    if changes:
        update_watch(conn, user_id=user_id, item_id=row.id,
                     **{("notify" if k == "notify_kinds" else k): new for k, (_old, new) in changes.items()})
    watch = Watch(id=int(row.id), user_id=user_id, listing_id=int(row.listing_id), store_slug=store.slug, url=row.url)
    return watch, changes, bool(row.active)


# -- changing and removing a watch (the HTTP service's manage page and API) ---------------------
# Both are scoped to the owner: a watch id that belongs to someone else behaves as missing.

UNCHANGED: Any = object()


def update_watch(
    conn: Connection,
    *,
    user_id: int,
    item_id: int,
    target_price: str | Decimal | None = UNCHANGED,
    min_drop_percent: str | Decimal | None = UNCHANGED,
    notify: str | Iterable[str] | None = UNCHANGED,
    active: bool = UNCHANGED,
) -> bool:
    """Change the given fields of one of the user's watches (None clears the target price).
    Returns False when the user has no such watch. Validates everything before writing."""
    target = None if target_price is UNCHANGED else parse_money(target_price, "target price")
    drop = None if min_drop_percent is UNCHANGED else parse_percent(min_drop_percent)
    kinds = None if notify is UNCHANGED else parse_notify(notify)
    if kinds and "cheapest_store" in kinds and conn.execute(sa.text(
            "SELECT i.product_id IS NULL FROM shopping_list_items i JOIN shopping_lists l ON l.id = i.list_id "
            "WHERE i.id = :item_id AND l.user_id = :user_id"), {"item_id": item_id, "user_id": user_id}).scalar():
        raise InputError(CHEAPEST_ON_URL)
    row = conn.execute(
        sa.text(
            """
            UPDATE shopping_list_items i
               SET target_price = CASE WHEN :set_target THEN CAST(:target AS numeric) ELSE i.target_price END,
                   min_drop_percent = CASE WHEN :set_drop THEN CAST(:drop AS numeric) ELSE i.min_drop_percent END,
                   notify_kinds = CASE WHEN :set_kinds THEN CAST(:kinds AS text[]) ELSE i.notify_kinds END,
                   active = CASE WHEN :set_active THEN CAST(:active AS boolean) ELSE i.active END,
                   updated_at = pricehound_now()
              FROM shopping_lists l
             WHERE l.id = i.list_id AND l.user_id = :user_id AND i.id = :item_id
            RETURNING i.id
            """
        ),
        dict(user_id=user_id, item_id=item_id,
             set_target=target_price is not UNCHANGED, target=target,
             set_drop=min_drop_percent is not UNCHANGED, drop=drop,
             set_kinds=notify is not UNCHANGED, kinds=kinds,
             set_active=active is not UNCHANGED, active=None if active is UNCHANGED else bool(active)),
    ).one_or_none()
    return row is not None


def remove_watch(conn: Connection, *, user_id: int, item_id: int) -> tuple[bool, int | None]:
    """Delete one of the user's watches: (whether it existed, its listing id if it watched one)."""
    row = conn.execute(
        sa.text(
            """
            DELETE FROM shopping_list_items i
             USING shopping_lists l
             WHERE l.id = i.list_id AND l.user_id = :user_id AND i.id = :item_id
            RETURNING i.listing_id
            """
        ),
        {"user_id": user_id, "item_id": item_id},
    ).one_or_none()
    if row is None:
        return False, None
    return True, row.listing_id


# -- how a store is searched (search-driven discovery) ------------------------------------------

SEARCH_PLACEHOLDER = "{query}"


def _store_page_url(store: Store, url: str, what: str) -> str:
    """A URL a crawl of this store could fetch: http(s), on the store's domains, through the
    same address rules as every crawl request (private addresses only for a local store)."""
    _require_http_url(url)
    canonical = urls.canonical_url(url, store.trailing_slash)
    host, port = urls.host_and_port(canonical)
    if not urls.domain_matches(host, port, store.allowed_domains):
        raise InputError(f"{what} {url!r}: {host} is not one of store {store.slug!r}'s domains "
                         f"({', '.join(store.allowed_domains)})")
    try:
        urls.check_fetchable(canonical, allow_private=store.is_local, resolver=_store_lookup(store, port))
    except urls.UnsafeURL as exc:
        raise InputError(f"{what} {url!r}: {exc}") from None
    return canonical


def parse_search_url(store: Store, template: str) -> str:
    """A search URL template: http(s), on the store's domains, with ``{query}`` once, where the
    URL-encoded search words go (``https://acme.com/search?q={query}``)."""
    template = (template or "").strip()
    check_text(template, "a search URL")
    if template.count(SEARCH_PLACEHOLDER) != 1:
        raise InputError(f"search URL {template!r} must contain {SEARCH_PLACEHOLDER} exactly once, where the "
                         "search words go, e.g. https://acme.com/search?q={query}")
    if len(template) > urls.MAX_URL_LENGTH:
        raise InputError(f"search URL is longer than {urls.MAX_URL_LENGTH} characters")
    # the address rules are checked on the URL with sample words in place of {query}
    _store_page_url(store, template.replace(SEARCH_PLACEHOLDER, "kettle"), "search URL")
    head, tail = template.split(SEARCH_PLACEHOLDER)
    if "#" in head:
        raise InputError(f"search URL {template!r}: {SEARCH_PLACEHOLDER} must not be in the fragment (after #)")
    return template


def set_search(conn: Connection, store: Store, *, search_url: str | None = None, sitemap_url: str | None = None,
               clear_search: bool = False, clear_sitemap: bool = False) -> tuple[str | None, str | None]:
    """Set (or clear) how the store is searched; returns (search_url, sitemap_url) now in effect."""
    new_search = None if clear_search or search_url is None else parse_search_url(store, search_url)
    new_sitemap = (None if clear_sitemap or sitemap_url is None
                   else _store_page_url(store, sitemap_url.strip(), "sitemap URL"))
    conn.execute(sa.text(
        """
        UPDATE stores
           SET search_url = CASE WHEN :clear_search THEN NULL ELSE coalesce(CAST(:search_url AS text), search_url) END,
               sitemap_url = CASE WHEN :clear_sitemap THEN NULL ELSE coalesce(CAST(:sitemap_url AS text), sitemap_url) END
         WHERE id = :id
        """), {"id": store.id, "clear_search": clear_search, "clear_sitemap": clear_sitemap,
               "search_url": new_search, "sitemap_url": new_sitemap})
    row = conn.execute(sa.text("SELECT search_url, sitemap_url FROM stores WHERE id = :id"), {"id": store.id}).one()
    return row.search_url, row.sitemap_url
