"""A tiny real Scrapy crawl (own process, real reactor) through spiders.resolver.GuardedResolver.

Run as ``python hostile_resolver_crawl.py OUT.json``. It serves a local HTTP server on
127.0.0.1 (port 0), answers DNS from a table, crawls a handful of URLs and writes what happened
(per request: status or error; what the server served; what the lookup was asked; the
resolver's refusals) to OUT.json for test_hostile_resolver.py to judge.

Safety net: every outgoing socket connection is checked; anything but 127.0.0.1 aborts the
process, so a resolver bug can never send traffic elsewhere.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

_real_connect, _real_connect_ex = socket.socket.connect, socket.socket.connect_ex
attempted: list[str] = []


def _guard(address) -> None:
    host = address[0] if isinstance(address, tuple) else str(address)
    attempted.append(str(host))
    if host not in ("127.0.0.1", "::1"):
        os.write(2, f"refusing to connect to {host}\n".encode())
        os._exit(3)


def _connect(self, address):
    _guard(address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _guard(address)
    return _real_connect_ex(self, address)


socket.socket.connect = _connect  # type: ignore[method-assign]
socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]

served: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        served.append(f"{self.headers.get('Host')}{self.path}")
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://private.test:{PORT}/secret")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<html><title>ok</title><body>ok</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
PORT = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()

asked: list[str] = []
rebind_answers = [["93.184.216.34"]]  # the first answer only: later ones are private


def lookup(host: str) -> list[str]:
    """DNS by table; rebind.test answers public once (the pre-flight check), then loopback."""
    asked.append(host)
    if host == "rebind.test":
        return rebind_answers.pop() if rebind_answers else ["127.0.0.1"]
    table = {"shop.local": ["127.0.0.1"], "private.test": ["127.0.0.1"], "mixed.test": ["127.0.0.1", "::1"]}
    if host in table:
        return table[host]
    if host in ("127.0.0.1", "::1"):
        return [host]
    raise socket.gaierror(socket.EAI_NONAME, "unknown test name")


def main(out_path: str) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from pricehound import urls
    from spiders import resolver as guarded

    results: dict[str, object] = {}
    resolvers: list[guarded.GuardedResolver] = []
    original_from_crawler = guarded.GuardedResolver.from_crawler.__func__

    def keep(cls, crawler, reactor):
        made = original_from_crawler(cls, crawler, reactor)
        resolvers.append(made)
        return made

    guarded.GuardedResolver.from_crawler = classmethod(keep)  # to read its refusals afterwards

    # the pre-flight check the URL guard makes: rebind.test is public at this moment
    preflight = urls.check_fetchable(f"http://rebind.test:{PORT}/p", allow_private=False, resolver=lookup)
    results["preflight"] = preflight

    targets = {
        "allowed_local": f"http://shop.local:{PORT}/ok",
        "rebind": f"http://rebind.test:{PORT}/p",
        "literal_not_allowed": f"http://127.0.0.1:{PORT}/literal",
        "allowed_host_other_port": f"http://shop.local:{PORT + 1 if PORT < 65535 else PORT - 1}/other",
        "redirect_to_private": f"http://shop.local:{PORT}/redirect",
        "mixed": f"http://mixed.test:{PORT}/mixed",
    }

    class Probe(scrapy.Spider):
        name = "probe"

        async def start(self):
            for key, url in targets.items():
                yield scrapy.Request(url, callback=self.ok, errback=self.failed, cb_kwargs={"key": key},
                                     dont_filter=True, meta={"dont_retry": True})

        def ok(self, response, key):
            results[key] = {"status": response.status, "url": response.url}

        def failed(self, failure):
            key = failure.request.cb_kwargs["key"]
            results[key] = {"error": failure.type.__name__, "message": failure.getErrorMessage()}

    process = CrawlerProcess({
        "TWISTED_DNS_RESOLVER": "spiders.resolver.GuardedResolver",
        "PRICEHOUND_DNS_LOOKUP": lookup,
        "PRICEHOUND_ALLOW_PRIVATE_HOSTS": [f"shop.local:{PORT}"],
        "ROBOTSTXT_OBEY": False, "RETRY_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING", "DOWNLOAD_TIMEOUT": 10, "DNS_TIMEOUT": 5,
        "LOG_INSTALL_ROOT_HANDLER": False,
    })
    process.crawl(Probe)
    process.start()
    results["served"] = served
    results["asked"] = asked
    results["attempted"] = attempted
    results["refusals"] = resolvers[0].refusals if resolvers else None
    results["port"] = PORT
    with open(out_path, "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main(sys.argv[1])
