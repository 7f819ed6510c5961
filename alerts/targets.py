"""Delivering to a user's own endpoints: signed webhooks and Apprise URLs, behind the crawl's
address guard.

A webhook or Apprise URL is chosen by a user, so it is untrusted exactly like a watched URL: it
must not make a worker talk to the operator's private network (SSRF). Both go through
``pricehound.urls.check_fetchable`` — the guard every crawl request passes — and connect to the
address that guard vetted, never to a second DNS answer (no rebinding between check and connect):

- webhooks: ``post_webhook`` resolves once, vets every address, and opens its http.client
  connection to the vetted IP (TLS still verifies the certificate for the host name); redirects
  are not followed (a 3xx is a failed delivery);
- Apprise: the URL's host is vetted when the channel is added, and while ``notify`` runs, every
  connection Apprise opens through urllib3 (requests) in this thread goes through
  ``_guarded_create_connection``: resolve once, vet, connect to that address. Only services that
  talk HTTP(S) through requests are allowed (``APPRISE_SCHEMES``); the residual risk is stated
  in docs/channels.md.

``PRICEHOUND_CHANNEL_ALLOW_PRIVATE`` (tests, a LAN-only ntfy) lifts the address rules, as
``--local`` does for a store.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pricehound import clock, urls

SIGNATURE_HEADER = "X-Pricehound-Signature"
TIMESTAMP_HEADER = "X-Pricehound-Timestamp"
DELIVERY_HEADER = "X-Pricehound-Delivery"
EVENT_HEADER = "X-Pricehound-Event"
# How old a signed timestamp a receiver should accept (documented; receivers enforce it).
REPLAY_TOLERANCE_SECONDS = 300
MAX_RESPONSE_BYTES = 64 * 1024

# Apprise services that reach their endpoint over HTTP(S) through requests, so the guard sees
# every connection. Services on other transports (mailto, mqtt, growl, dbus, syslog, local
# desktop notifications...) could reach what the guard cannot see, and are refused.
APPRISE_SCHEMES = frozenset({
    "ntfy", "ntfys", "tgram", "discord", "slack", "pover", "gotify", "gotifys", "matrix", "matrixs",
    "json", "jsons", "form", "forms", "xml", "xmls", "mmost", "mmosts", "rocket", "rockets",
    "msteams", "pbul", "signal", "signals", "pushed", "join", "ifttt", "zulip",
})
# Schemes whose URL host is the server to be contacted (for the others it is a token and the
# service's fixed public API host is contacted).
APPRISE_HOSTED = frozenset({"ntfy", "ntfys", "gotify", "gotifys", "matrix", "matrixs", "json", "jsons", "form",
                            "forms", "xml", "xmls", "mmost", "mmosts", "rocket", "rockets", "signal", "signals"})
SECURE_SCHEMES = {"ntfys", "gotifys", "matrixs", "jsons", "forms", "xmls", "mmosts", "rockets", "signals"}


class TargetError(Exception):
    """A delivery failed. ``transient``: worth retrying (timeouts, 5xx, 429, refused connection)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


# -- the address guard -----------------------------------------------------------------------

def vet(url: str, *, allow_private: bool) -> str:
    """The one address to connect to for this http(s) URL: resolved once and vetted by the crawl's
    guard (UnsafeURL when refused)."""
    return urls.check_fetchable(url, allow_private=allow_private)[0]


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """The URL as stored, or UnsafeURL saying what to change."""
    text = (url or "").strip()
    if len(text) > urls.MAX_URL_LENGTH:
        raise urls.UnsafeURL(f"a webhook URL is at most {urls.MAX_URL_LENGTH} characters")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise urls.UnsafeURL("a webhook URL must start with https:// (or http://)")
    if parts.username or parts.password:
        raise urls.UnsafeURL("a webhook URL must not carry a user name or password; the signature authenticates us")
    vet(text, allow_private=allow_private)
    return text


def check_apprise_url(url: str, *, allow_private: bool) -> str:
    """An Apprise URL of an allowed service whose host (when it names a server) passes the guard."""
    text = (url or "").strip()
    if len(text) > urls.MAX_URL_LENGTH:
        raise urls.UnsafeURL(f"an Apprise URL is at most {urls.MAX_URL_LENGTH} characters")
    scheme = text.partition("://")[0].lower()
    if not text.partition("://")[2]:
        raise urls.UnsafeURL("an Apprise URL looks like ntfy://ntfy.sh/topic or tgram://TOKEN/CHAT_ID")
    if scheme not in APPRISE_SCHEMES:
        raise urls.UnsafeURL(f"Apprise service {scheme!r} is not offered; use one of "
                             + ", ".join(sorted(APPRISE_SCHEMES)))
    import apprise

    if apprise.Apprise.instantiate(text) is None:
        raise urls.UnsafeURL("Apprise cannot read this URL; see https://github.com/caronc/apprise/wiki")
    if scheme in APPRISE_HOSTED:
        host = urlsplit(text).hostname
        if not host:
            raise urls.UnsafeURL("the Apprise URL names no server")
        vet(f"{'https' if scheme in SECURE_SCHEMES else 'http'}://{host}/", allow_private=allow_private)
    return text


