"""The local store server: every store on its own 127.0.0.1 port, one admin API, oracle logs.

State lives in one :class:`_State` guarded by a lock. Products are never mutated in place: a
change replaces the product object, so a response renders from one consistent snapshot, and
the served log and the change log share one sequence number, taken under the same lock, so
"which state did this response show" is always answerable.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import render
from .catalogue import AVAILABILITIES, STATUSES, Product, Store
from .locale import text

STATUS_CODES = {
    "ok": 200, "slow": 200, "oversize": 200, "malformed": 200, "no_availability": 200,
    "gone404": 404, "gone410": 410, "redirect_home": 302, "error500": 500, "throttle429": 429,
    "challenge": 503, "timeout": None, "maintenance": 200,
}

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 410: "Gone", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}

EDITABLE = ("price", "regular_price", "availability", "status", "name")

STORE_API = "/wp-json/wc/store/v1/products"
ENDPOINT_PATHS = (STORE_API, "/graphql")

GARBAGE = b"\x00\xff\xfe\x81\x8d\xc3(\x9d\xa0\xa1"


#: search pages as the platforms lay them out (path -> query parameter); every shop answers all of
#: them, and each shape's own one is in demostore/overlap.py
SEARCH_ROUTES = {"/search": "q", "/": "s", "/catalogsearch/result": "q", "/catalogsearch/result/": "q",
                 "/suche": "q"}
_WORD = re.compile(r"\w+", re.UNICODE)


def search_hits(products: list[Product], q: str) -> list[Product]:
    """A shop's relevance search: products holding at least half of the query's words (a word
    matches a title word it begins), most words first, then catalogue order."""
    words = [w.lower() for w in _WORD.findall(q or "")]
    if not words:
        return []
    scored = []
    for n, p in enumerate(products):
        title = [w.lower() for w in _WORD.findall(p.name)]
        held = sum(1 for w in words if any(t.startswith(w) for t in title))
        if held * 2 >= len(words):
            scored.append((-held, n, p))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [p for _, _, p in scored]


def _now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def _json_default(o):
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(type(o).__name__)


class _StoreRuntime:
    """One store's current products and routes (path -> (kind, product id))."""

    def __init__(self, store: Store):
        self.store = Store(slug=store.slug, name=store.name, currency=store.currency,
                           locale=store.locale, shape=store.shape, products=[],
                           charset=store.charset)
        self.order: list[str] = []
        self.products: dict[str, Product] = {}
        self.routes: dict[str, tuple[str, str]] = {}
        for p in store.products:
            p = copy.copy(p)
            if p.id in self.products:
                raise ValueError(f"{store.slug}: duplicate product id {p.id!r}")
            self.order.append(p.id)
            self.products[p.id] = p
            path = self.store.product_path(p)
            self.routes[path] = ("page", p.id)
            if store.shape == "shopify":
                self.routes[path + ".js"] = ("js", p.id)
                self.routes[path + ".json"] = ("json", p.id)
            if store.needs_render:
                self.routes[f"/api/products/{p.handle}"] = ("api", p.id)
        # one product per category: all the page frame needs to build the navigation
        # (categories never change, so this is computed once)
        seen: dict[str, str] = {}
        for pid in self.order:
            seen.setdefault(self.products[pid].category, pid)
        self.nav_ids = list(seen.values())
        self.port = 0
        self.base_url = ""

    @property
    def nav(self) -> list[Product]:
        return [self.products[i] for i in self.nav_ids]

    def current(self) -> list[Product]:
        products = self.products
        return [products[i] for i in self.order]

    def others(self, pid: str, n: int = 4) -> list[Product]:
        order = self.order
        if len(order) < 2:
            return []
        k = order.index(pid)
        picks = []
        for step in range(1, len(order)):
            other = order[(k + step * 3) % len(order)]
            if other != pid and other not in picks:
                picks.append(other)
            if len(picks) == n:
                break
        return [self.products[i] for i in picks]

    def endpoint(self, path: str, query: str) -> tuple[str, str] | None:
        """The platform endpoint of one product: WooCommerce's Store API by slug or id, Magento's
        GraphQL products query by url_key."""
        if self.store.shape == "woocommerce" and path.startswith(STORE_API):
            rest = path[len(STORE_API):].strip("/")
            wanted = (parse_qs(query).get("slug") or [None])[0]
            for pid in self.order:
                product = self.products[pid]
                if (rest and rest == pid) or (not rest and wanted == product.handle):
                    return ("store_api", pid)
        if self.store.shape == "magento" and path == "/graphql":
            found = re.search(r'url_key:\{eq:"([^"]+)"\}', (parse_qs(query).get("query") or [""])[0])
            for pid in self.order:
                if found and self.products[pid].handle == found.group(1):
                    return ("graphql", pid)
        return None

    def lookup(self, path: str) -> tuple[str, str] | None:
        hit = self.routes.get(path)
        if hit is None and path.endswith("/"):
            hit = self.routes.get(path.rstrip("/"))
        if hit is None and not path.endswith("/"):
            hit = self.routes.get(path + "/")
        return hit


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    block_on_close = False

    def __init__(self, addr, handler, demo: DemoStoreServer, runtime: _StoreRuntime):
        self.demo = demo
        self.runtime = runtime
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self):
        super().setup()
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format, *args):  # noqa: A002 - quiet by default
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, code: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              headers: list[tuple[str, str]] | None = None) -> None:
        lines = [f"HTTP/1.1 {code} {REASONS.get(code, 'Unknown')}",
                 f"Date: {formatdate(usegmt=True)}", "Server: nginx",
                 f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        for k, v in headers or ():
            lines.append(f"{k}: {v}")
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if self.command == "HEAD":
                self.wfile.write(head)
            else:
                self.wfile.write(head + body)
        except OSError:
            self.close_connection = True

    def _html(self, code: int, html_text: str, headers=None) -> None:
        charset = self.server.runtime.store.charset
        self._send(code, html_text.encode(charset, "xmlcharrefreplace"),
                   f"text/html; charset={charset}", headers)

    def _json(self, code: int, obj, headers=None) -> None:
        body = json.dumps(obj, ensure_ascii=False, default=_json_default).encode("utf-8")
        self._send(code, body, "application/json; charset=utf-8", headers)

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    # -- methods ----------------------------------------------------------------------------

    def do_GET(self):  # noqa: N802
        try:
            self._route("GET")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_HEAD(self):  # noqa: N802
        self.do_GET()

    def do_POST(self):  # noqa: N802
        try:
            body = self._read_body()
            url = urlsplit(self.path)
            if url.path.startswith("/_admin/"):
                self._admin("POST", url, body)
            else:
                self._html(405, "<h1>405 Method Not Allowed</h1>")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, method: str) -> None:
        demo, rt = self.server.demo, self.server.runtime
        url = urlsplit(self.path)
        path = unquote(url.path) or "/"
        if path.startswith("/_admin/"):
            return self._admin(method, url, b"")
        hit = rt.lookup(path) or rt.endpoint(path, url.query)
        if hit is not None:
            return demo._serve_product(self, rt, hit[0], hit[1], path)
        if path == render.APP_SCRIPT_PATH and rt.store.needs_render:
            return self._send(200, render.APP_JS.encode("utf-8"), "text/javascript; charset=utf-8")
        if rt.store.shape in ("woocommerce", "magento") and path in ENDPOINT_PATHS:
            # the shop's product endpoint, asked for a product it does not have: nothing found
            return self._json(200, [] if rt.store.shape == "woocommerce" else {"data": {"products": {"items": []}}})
        if path == "/robots.txt":
            return self._send(200, render.robots_txt(rt.base_url, rt.store.shape).encode(), "text/plain; charset=utf-8")
        if path == "/sitemap.xml":
            body = render.sitemap_xml(rt.store, rt.current(), rt.base_url).encode()
            return self._send(200, body, "application/xml; charset=utf-8")
        query = parse_qs(url.query)
        search_param = SEARCH_ROUTES.get(path)
        if search_param and (path != "/" or search_param in query):
            q = (query.get(search_param) or [""])[0]
            hits = search_hits(rt.current(), q)[:24]
            t = text(rt.store.locale)
            return self._html(200, render.listing_page(
                rt.store, hits, rt.nav, rt.base_url, title=t["search"],
                heading=t["results"].format(q=q), path=f"{path}?{search_param}={q}"))
        if path == "/":
            products = rt.current()
            t = text(rt.store.locale)
            return self._html(200, render.listing_page(
                rt.store, products[:24], rt.nav, rt.base_url, title=rt.store.name,
                heading=t["featured"], path="/"))
        if path.startswith("/category/"):
            return self._category(path[len("/category/"):].strip("/"))
        if path.startswith("/private/"):
            t = text(rt.store.locale)
            return self._html(200, render.message_page(rt.store, rt.nav, rt.base_url,
                                                       title=t["staff"], message="Staff only.",
                                                       body_class="template-page"))
        self._not_found(404)

    def _category(self, name: str) -> None:
        rt = self.server.runtime
        products = rt.current()
        if name.startswith("under-") and name[6:].isdigit():
            limit = Decimal(name[6:])
            hits = [p for p in products if p.price < limit]
        elif name in ("sale", "deals"):
            hits = [p for p in products if p.on_sale]
        elif name == "new":
            hits = products[-12:]
        else:
            hits = [p for p in products if p.category == name]
            if not hits:
                return self._not_found(404)
        label = name.replace("-", " ")
        self._html(200, render.listing_page(rt.store, hits[:48], rt.nav, rt.base_url,
                                            title=label.title(), heading=label.title(),
                                            path=f"/category/{name}"))

    def _not_found(self, code: int) -> None:
        rt = self.server.runtime
        t = text(rt.store.locale)
        msg = t["gone"] if code == 410 else t["not_found"]
        self._html(code, render.message_page(rt.store, rt.nav, rt.base_url,
                                             title=t["not_found_title"], message=msg))

    # -- admin ------------------------------------------------------------------------------

    def _admin(self, method: str, url, body: bytes) -> None:
        demo = self.server.demo
        parts = [p for p in url.path.split("/") if p][1:]
        query = parse_qs(url.query)
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return self._json(400, {"error": "body is not JSON"})
        try:
            since = int((query.get("since") or ["0"])[0])
        except ValueError:
            return self._json(400, {"error": "since must be an integer"})
        if method == "GET" and parts == ["catalogue"]:
            return self._json(200, demo.catalogue_json())
        if method == "GET" and parts == ["log"]:
            entries = demo.served_log(since)
            return self._json(200, {"entries": entries, "last_seq": demo.last_seq()})
        if method == "GET" and parts == ["changes"]:
            return self._json(200, {"entries": demo.change_log(since), "last_seq": demo.last_seq()})
        if method == "GET" and parts == ["config"]:
            return self._json(200, demo.config())
        if method == "POST" and parts == ["config"]:
            try:
                return self._json(200, demo.configure(**payload))
            except (TypeError, ValueError) as exc:
                return self._json(400, {"error": str(exc)})
        if method == "POST" and parts == ["reset"]:
            demo.reset(clear_logs=bool(payload.get("clear_logs", False)))
            return self._json(200, {"ok": True, "last_seq": demo.last_seq()})
        if len(parts) == 3 and parts[0] == "products":
            store, pid = parts[1], parts[2]
            try:
                if method == "GET":
                    return self._json(200, demo.product_json(store, pid))
                if not isinstance(payload, dict):
                    raise ValueError("body must be a JSON object")
                change = demo.set_product(store, pid, _source="admin", **payload)
                return self._json(200, {"product": demo.product_json(store, pid), "change": change})
            except KeyError as exc:
                return self._json(404, {"error": str(exc.args[0]) if exc.args else "not found"})
            except (TypeError, ValueError) as exc:
                return self._json(400, {"error": str(exc)})
        self._json(404, {"error": f"no admin endpoint {method} {url.path}"})


