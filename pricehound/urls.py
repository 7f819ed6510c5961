"""Which URLs pricehound may fetch: a store's own domains, over http(s), never a private network.

Used by everything that accepts a URL (the command line, the HTTP API) and by the crawler's
downloader for every request and redirect, so one set of rules guards against SSRF everywhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
TRACKING_PARAMS = ("utm_", "gclid", "fbclid", "mc_cid", "mc_eid", "_ga", "srsltid")
HOST_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# Names that only ever mean this machine or the local network (RFC 6761, 6762, 8375, 9476 and
# common resolver conventions): refused by name, before any resolver is asked.
LOCAL_NAMES = frozenset({"localhost", "localhost6", "ip6-localhost", "ip6-loopback", "localdomain"})
LOCAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "intranet", "lan", "home.arpa", "arpa")

Resolver = Callable[[str], Sequence[str]]


class UnsafeURL(ValueError):
    """The URL must not be fetched; the message says why in words a user can act on."""


def system_resolver(host: str) -> list[str]:
    """Every address the host resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"host {host!r} does not resolve ({exc})") from None
    return sorted({info[4][0] for info in infos})


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host spells directly, in any notation the C library accepts.

    inet_aton takes decimal (2130706433), octal (0177.0.0.1), hex (0x7f.1) and short forms
    (127.1), all of which a resolver would turn into an address without asking DNS.
    """
    candidate = host.strip("[]")
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        pass
    if candidate and all(part for part in candidate.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(candidate))
        except (OSError, ValueError):
            return None
    return None


def is_public_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for globally routable unicast addresses (no private, loopback, link-local,
    metadata, multicast, reserved, CGNAT, or IPv4 hidden inside IPv6)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_public_address(embedded)
        if ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 well-known prefix
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.is_site_local:  # fec0::/10: deprecated, but routers still honour it
            return False
    return bool(ip.is_global) and not ip.is_multicast and not ip.is_reserved


def normal_host(host: str) -> str:
    """The host as the connection will spell it: lower-case ASCII, IDNA-mapped, one trailing dot
    dropped; raise UnsafeURL for anything a browser, Scrapy or the C library would read as a
    different host than we do (percent-escapes, empty or over-long labels, stray characters).

    Fullwidth digits and ideographic full stops map to ASCII here (``１２７。０。０。１`` is
    127.0.0.1), exactly as they do when Scrapy builds the request, so the address rules see the
    host that is really connected to.
    """
    if not host:
        raise UnsafeURL("the URL has no host name")
    if ":" in host:  # an IPv6 literal (urlsplit removed the brackets)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL(f"the URL's host {host!r} is not a valid IPv6 address") from None
        return host.lower()
    if "%" in host:
        raise UnsafeURL("the URL's host name must not contain percent-escapes")
    if not host.isascii():
        host = _idna(host)
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if len(host) > 253 or not all(HOST_LABEL_RE.match(label) for label in labels):
        raise UnsafeURL(f"the URL's host name {host!r} is not a valid domain name")
    return host


def _idna(host: str) -> str:
    """ASCII form of an internationalised host name (UTS 46 mapping, as browsers and Scrapy do)."""
    try:
        import idna

        return idna.encode(host, uts46=True).decode("ascii")
    except ImportError:  # pragma: no cover - idna ships with Scrapy
        pass
    except (idna.IDNAError, UnicodeError, ValueError):
        raise UnsafeURL(f"the URL's host name {host!r} is not a valid international domain name") from None
    try:  # pragma: no cover
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # pragma: no cover
        raise UnsafeURL(f"the URL's host name {host!r} is not a valid international domain name") from None


def is_local_name(host: str) -> bool:
    """Whether a (normalised) host name only ever names this machine or the local network."""
    return host in LOCAL_NAMES or any(host == s or host.endswith("." + s) for s in LOCAL_SUFFIXES)


def split_http_url(url: str):
    """Parse and check the form of an http(s) URL; raise UnsafeURL with the reason."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL("the URL is empty")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UnsafeURL("the URL contains spaces or control characters")
    if "\\" in re.split(r"[?#]", url, maxsplit=1)[0]:
        # browsers and Scrapy read a backslash as "/", urlsplit does not: http://127.0.0.1\.shop.example/
        raise UnsafeURL("the URL contains a backslash")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"the URL is malformed ({exc})") from None
    if parts.scheme.lower() not in {"http", "https"}:
        shown = parts.scheme or "none"
        raise UnsafeURL(f"only http and https URLs can be watched (scheme: {shown})")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host name")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("the URL must not contain a user name or password")
    if port == 0:
        raise UnsafeURL("the URL's port is invalid")
    normal_host(parts.hostname)
    return parts


def host_and_port(url: str) -> tuple[str, int]:
    """The normalised host (see normal_host) and the port, the default one filled in."""
    parts = split_http_url(url)
    host = normal_host(parts.hostname)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return host, port


