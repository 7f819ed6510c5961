"""The crawler's DNS resolver: the address rules applied to the very answer a connection uses.

The URL guard (spiders/middlewares.py) checks a host before the request is sent, but Twisted
resolves the name again when it connects. A name whose DNS answer changes in between (DNS
rebinding: public for the check, 127.0.0.1 or 169.254.169.254 for the connect) would get past a
check that is not made at connect time. This resolver is the one Twisted asks when it connects,
so the addresses it approves are exactly the addresses connected to: there is no window.

Wiring (process-wide: Scrapy builds the resolver from the crawl process's settings)::

    TWISTED_DNS_RESOLVER = "spiders.resolver.GuardedResolver"
    PRICEHOUND_ALLOW_PRIVATE_HOSTS = ["127.0.0.1:8101", "demo.local"]   # only for local stores

``PRICEHOUND_ALLOW_PRIVATE_HOSTS`` entries follow pricehound.urls.domain_matches: ``host:port``
allows exactly that host and port, a bare ``domain`` allows it and its subdomains on any port.
When it is empty and ``PRICEHOUND_ALLOW_PRIVATE`` is true, ``PRICEHOUND_ALLOWED_DOMAINS`` is
used, so a crawl of a store marked local works without more settings. ``PRICEHOUND_DNS_LOOKUP``
(a callable or its import path: host -> addresses) replaces the system lookup in tests.
``PRICEHOUND_RESOLVE`` (a store's host mapping, pricehound/hostmap.py) answers for the hosts
it maps before any lookup; the address rules below apply to its answer like to any other.

A refused name resolves to nothing, so the connection fails with Twisted's DNSLookupError
before any socket is opened; the reason is logged (logger ``pricehound.crawl``), counted in the
crawl stats as ``pricehound/dns_refused`` when a crawler is at hand, and kept in ``refusals``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from twisted.internet import threads
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IHostResolution, IResolutionReceiver
from zope.interface import implementer

from pricehound import hostmap, urls

log = logging.getLogger("pricehound.crawl")

Lookup = Callable[[str], Sequence[str]]


class RefusedAddress(DNSLookupError):
    """The name resolved, but to an address this crawl may not connect to; str() says why."""


def system_lookup(host: str) -> list[str]:
    """Every address the system resolver gives for the host (IPv4 and IPv6), in its order."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise DNSLookupError(f"{host} does not resolve ({exc})") from None
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)


def refusal(host: str, port: int, addresses: Sequence[str], allow_private_hosts: Iterable[str]) -> str | None:
    """Why a connection to these addresses of host:port must not be made, or None.

    Every address must be public: one private address among public ones is enough to refuse,
    since the connection may try any of them. Hosts on the allowance list (stores marked
    local) may use any address.
    """
    try:
        name = urls.normal_host(host)
    except urls.UnsafeURL as exc:
        return str(exc)
    if not addresses:
        return f"{name} does not resolve"
    if urls.domain_matches(name, port, allow_private_hosts):
        return None
    for address in addresses:
        try:
            public = urls.is_public_address(address)
        except ValueError:
            return f"{name} resolved to {address!r}, which is not an address"
        if not public:
            return (f"{name}:{port} resolves to {address}, a private, loopback or link-local address; "
                    "refused at connect time")
    return None


def _is_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str):
        self.name = name

    def cancel(self) -> None:  # pragma: no cover - Twisted never cancels name resolution today
        pass


def _twisted_address(address: str, port: int) -> IPv4Address | IPv6Address:
    if ":" not in address:
        return IPv4Address("TCP", address, port)
    host, _, scope = address.partition("%")
    scope_id = 0
    if scope:
        try:
            scope_id = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
        except OSError:
            scope_id = 0
    return IPv6Address("TCP", host, port, 0, scope_id)


