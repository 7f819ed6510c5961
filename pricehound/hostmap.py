"""Host mapping like curl's ``--resolve``: connect to a store's real domain at another address.

A staging or local copy of a shop keeps the shop's URLs (watched URLs and listings carry the real
domain) while the crawl connects where the operator says::

    pricehound stores edit acme --resolve shop.acme.com:443:10.0.0.7 --resolve shop.acme.com:*:127.0.0.1

An entry is ``HOST:PORT:ADDRESS[,ADDRESS...]`` as in curl (PORT is a number, or ``*`` for any
port), or ``HOST:ADDRESS:PORT`` to reach HOST on whatever port its URLs name at ADDRESS:PORT
(``stores edit acme --resolve shop.acme.com:127.0.0.1:8081``); an IPv6 address is written in
brackets. A mapping only replaces the DNS answer: every address rule
(the URL guard, the crawl's resolver at connect time) applies to mapped addresses exactly as to
the addresses DNS gives. Only stores marked local may have a mapping, and it is used only while
PRICEHOUND_ALLOW_LOCAL_STORES is on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

ANY_PORT = "*"

Lookup = Callable[[str], Sequence[str]]


class HostMapError(ValueError):
    """An entry that is not HOST:PORT:ADDRESS; the message says what is expected."""


@dataclass(frozen=True)
class Entry:
    host: str
    port: str  # the URL's port this entry applies to: digits, or "*"
    addresses: tuple[str, ...]
    connect_port: int | None = None  # connect there instead of the URL's port (HOST:ADDRESS:PORT)

    def __str__(self) -> str:
        shown = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
        if self.connect_port is not None:
            return f"{self.host}:{shown}:{self.connect_port}"
        return f"{self.host}:{self.port}:{shown}"

    def applies(self, host: str, port: int | None) -> bool:
        return self.host == host and (self.port == ANY_PORT or port is None or self.port == str(port))


def _address(text: str, entry: str) -> str:
    raw = text.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise HostMapError(f"--resolve {entry!r}: {text!r} is not an IP address "
                           "(HOST:PORT:ADDRESS, e.g. shop.acme.com:443:127.0.0.1)") from None


def _port(text: str, entry: str) -> int:
    if not (text.isdigit() and 0 < int(text) < 65536):
        raise HostMapError(f"--resolve {entry!r}: the port must be a number from 1 to 65535 or *")
    return int(text)


def parse_entry(text: str) -> Entry:
    """Read one entry, in either form (the host lower-cased, addresses normalised):

    - ``HOST:PORT:ADDRESS[,ADDRESS...]`` as curl's --resolve: HOST on PORT (``*``: any) is
      reached at ADDRESS, on the same port;
    - ``HOST:ADDRESS:PORT``: HOST, on any port, is reached at ADDRESS:PORT (a staging copy on
      another port; an IPv6 address in brackets).
    """
    entry = (text or "").strip()
    host, sep, rest = entry.partition(":")
    expected = f"--resolve {entry!r} must look like HOST:PORT:ADDRESS or HOST:ADDRESS:PORT, e.g. shop.acme.com:443:127.0.0.1"
    if not (sep and host and rest):
        raise HostMapError(expected)
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise HostMapError(f"--resolve {entry!r}: map a host name, not an address")
    first, sep2, tail = rest.partition(":")
    if first == ANY_PORT or first.isdigit():  # HOST:PORT:ADDRESS
        if not (sep2 and tail):
            raise HostMapError(expected)
        port = ANY_PORT if first == ANY_PORT else str(_port(first, entry))
        parsed = tuple(_address(a, entry) for a in _split_addresses(tail))
        if not parsed:
            raise HostMapError(f"--resolve {entry!r} names no address")
        return Entry(host=host, port=port, addresses=parsed)
    # HOST:ADDRESS:PORT
    if rest.startswith("["):
        address, close, after = rest.partition("]")
        address += close
        connect = after[1:] if after.startswith(":") else ""
    else:
        address, _, connect = rest.partition(":")
    if not connect:
        raise HostMapError(expected)
    return Entry(host=host, port=ANY_PORT, addresses=(_address(address, entry),), connect_port=_port(connect, entry))


def _split_addresses(text: str) -> list[str]:
    """Comma-separated addresses; brackets keep an IPv6 address's colons together."""
    return [part for part in (p.strip() for p in text.split(",")) if part]


@dataclass(frozen=True)
class HostMap:
    """A store's mapping; empty maps nothing."""

    entries: tuple[Entry, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str] | None) -> HostMap:
        return cls(tuple(parse_entry(e) for e in entries or ()))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def as_list(self) -> list[str]:
        return [str(e) for e in self.entries]

    def addresses(self, host: str, port: int | None = None) -> list[str] | None:
        """The mapped addresses of host:port (an exact port before ``*``), or None if unmapped."""
        name = host.lower().rstrip(".")
        exact = [e for e in self.entries if e.applies(name, port) and e.port != ANY_PORT]
        chosen = exact or [e for e in self.entries if e.applies(name, port)]
        return list(chosen[0].addresses) if chosen else None

    def connect_port(self, host: str, port: int) -> int:
        """The port a connection to host:port goes to (the URL's, unless an entry moves it)."""
        name = host.lower().rstrip(".")
        exact = [e for e in self.entries if e.applies(name, port) and e.port != ANY_PORT]
        chosen = exact or [e for e in self.entries if e.applies(name, port)]
        if chosen and chosen[0].connect_port is not None:
            return chosen[0].connect_port
        return port

    def lookup(self, fallback: Lookup, port: int | None = None) -> Lookup:
        """A host -> addresses function: the mapping where it applies, ``fallback`` elsewhere."""

        def resolve(host: str) -> Sequence[str]:
            mapped = self.addresses(host, port)
            return mapped if mapped is not None else fallback(host)

        return resolve


__all__ = ["ANY_PORT", "Entry", "HostMap", "HostMapError", "parse_entry"]
