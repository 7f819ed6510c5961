"""`pricehound extract URL` fetches as the crawl does: the address guard on every hop, the
crawl's User-Agent, and exit 2 for a refused URL, with no connection made."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator

import pytest

from pricehound.cli import main
from pricehound.config import get_settings
from tests.localhttp import base_url, http_server

PAGE = (b'<html><head><script type="application/ld+json">{"@context":"https://schema.org","@type":"Product",'
        b'"name":"Kettle","offers":{"@type":"Offer","price":"19.99","priceCurrency":"EUR",'
        b'"availability":"https://schema.org/InStock"}}</script></head><body><h1>Kettle</h1></body></html>')


class _Shop(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        _Shop.seen.append((self.path, self.headers.get("User-Agent", "")))
        if self.path == "/to-private":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/p")
            self.end_headers()
            return
        if self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture()
def shop() -> Iterator[str]:
    _Shop.seen = []
    with http_server(_Shop) as server:
        yield base_url(server)


@pytest.mark.parametrize("target", ["{shop}/p/1", "http://10.0.0.7/p", "http://[::1]/p", "http://localhost:1/p",
                                    "http://2130706433/p", "http://169.254.169.254/latest/meta-data/"])
def test_private_addresses_are_refused_with_exit_2_and_never_connected(shop, capsys, target):
    assert main(["extract", target.format(shop=shop)]) == 2
    assert "refusing" in capsys.readouterr().err
    assert _Shop.seen == []


def test_a_local_url_is_fetched_with_the_crawls_user_agent_when_asked(shop, capsys):
    assert main(["extract", f"{shop}/p/1", "--local"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["price"] == "19.99" and out["observation"] == "ok"
    assert _Shop.seen == [("/p/1", get_settings().crawler_user_agent)]


def test_a_redirect_to_another_scheme_is_refused(shop, capsys):
    assert main(["extract", f"{shop}/to-file", "--local"]) == 2
    assert "refusing" in capsys.readouterr().err
    assert [path for path, _ in _Shop.seen] == ["/to-file"]


def test_every_redirect_hop_goes_through_the_guard(shop, monkeypatch):
    """A public first hop (stood in for by the local shop) redirecting to a private address:
    the second hop is refused before any connection."""
    from pricehound import urls
    from spiders import cli

    real = urls.check_fetchable
    checked: list[str] = []

    def guard(url: str, *, allow_private: bool, **kw):
        checked.append(url)
        if url.startswith(shop):
            return ["127.0.0.1"]
        return real(url, allow_private=allow_private, **kw)

    monkeypatch.setattr(cli.urls, "check_fetchable", guard)
    with pytest.raises(urls.UnsafeURL, match="10.0.0.1"):
        cli.fetch(f"{shop}/to-private")
    assert checked == [f"{shop}/to-private", "http://10.0.0.1/p"]
    assert [path for path, _ in _Shop.seen] == ["/to-private"]


def test_local_is_off_where_local_stores_are_off(shop, capsys, monkeypatch):
    monkeypatch.setenv("PRICEHOUND_ALLOW_LOCAL_STORES", "false")
    get_settings.cache_clear()
    try:
        assert main(["extract", f"{shop}/p/1", "--local"]) == 2
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert _Shop.seen == []