@implementer(IHostnameResolver)
class GuardedResolver:
    """An IHostnameResolver that resolves in a thread and hands Twisted only approved addresses."""

    def __init__(self, reactor: Any, *, allow_private_hosts: Iterable[str] = (),
                 lookup: Lookup | None = None, timeout: float = 10.0, stats: Any = None,
                 host_map: hostmap.HostMap | None = None):
        self.reactor = reactor
        self.host_map = host_map or hostmap.HostMap()
        self.allow_private_hosts = tuple(allow_private_hosts)
        self.lookup: Lookup = lookup or system_lookup
        self.timeout = timeout
        self.stats = stats
        self.refusals: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        """Scrapy passes the crawl process here; only its settings (and stats, if any) are read."""
        s = crawler.settings
        hosts = s.getlist("PRICEHOUND_ALLOW_PRIVATE_HOSTS")
        if not hosts and s.getbool("PRICEHOUND_ALLOW_PRIVATE"):
            hosts = s.getlist("PRICEHOUND_ALLOWED_DOMAINS")
        # the store's proxies are the operator's configuration, not a target: they may be on a
        # private network; the targets behind them are still vetted by the URL guard
        hosts = [*hosts, *s.getlist("PRICEHOUND_PROXY_HOSTS")]
        lookup = s.get("PRICEHOUND_DNS_LOOKUP")
        if lookup is not None:
            from scrapy.utils.misc import load_object

            lookup = load_object(lookup)
        return cls(reactor, allow_private_hosts=hosts, lookup=lookup,
                   timeout=s.getfloat("DNS_TIMEOUT", 10.0), stats=getattr(crawler, "stats", None),
                   host_map=hostmap.HostMap.parse(s.getlist("PRICEHOUND_RESOLVE")))

    def install_on_reactor(self) -> None:
        """Become the reactor's name resolver (its simple resolver then goes through us too)."""
        self.reactor.installNameResolver(self)

    def checked_addresses(self, host: str, port: int = 0) -> Deferred:
        """The approved addresses of host:port; fails with RefusedAddress (or DNSLookupError)."""
        d = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._lookup_and_check,
                                      host, port)
        if self.timeout and self.timeout > 0:
            d.addTimeout(self.timeout, self.reactor)
        return d

    def _lookup_and_check(self, host: str, port: int) -> list[str]:
        try:
            if _is_address(host):  # an address is its own answer (a proxy configured by address)
                addresses = [host.strip("[]")]
            else:
                addresses = [str(a) for a in self.host_map.lookup(self.lookup, port or None)(host)]
        except DNSLookupError:
            raise
        except Exception as exc:  # noqa: BLE001 - any lookup failure is "does not resolve"
            raise DNSLookupError(f"{host} does not resolve ({exc})") from None
        why = refusal(host, port, addresses, self.allow_private_hosts)
        if why is not None:
            raise RefusedAddress(why)
        return addresses

    def resolveHostName(  # noqa: N802 - Twisted's interface
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Sequence[type] | None = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> IHostResolution:
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        wanted = tuple(addressTypes) if addressTypes else (IPv4Address, IPv6Address)

        # a host mapping may send the connection to another port (HOST:ADDRESS:PORT); the
        # checks above were made for the port the URL names
        connect_port = self.host_map.connect_port(hostName, portNumber) if portNumber else portNumber

        def deliver(addresses: list[str]) -> None:
            for address in addresses:
                twisted_address = _twisted_address(address, connect_port)
                if isinstance(twisted_address, wanted):
                    resolutionReceiver.addressResolved(twisted_address)

        def refuse(failure: Any) -> None:
            args = getattr(failure.value, "args", ())
            reason = str(args[0]) if args else failure.type.__name__
            if failure.check(RefusedAddress):
                self.refusals[f"{hostName}:{portNumber}"] = reason
                if self.stats is not None:
                    self.stats.inc_value("pricehound/dns_refused")
                log.warning("refused to connect: %s", reason)
            else:
                log.info("could not resolve %s: %s", hostName, reason)

        d = self.checked_addresses(hostName, portNumber)
        d.addCallbacks(deliver, refuse)
        d.addBoth(lambda _: resolutionReceiver.resolutionComplete())
        return resolution
