"""URL rules: form, store domains, and no fetching into private networks."""

from __future__ import annotations

import pytest

from pricehound import urls


@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1", "10.0.0.1",
    "192.168.1.1", "172.16.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "[::1]",
    "[::ffff:127.0.0.1]", "[fe80::1]", "[fc00::1]", "[2002:7f00:1::]", "[64:ff9b::a00:1]", "224.0.0.1",
])
def test_ip_literals_are_refused_for_public_stores(host):
    with pytest.raises(urls.UnsafeURL):
        urls.check_fetchable(f"http://{host}/p", allow_private=False, resolver=lambda h: ["93.184.216.34"])


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::5", "::ffff:10.0.0.1"])
def test_names_resolving_to_private_addresses_are_refused(address):
    with pytest.raises(urls.UnsafeURL, match="private"):
        urls.check_fetchable("https://shop.example/p", allow_private=False, resolver=lambda h: [address])


def test_one_private_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(urls.UnsafeURL):
        urls.check_fetchable("https://shop.example/p", allow_private=False,
                             resolver=lambda h: ["93.184.216.34", "10.0.0.1"])


def test_public_name_is_fetchable_and_its_addresses_returned():
    assert urls.check_fetchable("https://shop.example/p", allow_private=False,
                                resolver=lambda h: ["93.184.216.34"]) == ["93.184.216.34"]


def test_local_stores_may_use_loopback():
    assert urls.check_fetchable("http://127.0.0.1:8080/p", allow_private=True) == ["127.0.0.1"]


@pytest.mark.parametrize("url", ["ftp://x.example/", "file:///etc/passwd", "javascript:alert(1)",
                                 "http://", "http://u:p@x.example/", "http://x.example/a b", "http://x.example:0/"])
def test_malformed_or_non_http_urls_are_refused(url):
    with pytest.raises(urls.UnsafeURL):
        urls.split_http_url(url)


@pytest.mark.parametrize(("host", "port", "allowed"), [
    ("shop.example", 443, True), ("www.shop.example", 443, True), ("evilshop.example", 443, False),
    ("shop.example.evil.com", 443, False), ("127.0.0.1", 8101, True), ("127.0.0.1", 8102, False),
])
def test_domain_matching_covers_subdomains_and_pinned_ports(host, port, allowed):
    assert urls.domain_matches(host, port, ["shop.example", "127.0.0.1:8101"]) is allowed


def test_canonical_url_drops_fragment_tracking_and_default_port():
    assert urls.canonical_url("HTTPS://Shop.Example:443/p/1?utm_source=x&color=red&gclid=1#top") == \
        "https://shop.example/p/1?color=red"