class DemoStoreServer:
    """Serve a catalogue: one listening socket per store on 127.0.0.1, all from threads.

    ``DemoStoreServer(catalogue)`` binds and starts at once; use it as a context manager or call
    :meth:`stop`. ``slow_delay`` (seconds) is how long a ``slow`` product sleeps before answering,
    ``timeout_hold`` how long a ``timeout`` product holds the connection without answering,
    ``oversize_bytes`` the size an ``oversize`` page is padded to, ``challenge_code`` the status
    of a ``challenge`` page (503 or 403).
    """

    def __init__(self, catalogue: list[Store], *, host: str = "127.0.0.1", slow_delay: float = 3.0,
                 timeout_hold: float = 60.0, oversize_bytes: int = 12 * 1024 * 1024,
                 challenge_code: int = 503, start: bool = True):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the demo store serves on the loopback interface only")
        self.host = host
        self.slow_delay = float(slow_delay)
        self.timeout_hold = float(timeout_hold)
        self.oversize_bytes = int(oversize_bytes)
        self.challenge_code = int(challenge_code)
        self._original = [copy.deepcopy(s) for s in catalogue]
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._seq = 0
        self._served: list[dict] = []
        self._changes: list[dict] = []
        self._runtimes: dict[str, _StoreRuntime] = {}
        self._servers: list[_HTTPServer] = []
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = False
        for store in self._original:
            if store.slug in self._runtimes:
                raise ValueError(f"duplicate store slug {store.slug!r}")
            rt = _StoreRuntime(store)
            srv = _HTTPServer((host, 0), _Handler, self, rt)
            rt.port = srv.server_address[1]
            rt.base_url = f"http://{host}:{rt.port}"
            self._runtimes[store.slug] = rt
            self._servers.append(srv)
        if start:
            self.start()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> DemoStoreServer:
        if self._started:
            return self
        self._started = True
        for srv in self._servers:
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                 name=f"demostore-{srv.runtime.store.slug}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop serving, close every socket and wake held (``timeout``/``slow``) requests."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._started:  # shut all down at once: each shutdown waits for one poll interval
            stoppers = [threading.Thread(target=srv.shutdown, daemon=True) for srv in self._servers]
            for t in stoppers:
                t.start()
            for t in stoppers:
                t.join()
        for srv in self._servers:
            srv.server_close()
            with srv.conn_lock:
                conns = list(srv.connections)
            for conn in conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self._threads:
            t.join(timeout=2)

    close = stop

    def __enter__(self) -> DemoStoreServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------

    @property
    def store_slugs(self) -> list[str]:
        return list(self._runtimes)

    def _rt(self, store: str) -> _StoreRuntime:
        try:
            return self._runtimes[store]
        except KeyError:
            raise KeyError(f"no store {store!r}") from None

    def base_url(self, store: str) -> str:
        return self._rt(store).base_url

    def base_urls(self) -> dict[str, str]:
        return {slug: rt.base_url for slug, rt in self._runtimes.items()}

    def port(self, store: str) -> int:
        return self._rt(store).port

    def product_path(self, store: str, product_id) -> str:
        rt = self._rt(store)
        return rt.store.product_path(self.product(store, product_id))

    def product_url(self, store: str, product_id) -> str:
        return self.base_url(store) + self.product_path(store, product_id)

    def admin_url(self) -> str:
        return next(iter(self._runtimes.values())).base_url + "/_admin/"

    # -- state ------------------------------------------------------------------------------

    def product(self, store: str, product_id) -> Product:
        """The current product (an object that is never mutated afterwards)."""
        rt = self._rt(store)
        try:
            return rt.products[str(product_id)]
        except KeyError:
            raise KeyError(f"{store}: no product {product_id!r}") from None

    def products(self, store: str) -> list[Product]:
        return self._rt(store).current()

    def catalogue(self) -> list[Store]:
        """A snapshot of the current catalogue."""
        with self._lock:
            out = []
            for rt in self._runtimes.values():
                s = copy.copy(rt.store)
                s.products = rt.current()
                out.append(s)
            return out

    def product_json(self, store: str, product_id) -> dict:
        rt = self._rt(store)
        p = self.product(store, product_id)
        d = p.to_dict()
        d["store"] = store
        d["path"] = rt.store.product_path(p)
        d["url"] = rt.base_url + d["path"]
        if rt.store.shape == "shopify":
            d["js_url"] = d["url"] + ".js"
            d["json_url"] = d["url"] + ".json"
        return d

    def catalogue_json(self) -> dict:
        with self._lock:
            return {"stores": [
                {"slug": slug, "name": rt.store.name, "currency": rt.store.currency,
                 "locale": rt.store.locale, "shape": rt.store.shape, "charset": rt.store.charset,
                 "base_url": rt.base_url, "port": rt.port,
                 "products": [self.product_json(slug, pid) for pid in rt.order]}
                for slug, rt in self._runtimes.items()],
                "last_seq": self._seq}

    def set_product(self, store: str, product_id, *, _source: str = "api", **changes) -> dict | None:
        """Change a product now; returns the change-log entry, or None if nothing changed.

        Accepted keys: price, regular_price (None to end a sale), availability, status, name.
        Prices may be Decimal, str, int or float.
        """
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}; editable: {EDITABLE}")
        clean = {}
        for key, value in changes.items():
            if key in ("price", "regular_price"):
                if value is None and key == "regular_price":
                    clean[key] = None
                    continue
                try:
                    clean[key] = Decimal(repr(value) if isinstance(value, float) else str(value))
                except (InvalidOperation, ValueError):
                    raise ValueError(f"{key} is not a decimal: {value!r}") from None
                if not clean[key].is_finite():
                    raise ValueError(f"{key} is not a finite decimal: {value!r}")
            elif key == "availability":
                if value not in AVAILABILITIES:
                    raise ValueError(f"availability must be one of {AVAILABILITIES}")
                clean[key] = value
            elif key == "status":
                if value not in STATUSES:
                    raise ValueError(f"status must be one of {STATUSES}")
                clean[key] = value
            else:
                clean[key] = str(value)
        rt = self._rt(store)
        with self._lock:
            old = self.product(store, product_id)
            diff = {k: v for k, v in clean.items() if getattr(old, k) != v}
            if not diff:
                return None
            new = old.changed(**diff)
            rt.products[new.id] = new
            return self._record_change(store, old, new, diff, _source)

    def _record_change(self, store: str, old: Product, new: Product, diff: dict, source: str) -> dict:
        self._seq += 1
        ts = time.time()
        entry = {"seq": self._seq, "time": ts, "at": _now_iso(ts), "store": store,
                 "product_id": new.id, "source": source,
                 "changes": {k: [_plain(getattr(old, k)), _plain(getattr(new, k))] for k in diff},
                 "price": str(new.price),
                 "regular_price": None if new.regular_price is None else str(new.regular_price),
                 "currency": new.currency, "availability": new.availability, "status": new.status}
        self._changes.append(entry)
        return entry

    def reset(self, clear_logs: bool = False) -> None:
        """Restore every product to the catalogue the server started with.

        Restorations are recorded in the change log (source "reset") unless ``clear_logs``,
        which empties both logs (sequence numbers keep increasing).
        """
        with self._lock:
            for store in self._original:
                rt = self._runtimes[store.slug]
                for orig in store.products:
                    cur = rt.products[orig.id]
                    diff = {k: getattr(orig, k) for k in EDITABLE if getattr(cur, k) != getattr(orig, k)}
                    if diff:
                        new = copy.copy(orig)
                        rt.products[orig.id] = new
                        if not clear_logs:
                            self._record_change(store.slug, cur, new, diff, "reset")
            if clear_logs:
                self._served.clear()
                self._changes.clear()

    def served_log(self, since: int = 0) -> list[dict]:
        """Every product response served (seq > ``since``), oldest first."""
        with self._lock:
            return [dict(e) for e in self._tail(self._served, since)]

    def change_log(self, since: int = 0) -> list[dict]:
        """Every change made to a product (seq > ``since``), oldest first."""
        with self._lock:
            return [dict(e) for e in self._tail(self._changes, since)]

    @staticmethod
    def _tail(entries: list[dict], since: int) -> list[dict]:
        lo, hi = 0, len(entries)
        while lo < hi:
            mid = (lo + hi) // 2
            if entries[mid]["seq"] <= since:
                lo = mid + 1
            else:
                hi = mid
        return entries[lo:]

    def last_seq(self) -> int:
        return self._seq

    def config(self) -> dict:
        return {"slow_delay": self.slow_delay, "timeout_hold": self.timeout_hold,
                "oversize_bytes": self.oversize_bytes, "challenge_code": self.challenge_code}

    def configure(self, **settings) -> dict:
        for key, value in settings.items():
            if key in ("slow_delay", "timeout_hold"):
                setattr(self, key, float(value))
            elif key in ("oversize_bytes", "challenge_code"):
                setattr(self, key, int(value))
            else:
                raise ValueError(f"unknown setting {key!r}")
        return self.config()

    # -- serving a product URL --------------------------------------------------------------

    def _snapshot(self, rt: _StoreRuntime, kind: str, pid: str, path: str):
        """Take the product's current state and log what this response will show."""
        with self._lock:
            product = rt.products[pid]
            others = rt.others(pid)
            code = STATUS_CODES[product.status]
            if code == 503:
                code = self.challenge_code
            shows = code == 200 and product.status != "maintenance"
            if shows:
                no_signal = (product.status == "no_availability" or product.availability == "unknown"
                             or kind == "json")
                if rt.store.needs_render and kind == "page":
                    shows = False  # the shell shows nothing: its script's API call does
                availability = "unknown" if no_signal else product.availability
            self._seq += 1
            ts = time.time()
            entry = {"seq": self._seq, "time": ts, "at": _now_iso(ts), "store": rt.store.slug,
                     "product_id": pid, "path": path, "kind": kind, "product_status": product.status,
                     "status_code": code,
                     "price": str(product.price) if shows else None,
                     "regular_price": (str(product.regular_price) if shows and product.on_sale else None),
                     "currency": product.currency if shows else None,
                     "availability": availability if shows else None}
            self._served.append(entry)
            return product, others, entry

    def _serve_product(self, handler: _Handler, rt: _StoreRuntime, kind: str, pid: str, path: str) -> None:
        status = rt.products[pid].status
        if status == "slow":
            if self._stopping.wait(self.slow_delay):
                handler.close_connection = True
                return
        product, others, entry = self._snapshot(rt, kind, pid, path)
        status = product.status
        store = rt.store
        if status == "timeout":
            self._stopping.wait(self.timeout_hold)
            handler.close_connection = True
            return
        if status in ("gone404", "gone410"):
            return handler._not_found(404 if status == "gone404" else 410)
        if status == "redirect_home":
            # to the home of the name the client asked for (a shop served under its own domain
            # through a host mapping redirects within that domain, as the real shop would)
            asked = handler.headers.get("Host") or ""
            base = f"http://{asked}" if re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?", asked) \
                else rt.base_url
            body = f'<html><body>You are being <a href="{base}/">redirected</a>.</body></html>'
            return handler._html(302, body, [("Location", base + "/")])
        if status == "error500":
            t = text(store.locale)
            return handler._html(500, render.message_page(store, rt.nav, rt.base_url,
                                                          title=t["error_title"], message=t["error"],
                                                          body_class="template-error"))
        if status == "throttle429":
            t = text(store.locale)
            return handler._html(429, render.message_page(store, rt.nav, rt.base_url,
                                                          title="429 Too Many Requests",
                                                          message=t["throttle"], body_class="template-error"),
                                 [("Retry-After", "2")])
        if status == "challenge":
            ray = f"{(entry['seq'] * 2654435761) % (16 ** 12):012x}{rt.port % 256:02x}{pid[-2:]:0>2}"[:16]
            body = render.challenge_page(f"127.0.0.1:{rt.port}", ray).encode("utf-8")
            return handler._send(entry["status_code"], body, "text/html; charset=UTF-8", [
                ("Server", "cloudflare"), ("cf-mitigated", "challenge"), ("CF-RAY", f"{ray}-FRA"),
                ("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate")])
        if status == "maintenance":
            # the whole shop's page while it is down for maintenance, served with 200
            return handler._html(200, render.maintenance_page(store))
        show = status != "no_availability"
        if kind == "api":
            return handler._json(200, render.app_product(store, product, rt.base_url, show))
        if store.needs_render:
            return handler._html(200, render.app_shell(store, product))
        if kind in ("js", "json", "store_api", "graphql"):
            pad = render.padding(self.oversize_bytes) if status == "oversize" else ""
            if kind == "js":
                doc = render.shopify_js(store, product, rt.base_url, show, pad)
            elif kind == "store_api":
                doc = [render.woo_store_api(store, product, rt.base_url, show, pad)]
            elif kind == "graphql":
                doc = render.magento_graphql(store, product, rt.base_url, show)
            else:
                doc = render.shopify_json(store, product, rt.base_url, pad)
            body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
            if status == "malformed":
                body = body[: len(body) * 2 // 3] + GARBAGE
            ctype = "application/javascript; charset=utf-8" if kind == "js" else "application/json; charset=utf-8"
            if kind == "store_api":
                return handler._send(200, body, ctype, [("Link", f'<{rt.base_url}/wp-json/>; rel="https://api.w.org/"')])
            return handler._send(200, body, ctype)
        html_text = render.product_page(store, product, others, rt.nav, rt.base_url, show_availability=show)
        charset = store.charset
        if status == "malformed":
            html_text = render.malform(html_text)
        body = html_text.encode(charset, "xmlcharrefreplace")
        if status == "malformed":
            body = body.replace(b"<main", GARBAGE + b"<main", 1).replace(b"<footer", b"\xff\xfe" + GARBAGE + b"<footer", 1)
        elif status == "oversize":
            marker = body.find(b"<footer")
            pad = render.padding(self.oversize_bytes - len(body)).encode("ascii")
            body = body[:marker] + pad + body[marker:]
        handler._send(200, body, f"text/html; charset={charset}",
                      [("Cache-Control", "private, max-age=0"), ("X-Content-Type-Options", "nosniff")])


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    return value
