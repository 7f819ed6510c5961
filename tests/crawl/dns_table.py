"""DNS answers for crawl tests, loaded by the crawl process through PRICEHOUND_DNS_LOOKUP.

Both the URL guard's pre-flight check and the connect-time resolver (spiders/resolver.py) ask
the lookup named by that setting, so a test decides what each of them hears.
"""

from __future__ import annotations

import socket
import threading

PUBLIC = "93.184.216.34"  # handed to the pre-flight check only; never connected to
NAMES = ("shop.example", "www.shop.example")

_asked: dict[str, int] = {}
_lock = threading.Lock()


def _known(host: str) -> None:
    if host not in NAMES:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test table")


def loopback(host: str) -> list[str]:
    """The store's names resolve to this machine, every time."""
    _known(host)
    return ["127.0.0.1"]


def rebinding(host: str) -> list[str]:
    """A public answer the first time a name is asked (the pre-flight check), loopback after."""
    _known(host)
    with _lock:
        _asked[host] = _asked.get(host, 0) + 1
        first = _asked[host] == 1
    return [PUBLIC] if first else ["127.0.0.1"]


def nowhere(host: str) -> list[str]:
    """No name resolves: only a store's host mapping can say where its hosts are."""
    raise socket.gaierror(socket.EAI_NONAME, f"{host} does not resolve in this test")
