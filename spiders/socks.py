"""Tunnels through SOCKS5 proxies and proxies reached over TLS, for Scrapy's HTTP/1.1 downloads.

Scrapy speaks to HTTP proxies only (``meta["proxy"]``: a plain request for http targets, a
CONNECT tunnel for https targets, and no https target through a TLS proxy). pricehound's pools
also hold ``socks5``/``socks5h`` proxies and ``https`` proxies, so this download handler opens
the tunnel itself and then lets Scrapy's HTTP/1.1 client (the same one, with its size limits,
timeouts and TLS settings) talk through it:

    TCP to the proxy ─(TLS, for an https proxy)─ handshake (SOCKS5 or CONNECT) ─(TLS, for an https target)─ HTTP/1.1

``socks5``: the crawler resolves the target itself, through the guarded resolver of
spiders/resolver.py, and hands the proxy an approved address: a name that rebinds to a private
address is refused here as it is without a proxy. ``socks5h``: the proxy resolves the name (for
proxies in another network); the URL guard's pre-flight check still vets it.

RFC 1928 (SOCKS5) and RFC 1929 (username/password): the handshake is a few fixed messages.
Requests without a tunnel proxy go through Scrapy's handler unchanged.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import struct
from typing import Any

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _BindAddressAgent,
    _ScrapyAgent,
)
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer, threads
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

from pricehound.config import Proxy
from spiders.middlewares import BlockedURL
from spiders.proxies import META_TUNNEL

SOCKS_REPLIES = {
    1: "general SOCKS server failure", 2: "connection not allowed by ruleset", 3: "network unreachable",
    4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
    8: "address type not supported",
}


class TunnelRefused(ConnectionError):
    """The proxy would not open the tunnel; ``str()`` says what it answered."""


class Socks5Error(TunnelRefused):
    """The SOCKS5 proxy refused the handshake or the connection."""


class _Handshake(Protocol):
    """Talk to the proxy until the tunnel is open, then hand the connection to the real protocol
    (built by ``factory``) and pass every later byte to it."""

    def __init__(self, factory: Factory, opened: defer.Deferred):
        self.wrapped_factory = factory
        self.opened = opened
        self.inner: Protocol | None = None
        self.buf = b""

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's interface
        self.begin()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.inner is not None:
            self.inner.dataReceived(data)
            return
        self.buf += data
        try:
            self.advance()
        except TunnelRefused as exc:
            self.transport.abortConnection()
            if not self.opened.called:
                self.opened.errback(Failure(exc))

    def connectionLost(self, reason: Failure = None) -> None:  # noqa: N802
        if self.inner is not None:
            self.inner.connectionLost(reason)
        elif not self.opened.called:
            self.opened.errback(Failure(TunnelRefused("the proxy closed the connection during the handshake")))

    def open_tunnel(self, rest: bytes) -> None:
        inner = self.wrapped_factory.buildProtocol(self.transport.getPeer())
        self.inner = inner
        inner.makeConnection(self.transport)
        if not self.opened.called:
            self.opened.callback(inner)
        if rest:
            inner.dataReceived(rest)

    def begin(self) -> None:
        raise NotImplementedError

    def advance(self) -> None:
        raise NotImplementedError


class Socks5Handshake(_Handshake):
    """RFC 1928 CONNECT, with RFC 1929 username/password when the proxy has credentials."""

    def __init__(self, factory: Factory, opened: defer.Deferred, host: str, port: int,
                 username: str | None, password: str | None):
        super().__init__(factory, opened)
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.state = "method"

    def begin(self) -> None:
        methods = b"\x00\x02" if self.username is not None else b"\x00"
        self.transport.write(b"\x05" + bytes([len(methods)]) + methods)

    def advance(self) -> None:
        while self.inner is None:
            if self.state == "method":
                if len(self.buf) < 2:
                    return
                method, self.buf = self.buf[1], self.buf[2:]
                if method == 0x02 and self.username is not None:
                    user, password = self.username.encode(), (self.password or "").encode()
                    self.transport.write(b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password)
                    self.state = "auth"
                elif method == 0x00:
                    self._request()
                else:
                    raise Socks5Error("the SOCKS5 proxy accepts none of our authentication methods")
            elif self.state == "auth":
                if len(self.buf) < 2:
                    return
                status, self.buf = self.buf[1], self.buf[2:]
                if status != 0:
                    raise Socks5Error("the SOCKS5 proxy refused the username or password")
                self._request()
            elif self.state == "reply":
                if len(self.buf) < 5:
                    return
                reply, atyp = self.buf[1], self.buf[3]
                if reply != 0:
                    raise Socks5Error(f"the SOCKS5 proxy could not connect: {SOCKS_REPLIES.get(reply, reply)}")
                size = {1: 4, 4: 16}.get(atyp, 1 + self.buf[4])
                if len(self.buf) < 4 + size + 2:
                    return
                self.open_tunnel(self.buf[4 + size + 2:])

    def _request(self) -> None:
        try:
            address = ipaddress.ip_address(self.host)
            target = (b"\x01" if address.version == 4 else b"\x04") + address.packed
        except ValueError:
            name = self.host.encode("idna")
            target = b"\x03" + bytes([len(name)]) + name
        self.transport.write(b"\x05\x01\x00" + target + struct.pack("!H", self.port))
        self.state = "reply"


class ConnectHandshake(_Handshake):
    """An HTTP CONNECT tunnel (through a proxy reached over TLS)."""

    def __init__(self, factory: Factory, opened: defer.Deferred, host: str, port: int,
                 username: str | None, password: str | None):
        super().__init__(factory, opened)
        self.host, self.port = host, port
        self.auth = None
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self.auth = f"Proxy-Authorization: Basic {token}\r\n"

    def begin(self) -> None:
        where = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        self.transport.write(f"CONNECT {where} HTTP/1.1\r\nHost: {where}\r\n{self.auth or ''}\r\n".encode())

    def advance(self) -> None:
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            if len(self.buf) > 16384:
                raise TunnelRefused("the proxy's answer to CONNECT is too long")
            return
        status = head.split(b"\r\n", 1)[0].split(b" ", 2)
        if len(status) < 2 or status[1] != b"200":
            raise TunnelRefused(f"the proxy answered CONNECT with {b' '.join(status[1:]).decode('latin-1')}")
        self.open_tunnel(rest)


class _TunnelEndpoint:
    """Connect to the proxy, open the tunnel to host:port, then behave as a plain connection."""

    def __init__(self, reactor: Any, proxy: Proxy, proxy_endpoint: Any, host: str, port: int):
        self.reactor, self.proxy, self.proxy_endpoint = reactor, proxy, proxy_endpoint
        self.host, self.port = host, port

    def connect(self, factory: Factory) -> defer.Deferred:
        return defer.ensureDeferred(self._connect(factory))

    async def _connect(self, factory: Factory) -> Protocol:
        host = self.host
        if self.proxy.scheme == "socks5":
            host = await _approved_address(self.reactor, host, self.port)
        opened: defer.Deferred = defer.Deferred()
        kind = ConnectHandshake if self.proxy.scheme == "https" else Socks5Handshake
        handshake = Factory.forProtocol(lambda: kind(factory, opened, host, self.port,
                                                     self.proxy.username, self.proxy.password))
        connected = self.proxy_endpoint.connect(handshake)
        connected.addErrback(lambda f: opened.errback(f) if not opened.called else None)
        return await opened


async def _approved_address(reactor: Any, host: str, port: int) -> str:
    """The target's address as the crawl's guarded resolver approves it (BlockedURL if refused)."""
    resolver = getattr(reactor, "nameResolver", None)
    checked = getattr(resolver, "checked_addresses", None)
    try:
        if checked is not None:
            addresses = await checked(host, port)
        else:  # no guarded resolver installed (never in a crawl): the system's answer
            infos = await threads.deferToThread(socket.getaddrinfo, host, port, proto=socket.IPPROTO_TCP)
            addresses = [str(info[4][0]) for info in infos]
    except Exception as exc:
        if type(exc).__name__ == "RefusedAddress":
            raise BlockedURL(str(exc)) from None
        raise
    return addresses[0]


class _TunnelAgent(_BindAddressAgent):
    """An Agent whose connections go through the request's tunnel proxy."""

    def __init__(self, *, reactor: Any, proxy: Proxy, contextFactory: Any, connectTimeout: float | None,  # noqa: N803
                 bindAddress: Any, pool: Any):
        super().__init__(reactor, contextFactory, connectTimeout, bindAddress, pool)
        self._proxy = proxy
        self._tls = contextFactory
        self._timeout = connectTimeout

    def _getEndpoint(self, uri: Any) -> Any:  # noqa: N802 - Twisted's name
        proxy = self._proxy
        endpoint: Any = HostnameEndpoint(self._reactor, proxy.host, proxy.port, timeout=self._timeout or 30)
        if proxy.scheme == "https":
            endpoint = wrapClientTLS(self._tls.creatorForNetloc(proxy.host.encode("idna"), proxy.port), endpoint)
        host = uri.host.decode("ascii") if isinstance(uri.host, bytes) else uri.host
        endpoint = _TunnelEndpoint(self._reactor, proxy, endpoint, host.strip("[]"), uri.port)
        if uri.scheme == b"https":
            endpoint = wrapClientTLS(self._tls.creatorForNetloc(uri.host, uri.port), endpoint)
        return endpoint

    def _requestWithEndpoint(self, key: Any, endpoint: Any, method: bytes, parsedURI: Any,  # noqa: N802, N803
                             headers: Any, bodyProducer: Any, requestPath: bytes) -> Any:  # noqa: N803
        # one proxy's tunnels are never reused for another proxy (or other credentials)
        key += (META_TUNNEL, self._proxy.label, self._proxy.username)
        return super()._requestWithEndpoint(key, endpoint, method, parsedURI, headers, bodyProducer, requestPath)


class _TunnelScrapyAgent(_ScrapyAgent):
    def __init__(self, *, proxy: Proxy, **kwargs: Any):
        super().__init__(**kwargs)
        self._tunnel_proxy = proxy

    def _get_agent(self, request: Request, timeout: float) -> Any:
        from twisted.internet import reactor

        return _TunnelAgent(reactor=reactor, proxy=self._tunnel_proxy, contextFactory=self._contextFactory,
                            connectTimeout=timeout, bindAddress=None, pool=self._pool)


class TunnelDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, with a tunnel through the request's SOCKS5 or TLS proxy."""

    async def download_request(self, request: Request) -> Response:
        proxy = request.meta.get(META_TUNNEL)
        if proxy is None:
            return await super().download_request(request)
        from scrapy.utils._download_handlers import wrap_twisted_exceptions

        agent = _TunnelScrapyAgent(
            proxy=proxy, contextFactory=self._contextFactory, bindAddress=self._bind_address,
            pool=self._pool, maxsize=self._default_maxsize, warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))
