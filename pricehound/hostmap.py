"""Host mapping like curl's ``--resolve``: connect to a store's real domain at another address.

A staging or local copy of a shop keeps the shop's URLs (watched URLs and listings carry the real
domain) while the crawl connects where the operator says::

    pricehound stores edit acme --resolve shop.acme.com:443:10.0.0.7 --resolve shop.acme.com:*:127.0.0.1

An entry is ``HOST:PORT:ADDRESS[,ADDRESS...]``; PORT is a number or ``*`` for any port, and an
IPv6 address is written in brackets. A mapping only replaces the DNS answer: every address rule
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
    port: str  # digits, or "*"
    addresses: tuple[str, ...]

    def __str__(self) -> str:
        shown = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
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


def parse_entry(text: str) -> Entry:
    """Read ``HOST:PORT:ADDRESS[,ADDRESS...]`` (the host lower-cased, addresses normalised)."""
    entry = (text or "").strip()
    host, sep, rest = entry.partition(":")
    port, sep2, addresses = rest.partition(":")
    if not (sep and sep2 and host and port and addresses):
        raise HostMapError(f"--resolve {entry!r} must look like HOST:PORT:ADDRESS, e.g. shop.acme.com:443:127.0.0.1")
    host = host.lower().rstrip(".")
    if port != ANY_PORT and not (port.isdigit() and 0 < int(port) < 65536):
        raise HostMapError(f"--resolve {entry!r}: the port must be a number from 1 to 65535 or *")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise HostMapError(f"--resolve {entry!r}: map a host name, not an address")
    parsed = tuple(_address(a, entry) for a in _split_addresses(addresses))
    if not parsed:
        raise HostMapError(f"--resolve {entry!r} names no address")
    return Entry(host=host, port=str(int(port)) if port != ANY_PORT else ANY_PORT, addresses=parsed)


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

    def lookup(self, fallback: Lookup, port: int | None = None) -> Lookup:
        """A host -> addresses function: the mapping where it applies, ``fallback`` elsewhere."""

        def resolve(host: str) -> Sequence[str]:
            mapped = self.addresses(host, port)
            return mapped if mapped is not None else fallback(host)

        return resolve


__all__ = ["ANY_PORT", "Entry", "HostMap", "HostMapError", "parse_entry"]