def domain_matches(host: str, port: int, allowed_domains: Iterable[str]) -> bool:
    """Whether host:port is on one of the allowed domains.

    An entry ``example.com`` allows that host and its subdomains on any port; an entry with a
    port (``127.0.0.1:8101``) allows exactly that host and port, which lets several local test
    stores share one address.
    """
    host = host.rstrip(".").lower()
    for entry in allowed_domains:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if ":" in entry and not entry.startswith("["):
            entry_host, _, entry_port = entry.rpartition(":")
            if entry_host == host and entry_port == str(port):
                return True
            continue
        if host == entry or host.endswith("." + entry):
            return True
    return False


def check_fetchable(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> list[str]:
    """Raise UnsafeURL unless the URL's host is a name resolving only to public addresses.

    ``allow_private`` (stores explicitly marked local: the demo store and tests) lifts the
    address rules but not the form rules. Returns the addresses the host resolved to, so a
    caller that connects can pin them (no DNS rebinding between check and connect).
    """
    host, _port = host_and_port(url)
    literal = ip_literal(host)
    if literal is not None:
        if allow_private:
            return [str(literal)]
        raise UnsafeURL(f"the URL's host is an IP address ({literal}); use the store's domain name")
    if host == "localhost" or host.endswith(".localhost"):
        if allow_private:
            return ["127.0.0.1"]
        raise UnsafeURL("the URL points at this machine (localhost)")
    if is_local_name(host) and not allow_private:
        raise UnsafeURL(f"the URL's host {host!r} is a local network name")
    addresses = [str(a) for a in resolver(host)]
    if not addresses:
        raise UnsafeURL(f"host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            try:
                public = is_public_address(address)
            except ValueError:
                raise UnsafeURL(f"host {host!r} resolved to {address!r}, which is not an address") from None
            if not public:
                raise UnsafeURL(
                    f"host {host!r} resolves to {address}, a private, loopback or link-local address"
                )
    return addresses


# -- one URL, one listing (RFC 3986 section 6) --------------------------------------------------
# canonical_url() is the form a listing is stored and fetched under; listing_key() is that form
# without its scheme, the identity of a listing within its store (http and https name the same
# page). schema.sql's pricehound_url_key() computes the same key in SQL, so the migration that
# merges existing duplicates agrees with what is stored from now on; a test holds the two equal.

TRAILING_SLASH_RULES = ("strip", "keep", "add")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_KEPT = _UNRESERVED | frozenset("!$&'()*+,;=:@/?")
_HEX = frozenset("0123456789abcdefABCDEF")


def normal_percent(part: str, *, plus_is_space: bool) -> str:
    """Percent-encoding normalised: escapes of unreserved characters decoded, other escapes in
    upper case, and every character that must be escaped (non-ASCII as UTF-8) escaped."""
    out: list[str] = []
    i, n = 0, len(part)
    while i < n:
        ch = part[i]
        if ch == "%" and i + 2 < n and part[i + 1] in _HEX and part[i + 2] in _HEX:
            code = int(part[i + 1:i + 3], 16)
            out.append(chr(code) if chr(code) in _UNRESERVED else "%" + part[i + 1:i + 3].upper())
            i += 3
            continue
        if ch == "+" and plus_is_space:
            out.append("%20")
        elif ch in _KEPT:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
        i += 1
    return "".join(out)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 for an absolute path: "/a/./b/../c" is "/a/c"."""
    segments = path.split("/")[1:]
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def _normal_path(path: str, trailing_slash: str) -> str:
    path = remove_dot_segments("/" + normal_percent(path[1:] if path.startswith("/") else path,
                                                    plus_is_space=False))
    if trailing_slash == "strip":
        path = path.rstrip("/") or "/"
    elif trailing_slash == "add" and not path.endswith("/"):
        path += "/"
    return path


def _normal_query(query: str) -> str:
    pairs: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = normal_percent(key, plus_is_space=True)
        if key.lower().startswith(TRACKING_PARAMS):
            continue
        pairs.append((key, normal_percent(value, plus_is_space=True) if sep else None))
    pairs.sort(key=lambda kv: (kv[0], kv[1] or "", kv[1] is not None))
    return "&".join(k if v is None else f"{k}={v}" for k, v in pairs)


def canonical_url(url: str, trailing_slash: str = "strip") -> str:
    """The form a listing is stored under (RFC 3986 section 6): lower-case scheme and host, the
    host in IDNA ASCII, no default port, percent-encoding normalised, dot segments removed, the
    trailing slash as the store's rule says, query parameters sorted and tracking ones dropped,
    no fragment."""
    if trailing_slash not in TRAILING_SLASH_RULES:
        raise ValueError(f"trailing slash rule must be one of {', '.join(TRAILING_SLASH_RULES)}")
    parts = split_http_url(url)
    scheme = parts.scheme.lower()
    host = normal_host(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    query = _normal_query(parts.query)
    return f"{scheme}://{netloc}{_normal_path(parts.path, trailing_slash)}" + (f"?{query}" if query else "")


def listing_key(url: str, trailing_slash: str = "strip") -> str:
    """A listing's identity within its store: the canonical URL without its scheme."""
    return canonical_url(url, trailing_slash).split("://", 1)[1]
