"""Configuration, in one place: read from the environment once, typed, with defaults that work.

Every variable is documented in README.md (the table there is generated from ``VARIABLES``
below, so the two cannot drift). Nothing else in pricehound reads ``os.environ`` for settings.
"""

from __future__ import annotations

import functools
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricehound import tasknames


class ConfigError(ValueError):
    """A variable is set to something pricehound cannot use; the message names it."""


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "pricehound"


@dataclass(frozen=True)
class Var:
    """One environment variable: its name, parser, default and what it is for."""

    env: str
    attr: str
    parse: Callable[[str], Any]
    default: Any
    doc: str


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"expected a positive integer, got {raw!r}")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError(f"expected a number >= 0, got {raw!r}")
    return value


def _extract_workers(raw: str) -> int | None:
    if raw.strip().lower() in ("", "auto"):
        return None
    value = int(raw)
    if value < 0:
        raise ValueError(f"expected 0 or more worker processes, or auto, got {raw!r}")
    return value


def _log_format(raw: str) -> str:
    value = raw.strip().lower() or "text"
    if value not in ("text", "json"):
        raise ValueError(f"expected text or json, got {raw!r}")
    return value


def _months(raw: str) -> int:
    value = int(raw.strip() or "0")
    if value < 0:
        raise ValueError(f"expected 0 (keep everything) or a number of months, got {raw!r}")
    return value


def _resource_types(raw: str) -> tuple[str, ...]:
    """Browser resource types, as Playwright names them (image, font, media, stylesheet, ...)."""
    known = {"document", "stylesheet", "image", "media", "font", "script", "texttrack", "xhr", "fetch",
             "eventsource", "websocket", "manifest", "other"}
    kinds = tuple(k.strip().lower() for k in raw.split(",") if k.strip())
    unknown = sorted(set(kinds) - known)
    if unknown or "document" in kinds:
        raise ValueError(f"expected resource types from {', '.join(sorted(known - {'document'}))}, got {raw!r}")
    return kinds


def _optional_str(raw: str) -> str | None:
    return raw.strip() or None


def _optional_decimal(raw: str) -> Decimal | None:
    return Decimal(raw) if raw.strip() else None


