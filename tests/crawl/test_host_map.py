"""Host mapping like curl --resolve: a local store's real-looking domain crawled at a local
address, watched URLs unchanged, and the address rules applied to mapped addresses as to any."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pricehound import catalog, hostmap
from pricehound.config import get_settings
from spiders.resolver import GuardedResolver, RefusedAddress
from tests.pipelines.helpers import rows

DOMAIN = "shop.northwind.example"
NO_DNS = "PRICEHOUND_DNS_LOOKUP=tests.crawl.dns_table.nowhere"


def test_entries_read_like_curl_resolve():
    m = hostmap.HostMap.parse(["Shop.Acme.com:443:10.0.0.7", "shop.acme.com:*:127.0.0.1,[::1]"])
    assert m.as_list() == ["shop.acme.com:443:10.0.0.7", "shop.acme.com:*:127.0.0.1,[::1]"]
    assert m.addresses("shop.acme.com", 443) == ["10.0.0.7"]      # the exact port first
    assert m.addresses("shop.acme.com", 8080) == ["127.0.0.1", "::1"]
    assert m.addresses("acme.com", 443) is None
    assert m.lookup(lambda host: ["203.0.113.9"], 443)("www.acme.com") == ["203.0.113.9"]


def test_a_staging_copy_on_another_port_is_written_host_address_port():
    m = hostmap.HostMap.parse(["shop.acme.com:127.0.0.1:8081", "www.acme.com:[::1]:9000"])
    assert m.as_list() == ["shop.acme.com:127.0.0.1:8081", "www.acme.com:[::1]:9000"]
    assert hostmap.HostMap.parse(m.as_list()) == m
    assert m.addresses("shop.acme.com", 443) == ["127.0.0.1"] and m.connect_port("shop.acme.com", 443) == 8081
    assert m.addresses("www.acme.com", 80) == ["::1"] and m.connect_port("www.acme.com", 80) == 9000
    assert m.connect_port("other.acme.com", 443) == 443


@pytest.mark.parametrize("entry", ["shop.acme.com", "shop.acme.com:443", "shop.acme.com:http:1.2.3.4",
                                   "shop.acme.com:443:not-an-ip", "10.0.0.1:443:127.0.0.1", ":443:1.2.3.4"])
def test_malformed_entries_are_refused_with_the_expected_form(entry):
    with pytest.raises(hostmap.HostMapError, match="resolve"):
        hostmap.parse_entry(entry)


def test_a_mapped_address_meets_the_same_address_rules_as_dns():
    mapping = hostmap.HostMap.parse([f"{DOMAIN}:*:127.0.0.1"])
    public_store = GuardedResolver(None, allow_private_hosts=(), lookup=lambda h: ["93.184.216.34"], host_map=mapping)
    with pytest.raises(RefusedAddress, match="127.0.0.1"):
        public_store._lookup_and_check(DOMAIN, 80)
    assert public_store._lookup_and_check("www.other.example", 80) == ["93.184.216.34"]
    local_store = GuardedResolver(None, allow_private_hosts=(DOMAIN,), lookup=lambda h: [], host_map=mapping)
    assert local_store._lookup_and_check(DOMAIN, 8080) == ["127.0.0.1"]


def test_only_a_local_store_may_map_its_own_hosts(db, run_cli):
    base = ("stores", "add", "--slug", "acme", "--domains", "shop.acme.example")
    refused = run_cli(*base, "--resolve", "shop.acme.example:443:127.0.0.1")
    assert refused.returncode == 2 and "not marked local" in refused.stderr
    assert rows(db, "SELECT slug FROM stores") == []  # nothing written
    ok = run_cli(*base, "--local", "--resolve", "shop.acme.example:443:127.0.0.1")
    assert ok.returncode == 0, ok.stderr
    assert "resolves shop.acme.example:443:127.0.0.1" in ok.stdout
    off_domain = run_cli("stores", "edit", "acme", "--resolve", "evil.example:443:127.0.0.1")
    assert off_domain.returncode == 2 and "not on store acme's domains" in off_domain.stderr
    disallowed = run_cli("stores", "edit", "acme", "--resolve", "shop.acme.example:*:10.1.2.3",
                         extra_env={"PRICEHOUND_ALLOW_LOCAL_STORES": "false"})
    assert disallowed.returncode == 2 and "PRICEHOUND_ALLOW_LOCAL_STORES" in disallowed.stderr
    assert rows(db, "SELECT resolve FROM stores") == [{"resolve": ["shop.acme.example:443:127.0.0.1"]}]
    edited = run_cli("stores", "edit", "acme", "--resolve", "shop.acme.example:*:10.1.2.3")
    assert edited.returncode == 0 and rows(db, "SELECT resolve FROM stores") == [{"resolve": ["shop.acme.example:*:10.1.2.3"]}]
    cleared = run_cli("stores", "edit", "acme", "--no-resolve")
    assert cleared.returncode == 0 and rows(db, "SELECT resolve FROM stores") == [{"resolve": []}]


def test_a_mapped_store_is_crawled_at_the_mapped_address_under_its_real_domain(db, shops, targets, crawl):
    t = targets("northwind", ["1001", "1004"], is_local=True, host=DOMAIN)
    port = shops.port("northwind")
    unmapped = crawl(t, None, NO_DNS)
    assert unmapped.returncode == 0, unmapped.stderr
    assert {r["kind"] for r in rows(db, "SELECT kind FROM listing_observations")} == {"failed"}

    with db.begin() as conn:
        store = conn.execute(sa.text("SELECT slug FROM stores WHERE id = :s"), {"s": t.store_id}).scalar_one()
        catalog.set_resolve(conn, catalog.get_store(conn, store), [f"{DOMAIN}:{port}:127.0.0.1"])
    mapped = crawl(t, None, NO_DNS)
    assert mapped.returncode == 0, mapped.stderr
    seen = rows(db, "SELECT o.kind, o.price, l.url FROM listing_observations o JOIN store_listings l "
                    "ON l.id = o.listing_id WHERE o.crawl_run_id = :r", r=mapped.run_id)
    assert len(seen) == 2 and {s["kind"] for s in seen} == {"ok"} and all(s["price"] for s in seen)
    assert all(s["url"].startswith(f"http://{DOMAIN}:{port}/") for s in seen)  # the watched URL is kept

    # with local stores switched off the mapping is not used at all
    off = crawl(t, None, NO_DNS, extra_env={"PRICEHOUND_ALLOW_LOCAL_STORES": "false"})
    assert {r["kind"] for r in rows(db, "SELECT kind FROM listing_observations WHERE crawl_run_id = :r",
                                    r=off.run_id)} == {"failed"}


def test_a_shop_watched_without_a_port_is_crawled_at_the_mapped_address_and_port(db, shops, targets, crawl):
    t = targets("northwind", ["1001", "1004"], is_local=True, host=DOMAIN)
    port = shops.port("northwind")
    with db.begin() as conn:  # the real shop's URLs: no port (http, 80)
        conn.execute(sa.text("UPDATE store_listings SET url = replace(url, :a, :b)"),
                     {"a": f"{DOMAIN}:{port}", "b": DOMAIN})
        conn.execute(sa.text("UPDATE stores SET allowed_domains = :d"), {"d": [DOMAIN]})
        store = catalog.get_store(conn, "northwind")
        catalog.set_resolve(conn, store, [f"{DOMAIN}:127.0.0.1:{port}"])
    mapped = crawl(t, None, NO_DNS)
    assert mapped.returncode == 0, mapped.stderr
    seen = rows(db, "SELECT o.kind, o.price, l.url FROM listing_observations o JOIN store_listings l "
                    "ON l.id = o.listing_id WHERE o.crawl_run_id = :r", r=mapped.run_id)
    assert [s["kind"] for s in seen] == ["ok", "ok"] and all(s["price"] for s in seen)
    assert all(s["url"].startswith(f"http://{DOMAIN}/") for s in seen)


def test_a_watch_on_a_mapped_domain_is_accepted_without_dns(db, monkeypatch):
    from pricehound import urls

    monkeypatch.setattr(urls, "system_resolver", lambda host: (_ for _ in ()).throw(urls.UnsafeURL("no DNS here")))
    with db.begin() as conn:
        store = catalog.add_store(conn, slug="acme", name="Acme", domains=["shop.acme.example"], is_local=True)
        with pytest.raises(catalog.InputError, match="no DNS here"):
            catalog.ensure_listing(conn, store, "https://shop.acme.example/p/kettle")
        store = catalog.set_resolve(conn, store, ["shop.acme.example:443:127.0.0.1"])
        assert catalog.ensure_listing(conn, store, "https://shop.acme.example/p/kettle") > 0
    assert get_settings().allow_local_stores