# Apprise's connections: urllib3 opens every socket through urllib3.util.connection.create_connection.
# A context variable, not a thread-local: Apprise hands a service to its worker threads with the
# caller's context copied, so the guard follows the notification wherever it runs.
_allow: contextvars.ContextVar[bool | None] = contextvars.ContextVar("pricehound_guard_allow", default=None)
_refused: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("pricehound_guard_refused", default=None)
_installed = threading.Lock()
_original_create_connection: Callable[..., socket.socket] | None = None


def _guarded_create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    assert _original_create_connection is not None
    allow = _allow.get()
    if allow is None:  # not inside a guarded notify: SES, SQS and the rest are the operator's own
        return _original_create_connection(address, *args, **kwargs)
    host, port = address
    shown = f"[{host}]" if ":" in host else host
    try:
        vetted = vet(f"http://{shown}:{port}/", allow_private=allow)
    except urls.UnsafeURL as exc:
        refusals = _refused.get()
        if refusals is not None:
            refusals.append(str(exc))
        raise OSError(f"refused by the address guard: {exc}") from None
    return _original_create_connection((vetted, port), *args, **kwargs)


def _install_guard() -> None:
    global _original_create_connection
    with _installed:
        from urllib3.util import connection

        if _original_create_connection is None:
            _original_create_connection = connection.create_connection
            connection.create_connection = _guarded_create_connection


@contextmanager
def guarded(allow_private: bool) -> Iterator[None]:
    """Within the block, every urllib3 connection this thread opens passes the address guard."""
    _install_guard()
    allow_token, refused_token = _allow.set(allow_private), _refused.set([])
    try:
        yield
    finally:
        _allow.reset(allow_token)
        _refused.reset(refused_token)


def refusals() -> list[str]:
    """Why the guard refused connections inside the current guarded block."""
    return list(_refused.get() or [])


# -- webhooks ---------------------------------------------------------------------------------

def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>." + body): what receivers recompute."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *, now: float,
                     tolerance: int = REPLAY_TOLERANCE_SECONDS) -> bool:
    """What a receiver does (used by our tests and shown in the docs): a fresh timestamp and a
    matching signature, compared in constant time."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature or "")


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WebhookResult:
    status: int
    delivery: str


def post_webhook(url: str, secret: str, payload: dict[str, Any], *, delivery: str, event: str, timeout: float,
                 allow_private: bool, user_agent: str, now: Callable[[], float] = clock.timestamp) -> WebhookResult:
    """POST the JSON payload signed for this endpoint; a 2xx is success, anything else TargetError."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    parts = urlsplit(url)
    try:
        address = vet(url, allow_private=allow_private)
    except urls.UnsafeURL as exc:  # the name now points somewhere it must not: permanent for this try
        raise TargetError(f"refused: {exc}", transient=False) from None
    timestamp = int(now())
    headers = {"Content-Type": "application/json", "User-Agent": user_agent, TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: sign(secret, timestamp, body), DELIVERY_HEADER: delivery, EVENT_HEADER: event,
               "Content-Length": str(len(body)), "Connection": "close"}
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = cls(parts.hostname or "", parts.port, address, timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        raise TargetError(f"{type(exc).__name__}: {exc}", transient=True) from None
    finally:
        conn.close()
    if 200 <= status < 300:
        return WebhookResult(status, delivery)
    transient = status >= 500 or status in (408, 425, 429)
    raise TargetError(f"HTTP {status} from the webhook", transient=transient)


# -- Apprise ----------------------------------------------------------------------------------

_notifiers = threading.local()
NOTIFIER_CACHE = 256


def _notifier(url: str, timeout: float) -> Any:
    """This thread's Apprise object for the URL, kept between messages: parsing the URL and
    building the plugin cost more than a local post, and the plugin keeps its HTTP session (a
    kept-alive connection was vetted by the guard when it was opened)."""
    import apprise

    cache = getattr(_notifiers, "cache", None)
    if cache is None or len(cache) > NOTIFIER_CACHE:
        cache = _notifiers.cache = {}
    key = (url, timeout)
    target = cache.get(key)
    if target is None:
        # Apprise runs the plugin in its own pool and stops waiting after service_timeout (our
        # channel timeout); the context, and with it the guard, goes along to that thread
        target = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False, service_timeout=max(timeout, 1.0)))
        if not target.add(url):
            raise TargetError("Apprise cannot read this URL", transient=False)
        for server in target:  # every plugin takes the socket timeouts from these
            if hasattr(server, "socket_connect_timeout"):
                server.socket_connect_timeout = timeout
                server.socket_read_timeout = timeout
        cache[key] = target
    return target


def apprise_notify(url: str, title: str, body: str, *, allow_private: bool, timeout: float) -> None:
    """Notify one Apprise URL, every connection through the guard; TargetError (transient:
    Apprise does not say why a service failed) when it reports failure."""
    target = _notifier(url, timeout)
    with guarded(allow_private):
        ok = target.notify(body=body, title=title)
        refused = refusals()
    if refused:
        raise TargetError(f"refused: {refused[0]}", transient=False)
    if not ok:
        raise TargetError("the Apprise service did not accept the notification", transient=True)