def _email_transport(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("ses", "smtp"):
        raise ValueError(f"expected ses or smtp, got {raw!r}")
    return value


def _smtp_security(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("starttls", "ssl", "none"):
        raise ValueError(f"expected starttls, ssl or none, got {raw!r}")
    return value


def _positive_decimal(raw: str) -> Decimal:
    value = Decimal(raw)
    if value <= 0:
        raise ValueError(f"expected a number > 0, got {raw!r}")
    return value


def _share(raw: str) -> Decimal:
    value = Decimal(raw)
    if not (0 < value < 10):
        raise ValueError(f"expected a share of the price such as 0.30, got {raw!r}")
    return value


def _jump(raw: str) -> Decimal:
    value = Decimal(raw)
    if value <= 1:
        raise ValueError(f"expected a factor greater than 1, got {raw!r}")
    return value


# -- signing secrets -----------------------------------------------------------------------------
# A signing secret opens every account (sign-in and manage links are signed with it), so one
# that is published, short or guessable is refused at start rather than used.

MIN_SECRET_BYTES = 32
MIN_SECRET_BITS = 96.0  # Shannon estimate over the characters: under-counts, so below 128
GENERATE_HINT = ("generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
# Placeholders from examples, compose files and documentation (compared without case and
# punctuation), and words that only a placeholder contains.
PUBLISHED_SECRETS = frozenset({
    "changemetoalongrandomstring", "changeme", "secret", "secretkey", "yoursecretkey",
    "pleasechangeme", "notasecret", "supersecret", "supersecretkey", "development", "devsecret",
    "testsecretkeynotforproduction", "insecure", "djangoinsecure", "replaceme",
})
PLACEHOLDER_WORDS = ("changeme", "replaceme", "notforproduction", "yoursecret", "example", "placeholder",
                     "insecure", "randomstring")


@functools.lru_cache(maxsize=16)
def secret_weakness(secret: str) -> str | None:
    """Why a signing secret must not be used (published, short or low in entropy), or None.
    Cached: every signed link asks again, and the answer for one secret never changes."""
    folded = re.sub(r"[^a-z0-9]", "", secret.lower())
    if folded in PUBLISHED_SECRETS or any(word in folded for word in PLACEHOLDER_WORDS):
        return "it is a published example value"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"it is shorter than {MIN_SECRET_BYTES} bytes"
    counts = {ch: secret.count(ch) for ch in set(secret)}
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    if per_char * len(secret) < MIN_SECRET_BITS or len(counts) < 12:
        return "it is too predictable (too few distinct characters)"
    return None


def check_secret(secret: str, what: str = "PRICEHOUND_SECRET_KEY") -> str:
    """The secret itself, or ConfigError naming what is wrong and how to make a good one."""
    reason = secret_weakness(secret)
    if reason:
        raise ConfigError(f"{what} is refused: {reason}. Anyone who knows or guesses it can sign in as "
                          f"any user; {GENERATE_HINT}")
    return secret


def _secret(raw: str) -> str | None:
    value = raw.strip()
    return check_secret(value) if value else None


def _old_secrets(raw: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    for value in values:
        check_secret(value, "PRICEHOUND_SECRET_KEY_OLD")
    return values


def _revisit_policy(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("budgeted", "demand"):
        raise ValueError("expected budgeted (share each store's page budget by change rate and demand) "
                         "or demand (the interval follows demand alone)")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"expected a number > 0, got {raw!r}")
    return value


def _budget_share(raw: str) -> float:
    value = float(raw)
    if not (0 < value <= 1):
        raise ValueError(f"expected a share of the store's polite rate, above 0 and at most 1, got {raw!r}")
    return value


def _task_name(raw: str) -> str:
    name = raw.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", name):
        raise ValueError("a Celery task name is dotted words, like pricehound.alerts.evaluate_events")
    return name


# -- proxy pools ---------------------------------------------------------------------------------
# PRICEHOUND_PROXY_POOLS="eu=http://user:${EU_PROXY_PASS}@10.0.0.5:3128 socks5://10.0.0.6:1080; us=..."
# Pools are separated by ';', a pool's proxies by spaces or commas. ${NAME} is replaced by the
# environment variable NAME when the configuration is read, so a password is kept where secrets
# are kept (the environment, a secret store) and never in the database, which holds only the
# pool's name (stores.proxy_pool).

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
POOL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Proxy:
    """One proxy of a pool. ``url`` carries the credentials (in memory only); ``label``
    (scheme://host:port) is what logs, stats and status show."""

    url: str = field(repr=False)
    scheme: str
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def address(self) -> str:
        """host:port, as the resolver's allowance lists name it."""
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return mask_url(self.url) or self.label


@dataclass(frozen=True)
class ProxyPools:
    """Named pools of proxies. ``str()`` shows them with passwords as ***."""

    pools: tuple[tuple[str, tuple[Proxy, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pools)

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.pools)

    def get(self, name: str) -> tuple[Proxy, ...]:
        for pool, proxies in self.pools:
            if pool == name:
                return proxies
        raise KeyError(name)

    def __str__(self) -> str:
        return "; ".join(f"{name}=" + " ".join(str(p) for p in proxies) for name, proxies in self.pools)


def parse_proxy(raw: str, environ: Mapping[str, str] | None = None) -> Proxy:
    """One proxy URL, ${NAME} references filled from the environment; ValueError says what is wrong."""
    from urllib.parse import unquote, urlsplit

    env = os.environ if environ is None else environ
    missing = [name for name in _ENV_REF.findall(raw) if name not in env]
    if missing:
        raise ValueError(f"proxy {mask_url(raw)} uses ${{{missing[0]}}}, which is not set in the environment")
    url = _ENV_REF.sub(lambda m: env[m.group(1)], raw.strip())
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"proxy {mask_url(raw)} is not a URL like http://host:3128") from None
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise ValueError(f"proxy {mask_url(raw)}: the scheme must be one of {', '.join(PROXY_SCHEMES)}")
    if not parts.hostname:
        raise ValueError(f"proxy {mask_url(raw)} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"proxy {mask_url(raw)}: give only scheme://[user:password@]host:port")
    if port is None:
        port = {"http": 8080, "https": 443}.get(scheme, 1080)
    return Proxy(url=url, scheme=scheme, host=parts.hostname, port=port,
                 username=unquote(parts.username) if parts.username else None,
                 password=unquote(parts.password) if parts.password is not None else None)


def parse_proxy_pools(raw: str, environ: Mapping[str, str] | None = None) -> ProxyPools:
    pools: list[tuple[str, tuple[Proxy, ...]]] = []
    for chunk in raw.split(";"):
        if not chunk.strip():
            continue
        name, sep, members = chunk.partition("=")
        name = name.strip().lower()
        if not sep or not POOL_NAME_RE.match(name):
            raise ValueError(f"{chunk.strip()[:40]!r}: each pool is NAME=PROXY [PROXY...], the name "
                             "lower-case letters, digits, '-' or '_'")
        if name in dict(pools):
            raise ValueError(f"pool {name!r} is named twice")
        proxies = tuple(parse_proxy(p, environ) for p in re.split(r"[\s,]+", members.strip()) if p)
        if not proxies:
            raise ValueError(f"pool {name!r} has no proxies")
        pools.append((name, proxies))
    return ProxyPools(tuple(pools))


VARIABLES: tuple[Var, ...] = (
    Var("DATABASE_URL", "database_url", _optional_str, None,
        "PostgreSQL URL (postgresql://user@host:5432/db). Unset: an embedded PostgreSQL under the data directory."),
    Var("REDIS_URL", "redis_url", _optional_str, None,
        "Redis URL for the Celery broker, locks and rate limits. Unset: an embedded Redis under the data directory."),
    Var("PRICEHOUND_DATA_DIR", "data_dir", Path, None,
        "Where the embedded servers, the signing secret and demo emails live. Default: $XDG_DATA_HOME/pricehound or ~/.local/share/pricehound."),
    Var("PRICEHOUND_SECRET_KEY", "secret_key", _secret, None,
        "Secret for signed links (verify, unsubscribe, login): at least 32 random bytes; published, short or "
        "predictable values are refused. Unset: generated once and kept in the data directory."),
    Var("PRICEHOUND_SECRET_KEY_OLD", "old_secret_keys", _old_secrets, (),
        "Comma-separated earlier secrets: links they signed still verify until removed (key rotation). "
        "New links are always signed with PRICEHOUND_SECRET_KEY."),
    Var("PRICEHOUND_PUBLIC_URL", "public_url", str, "http://127.0.0.1:8000",
        "Base URL of the HTTP service, used in email links."),
    Var("PRICEHOUND_HTTP_HOST", "http_host", str, "127.0.0.1", "Address `pricehound serve` listens on."),
    Var("PRICEHOUND_HTTP_PORT", "http_port", _positive_int, 8000, "Port `pricehound serve` listens on."),
    Var("PRICEHOUND_SES_REGION", "ses_region", str, "us-east-1", "AWS region of SES (AWS_REGION is used when this is unset)."),
    Var("PRICEHOUND_SES_SENDER", "ses_sender", str, "pricehound <alerts@pricehound.example>",
        "From address of alert emails; must be verified in SES."),
    Var("PRICEHOUND_SES_ENDPOINT_URL", "ses_endpoint_url", _optional_str, None,
        "SES endpoint override, for a local SES stand-in (moto server). Unset: real AWS."),
    Var("PRICEHOUND_SES_MAX_SEND_RATE", "ses_max_send_rate", _optional_decimal, None,
        "Emails per second across the whole cluster. Unset: read from SES GetAccount."),
    Var("PRICEHOUND_SES_CONFIGURATION_SET", "ses_configuration_set", _optional_str, None,
        "SES configuration set carrying bounce/complaint events to SNS."),
    Var("PRICEHOUND_SES_EVENTS_QUEUE_URL", "ses_events_queue_url", _optional_str, None,
        "SQS queue that receives SES bounce and complaint notifications (polled by beat)."),
    Var("PRICEHOUND_EMAIL_TRANSPORT", "email_transport", _email_transport, "ses",
        "How email leaves: ses (AWS SES v2) or smtp (any SMTP server, PRICEHOUND_SMTP_*)."),
    Var("PRICEHOUND_SMTP_HOST", "smtp_host", _optional_str, None, "SMTP server when PRICEHOUND_EMAIL_TRANSPORT=smtp."),
    Var("PRICEHOUND_SMTP_PORT", "smtp_port", _positive_int, 587, "SMTP port (587 submission with STARTTLS, 465 TLS)."),
    Var("PRICEHOUND_SMTP_SECURITY", "smtp_security", _smtp_security, "starttls",
        "starttls (upgrade on 587), ssl (TLS from the start, 465) or none (a local relay only)."),
    Var("PRICEHOUND_SMTP_USER", "smtp_user", _optional_str, None, "SMTP login, if the server wants one."),
    Var("PRICEHOUND_SMTP_PASSWORD", "smtp_password", _optional_str, None, "SMTP password (shown as (set))."),
    Var("PRICEHOUND_SMTP_MAX_SEND_RATE", "smtp_max_send_rate", _positive_decimal, Decimal(5),
        "Emails per second through SMTP for the whole cluster."),
    Var("PRICEHOUND_WEBHOOK_MAX_SEND_RATE", "webhook_max_send_rate", _positive_decimal, Decimal(50),
        "Webhook deliveries per second for the whole cluster."),
    Var("PRICEHOUND_APPRISE_MAX_SEND_RATE", "apprise_max_send_rate", _positive_decimal, Decimal(10),
        "Apprise notifications per second for the whole cluster (the services behind it limit too)."),
    Var("PRICEHOUND_CHANNEL_TIMEOUT", "channel_timeout", _non_negative_float, 10.0,
        "Seconds a webhook or Apprise delivery may take before it counts as a failed attempt."),
    Var("PRICEHOUND_CHANNEL_MAX_FAILURES", "channel_max_failures", _positive_int, 10,
        "Failed deliveries in a row after which a webhook or Apprise channel is disabled (its owner is emailed)."),
    Var("PRICEHOUND_CHANNEL_ALLOW_PRIVATE", "channel_allow_private", _bool, False,
        "Let webhook and Apprise targets be private or loopback addresses (tests, a LAN-only ntfy); off by default."),
    Var("PRICEHOUND_EMAIL_DIR", "email_dir", _optional_str, None,
        "Also write every sent email as a .eml file here (the demo sets it)."),
    Var("PRICEHOUND_CONTACT_URL", "contact_url", str, "https://github.com/pricehound/pricehound",
        "Where store operators can reach whoever runs this crawler; part of the User-Agent."),
    Var("PRICEHOUND_USER_AGENT", "user_agent", _optional_str, None,
        "Crawler User-Agent. Default: 'pricehound/<version> (+<contact url>)'."),
    Var("PRICEHOUND_DOWNLOAD_DELAY", "download_delay", _non_negative_float, 1.0,
        "Seconds between requests to one store, for stores that set none."),
    Var("PRICEHOUND_CONCURRENCY", "concurrency", _positive_int, 2,
        "Concurrent requests to one store, for stores that set none."),
    Var("PRICEHOUND_DOWNLOAD_TIMEOUT", "download_timeout", _positive_int, 20, "Seconds before a page fetch counts as a failure."),
    Var("PRICEHOUND_MAX_RESPONSE_BYTES", "max_response_bytes", _positive_int, 5 * 1024 * 1024,
        "Largest page the crawler reads; a larger one counts as a failure."),
    Var("PRICEHOUND_REMOVED_AFTER", "removed_after", _positive_int, 2,
        "Consecutive crawls that must see a page gone before it counts as removed."),
    Var("PRICEHOUND_CONFIRM", "confirm", _bool, True,
        "Read a stock change, a return and a large price move twice before anyone is told (off: tell on the first reading)."),
    Var("PRICEHOUND_CONFIRM_SHARE", "confirm_share", _share, Decimal("0.30"),
        "A price move larger than this share of the old price waits for a second agreeing reading."),
    Var("PRICEHOUND_MAX_JUMP", "max_jump", _jump, Decimal("20"),
        "A price more than this many times (or under 1/this) of the last is taken only when the visible page shows it."),
    Var("PRICEHOUND_SANITY_MIN_PAGES", "sanity_min_pages", _positive_int, 5,
        "A crawl run of at least this many listings is checked for store-wide glitches."),
    Var("PRICEHOUND_SANITY_SHARE", "sanity_share", _share, Decimal("0.5"),
        "A run in which this share of its listings turn gone, sold out or unreadable (or jump in price) at once is held."),
    Var("PRICEHOUND_SANITY_FACTOR", "sanity_factor", _jump, Decimal("3"),
        "A price moving beyond this factor counts toward the held-run share."),
    Var("PRICEHOUND_EXTRACT_WORKERS", "extract_workers", _extract_workers, None,
        "Processes per crawl that read fetched pages, so the crawl keeps fetching meanwhile (0: read in "
        "the crawl process). Unset or auto: CPUs - 1, from 1 to 4."),
    Var("PRICEHOUND_CRAWL_TIME_LIMIT", "crawl_time_limit", _positive_int, 900,
        "Seconds one store's crawl may run before it is stopped."),
    Var("PRICEHOUND_LEASE_SECONDS", "lease_seconds", _positive_int, 1200,
        "How long dispatch holds a store for a queued crawl run; a run not started by then is "
        "abandoned and its targets are due again."),
    Var("PRICEHOUND_CRAWL_RUN_RETENTION_DAYS", "crawl_run_retention_days", _positive_int, 30,
        "Days a finished crawl run (its counts, error and targets) is kept for ops before it is pruned."),
    Var("PRICEHOUND_BEAT_INTERVAL", "beat_interval", _non_negative_float, 5.0, "Seconds between dispatch ticks."),
    Var("PRICEHOUND_ALERT_BATCH_WINDOW", "alert_batch_window", _non_negative_float, 60.0,
        "Seconds to gather one user's alerts into one email (0: send at once)."),
    Var("PRICEHOUND_ALERT_COOLDOWN", "alert_cooldown", _non_negative_float, 6 * 3600.0,
        "Seconds before the same watch is told the same kind of news again."),
    Var("PRICEHOUND_ALERT_TASK", "alert_task", _task_name, tasknames.EVALUATE_EVENTS,
        "Celery task the crawl hands new price events to (on the alerts queue) after each write."),
    Var("PRICEHOUND_REVISIT_POLICY", "revisit_policy", _revisit_policy, "budgeted",
        "budgeted: each store's polite page budget is shared out by each listing's estimated change rate "
        "and its demand, with a guaranteed revisit for hot listings; demand: how often a page comes round "
        "follows demand alone (crawl_interval)."),
    Var("PRICEHOUND_REVISIT_BUDGET_SHARE", "revisit_budget_share", _budget_share, 0.8,
        "Share of a store's polite rate (its delay and concurrency, less reserved pages) the revisit plan "
        "spends; the rest absorbs new watches, second readings and retries."),
    Var("PRICEHOUND_HOT_MAX_REVISIT", "hot_max_revisit", _positive_float, 180.0,
        "Seconds: a hot listing is revisited at least this often while its store's budget allows "
        "(`pricehound status` names the stores where it does not)."),
    Var("PRICEHOUND_HOT_DEMAND", "hot_demand", _positive_float, 12.0,
        "Demand at which a listing is hot: watchers, plus 2 per premium watcher and 2 per watch whose "
        "target is within PRICEHOUND_NEAR_TARGET_SHARE of the price."),
    Var("PRICEHOUND_NEAR_TARGET_SHARE", "near_target_share", _share, Decimal("0.10"),
        "A watch's target is near when a drop of at most this share of the price would reach it."),
    Var("PRICEHOUND_LOG_LEVEL", "log_level", str, "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Var("PRICEHOUND_LOG_FORMAT", "log_format", _log_format, "text",
        "text: one readable line per event; json: one JSON object per line (for containers and log collectors)."),
    Var("PRICEHOUND_HISTORY_KEEP_MONTHS", "history_keep_months", _months, 0,
        "Months of price history kept in the database; older monthly partitions are archived to "
        "files under the data directory (`pricehound history archive`). 0: keep everything."),
    Var("PRICEHOUND_PROXY_POOLS", "proxy_pools", parse_proxy_pools, None,
        "Named proxy pools a store may be crawled through (`stores add/edit --proxy NAME`): "
        "'eu=http://user:${EU_PASS}@10.0.0.5:3128 socks5://10.0.0.6:1080; us=https://...'. Schemes http, "
        "https, socks5 (the crawler resolves the target) and socks5h (the proxy does); ${NAME} is read from "
        "the environment, so passwords never reach the database. Unset: no proxies."),
    Var("PRICEHOUND_PROXY_REST", "proxy_rest", _non_negative_float, 30.0,
        "Seconds a proxy rests after it fails or is refused (connection errors, 407, 403, 429), doubled for "
        "each further failure in a row, up to 32 times this."),
    Var("PRICEHOUND_ALLOW_LOCAL_STORES", "allow_local_stores", _bool, True,
        "Whether stores marked local may crawl private addresses at all (docker-compose.yml turns it off)."),
    Var("PRICEHOUND_CHROMIUM_PATH", "chromium_path", str, "/usr/bin/chromium",
        "Chromium that renders the pages of stores added with `--render js` (Debian's `chromium` package)."),
    Var("PRICEHOUND_RENDER_BROWSER_URL", "render_browser_url", _optional_str, None,
        "DevTools URL of a running Chromium (http://127.0.0.1:9222) that crawls open their contexts in "
        "instead of launching one each. Unset: each crawl that renders launches its own."),
    Var("PRICEHOUND_RENDER_CONTEXTS", "render_contexts", _positive_int, 2,
        "Browser contexts (pages rendered at once) per crawl; never more than the store's concurrency."),
    Var("PRICEHOUND_RENDER_TIMEOUT", "render_timeout", _positive_int, 15,
        "Seconds a page may take to show its product data in the browser before it is failed(render_timeout)."),
    Var("PRICEHOUND_RENDER_MEMORY_MB", "render_memory_mb", _positive_int, 1024,
        "Ceiling on the memory of the browser's processes per crawl (MiB, PSS: shared pages counted once): over it, contexts are recycled and fewer kept."),
    Var("PRICEHOUND_RENDER_BLOCK", "render_block", _resource_types, ("image", "font", "media"),
        "Resource types the browser never fetches while rendering (hosts off the store's domains are always refused)."),
    Var("PRICEHOUND_METRICS_TOKEN", "metrics_token", _optional_str, None,
        "Bearer token /metrics on the web service asks for. Unset: /metrics is open (keep it off the public network)."),
)


@dataclass(frozen=True)
class Settings:
    """Typed view of the environment. Build it with ``Settings.from_env()`` or ``get_settings()``."""

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    secret_key: str | None = None
    old_secret_keys: tuple[str, ...] = ()
    public_url: str = "http://127.0.0.1:8000"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    ses_region: str = "us-east-1"
    ses_sender: str = "pricehound <alerts@pricehound.example>"
    ses_endpoint_url: str | None = None
    ses_max_send_rate: Decimal | None = None
    ses_configuration_set: str | None = None
    ses_events_queue_url: str | None = None
    email_transport: str = "ses"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_max_send_rate: Decimal = Decimal(5)
    webhook_max_send_rate: Decimal = Decimal(50)
    apprise_max_send_rate: Decimal = Decimal(10)
    channel_timeout: float = 10.0
    channel_max_failures: int = 10
    channel_allow_private: bool = False
    email_dir: str | None = None
    contact_url: str = "https://github.com/pricehound/pricehound"
    user_agent: str | None = None
    download_delay: float = 1.0
    concurrency: int = 2
    download_timeout: int = 20
    max_response_bytes: int = 5 * 1024 * 1024
    removed_after: int = 2
    confirm: bool = True
    confirm_share: Decimal = Decimal("0.30")
    max_jump: Decimal = Decimal("20")
    sanity_min_pages: int = 5
    sanity_share: Decimal = Decimal("0.5")
    sanity_factor: Decimal = Decimal("3")
    extract_workers: int | None = None
    crawl_time_limit: int = 900
    lease_seconds: int = 1200
    crawl_run_retention_days: int = 30
    beat_interval: float = 5.0
    alert_batch_window: float = 60.0
    alert_cooldown: float = 6 * 3600.0
    alert_task: str = tasknames.EVALUATE_EVENTS
    revisit_policy: str = "budgeted"
    revisit_budget_share: float = 0.8
    hot_max_revisit: float = 180.0
    hot_demand: float = 12.0
    near_target_share: Decimal = Decimal("0.10")
    log_level: str = "INFO"
    log_format: str = "text"
    history_keep_months: int = 0
    allow_local_stores: bool = True
    chromium_path: str = "/usr/bin/chromium"
    render_browser_url: str | None = None
    render_contexts: int = 2
    render_timeout: int = 15
    render_memory_mb: int = 1024
    render_block: tuple[str, ...] = ("image", "font", "media")
    proxy_pools: ProxyPools = field(default_factory=ProxyPools)
    proxy_rest: float = 30.0
    metrics_token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var in VARIABLES:
            raw = env.get(var.env)
            if raw is None and var.env == "PRICEHOUND_SES_REGION":
                raw = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            if raw is None:
                continue
            try:
                values[var.attr] = var.parse(raw, env) if var.parse is parse_proxy_pools else var.parse(raw)
            except (ValueError, ArithmeticError) as exc:
                raise ConfigError(f"{var.env}={raw!r} is not valid: {exc}. {var.doc}") from None
        if values.get("data_dir") is None:
            values.pop("data_dir", None)
        return cls(**values)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    # -- derived values: computed, never stored twice ----------------------------------------

    @property
    def crawler_user_agent(self) -> str:
        from pricehound import __version__

        return self.user_agent or f"pricehound/{__version__} (+{self.contact_url})"

    @property
    def signing_secret(self) -> str:
        """The configured secret, or one generated on first use and kept in the data directory.
        A weak one is refused (ConfigError), however the settings were built."""
        if self.secret_key:
            return check_secret(self.secret_key)
        return check_secret(_stored_secret(self.data_dir), str(self.data_dir / "secret_key"))

    @property
    def verifying_secrets(self) -> tuple[str, ...]:
        """The secrets a signed link may carry: the current one first, then the rotated-out ones."""
        return (self.signing_secret, *(check_secret(s, "PRICEHOUND_SECRET_KEY_OLD") for s in self.old_secret_keys))

    @property
    def uses_embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None


@functools.lru_cache(maxsize=4)
def _stored_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together agree on one secret
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def mask_url(url: str | None) -> str | None:
    """A URL with its password replaced by ***, for anything printed or logged."""
    if not url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(unparseable URL hidden)"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()


def settings_field_names() -> set[str]:
    return {f.name for f in fields(Settings)}
