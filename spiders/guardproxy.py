"""The browser's only way out: an HTTP proxy in the crawl process that applies the crawl's URL
rules to every request the browser makes.

A rendered page fetches whatever its scripts ask for: XHR and fetch calls, subresources, frames,
redirects. Chromium is launched so that it resolves no host name itself and sends every request,
loopback included, to this proxy (spiders/rendering.py). For each host the proxy checks, once per
crawl, what the URL guard checks for the crawl's own requests (spiders/middlewares.py): the host
is on the store's allowed domains, it is a name (not an address, not a local-network name) and it
resolves only to public addresses (a store marked local may use private ones for its own hosts).
It then connects to the address it vetted, so a name whose DNS answer changes afterwards (DNS
rebinding) cannot move the connection: the browser never sees the name resolved at all.

A refused plain-HTTP request is answered 403 with the reason in ``X-Pricehound-Refused``; a
refused CONNECT (https, wss) is answered 403, which Chromium reports as a tunnel failure. Either
way the reason is kept in ``refusals`` (host:port -> why), counted in the crawl stats as
``pricehound/render/refused`` and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from pricehound import hostmap, urls

log = logging.getLogger("pricehound.crawl")

REFUSED_HEADER = "X-Pricehound-Refused"
MAX_HEAD_BYTES = 64 * 1024
# Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own: never passed on to the store.
HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization",
                         "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "host"})


class Refused(Exception):
    """The proxy will not connect there; str() says why."""


class GuardProxy:
    """An HTTP/1.1 forward proxy (absolute-form requests and CONNECT) on 127.0.0.1.

    ``allowed_domains``, ``allow_private``, ``lookup`` and ``host_map`` are the crawl's own
    (PRICEHOUND_ALLOWED_DOMAINS, PRICEHOUND_ALLOW_PRIVATE, PRICEHOUND_DNS_LOOKUP, PRICEHOUND_RESOLVE).
    ``never`` holds (address, port) pairs the browser must never reach even on an allowed host:
    the proxy itself and the browser's DevTools endpoint.
    """

    def __init__(self, allowed_domains: Sequence[str], *, allow_private: bool = False,
                 lookup: Callable[[str], Sequence[str]] | None = None,
                 host_map: hostmap.HostMap | None = None, stats: Any = None, idle_timeout: float = 30.0):
        self.allowed_domains = tuple(allowed_domains)
        self.allow_private = allow_private
        self.lookup = lookup or urls.system_resolver
        self.host_map = host_map or hostmap.HostMap()
        self.stats = stats
        self.idle_timeout = idle_timeout
        self.refusals: dict[str, str] = {}
        self.never: set[tuple[str, int]] = set()
        self.port = 0
        self._verdicts: dict[str, tuple[str, int] | str] = {}
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> GuardProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        self.never.add(("127.0.0.1", self.port))
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"pricehound/render/{key}")

    # -- the rules ------------------------------------------------------------------------------

    async def vet(self, host: str, port: int) -> tuple[str, int]:
        """The (address, port) to connect to for host:port, decided once per crawl; Refused otherwise."""
        try:
            name = urls.normal_host(host)
        except urls.UnsafeURL as exc:
            raise Refused(str(exc)) from None
        key = f"{name}:{port}"
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = await asyncio.get_running_loop().run_in_executor(None, self._decide, name, port)
            self._verdicts[key] = verdict
        if isinstance(verdict, str):
            self.refusals[key] = verdict
            raise Refused(verdict)
        return verdict

    def _decide(self, name: str, port: int) -> tuple[str, int] | str:
        if not urls.domain_matches(name, port, self.allowed_domains):
            return f"{name}:{port} is not one of the store's domains"
        shown = f"[{name}]" if ":" in name else name
        try:
            addresses = urls.check_fetchable(f"http://{shown}:{port}/", allow_private=self.allow_private,
                                             resolver=self.host_map.lookup(self.lookup, port))
        except urls.UnsafeURL as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - a lookup that fails in any way: the name does not resolve
            return f"{name} does not resolve ({exc})"
        address = str(addresses[0])
        connect_port = self.host_map.connect_port(name, port)
        if (address, connect_port) in self.never or (address in ("127.0.0.1", "::1") and
                                                     ("127.0.0.1", connect_port) in self.never):
            return f"{name}:{port} is the crawler's own endpoint"
        return address, connect_port

    # -- serving ------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return await self._answer(writer, 400, "a request line is METHOD TARGET VERSION")
        headers = [tuple(h.split(":", 1)) for h in lines[1:] if ":" in h]
        self._count("proxy_requests")
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host = host.strip("[]")
            if not port_text.isdigit() or not host:
                return await self._answer(writer, 400, "CONNECT needs HOST:PORT")
            return await self._tunnel(reader, writer, host, int(port_text))
        return await self._forward(reader, writer, method, target, headers)

    async def _refuse(self, writer: asyncio.StreamWriter, host: str, port: int, why: str) -> None:
        self._count("refused")
        log.warning("browser request refused: %s:%s: %s", host, port, why)
        await self._answer(writer, 403, why, refused=True)

    async def _answer(self, writer: asyncio.StreamWriter, status: int, text: str, refused: bool = False) -> None:
        body = f"pricehound refused this request: {text}\n".encode()
        reason = "Forbidden" if status == 403 else "Bad Request"
        extra = ""
        if refused:
            clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)[:300]
            extra = f"{REFUSED_HEADER}: {clean}\r\n"
        writer.write((f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n{extra}"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
        with contextlib.suppress(Exception):
            await writer.drain()

    async def _open(self, address: str, port: int):
        return await asyncio.wait_for(asyncio.open_connection(address, port, limit=MAX_HEAD_BYTES),
                                      self.idle_timeout)

    async def _tunnel(self, reader, writer, host: str, port: int) -> None:
        try:
            address, connect_port = await self.vet(host, port)
        except Refused as exc:
            return await self._refuse(writer, host, port, str(exc))
        try:
            up_reader, up_writer = await self._open(address, connect_port)
        except (OSError, TimeoutError):
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        await self._pipe_both(reader, writer, up_reader, up_writer)

    async def _forward(self, reader, writer, method: str, target: str, headers) -> None:
        try:
            parts = urlsplit(target)
            port = parts.port or 80
        except ValueError:
            return await self._answer(writer, 400, "malformed request target")
        if parts.scheme.lower() != "http" or not parts.hostname:
            return await self._answer(writer, 400, "only absolute http:// targets are proxied; https goes by CONNECT")
        host = parts.hostname
        try:
            address, connect_port = await self.vet(host, port)
        except Refused as exc:
            return await self._refuse(writer, host, port, str(exc))
        length = 0
        for name, value in headers:
            low = name.strip().lower()
            if low == "transfer-encoding":
                return await self._answer(writer, 400, "chunked request bodies are not proxied")
            if low == "content-length":
                length = int(value.strip())
        try:
            up_reader, up_writer = await self._open(address, connect_port)
        except (OSError, TimeoutError):
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        shown_host = f"[{host}]" if ":" in host else host
        host_header = shown_host if port == 80 else f"{shown_host}:{port}"
        out = [f"{method} {path} HTTP/1.1", f"Host: {host_header}"]
        out += [f"{n.strip()}:{v}" for n, v in headers if n.strip().lower() not in HOP_HEADERS]
        out.append("Connection: close")
        up_writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        if length:
            up_writer.write(await asyncio.wait_for(reader.readexactly(length), self.idle_timeout))
        await up_writer.drain()
        # one request per connection: the answer is passed back and both sides are closed, so a
        # second request (perhaps for another host) can never ride on this vetted connection
        try:
            await self._pipe(up_reader, writer)
        finally:
            with contextlib.suppress(Exception):
                up_writer.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while True:
            chunk = await asyncio.wait_for(src.read(65536), self.idle_timeout)
            if not chunk:
                return
            dst.write(chunk)
            await dst.drain()

    async def _pipe_quietly(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await self._pipe(src, dst)

    async def _pipe_both(self, reader, writer, up_reader, up_writer) -> None:
        tasks = [asyncio.ensure_future(self._pipe_quietly(reader, up_writer)),
                 asyncio.ensure_future(self._pipe_quietly(up_reader, writer))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            with contextlib.suppress(Exception):
                up_writer.close()
