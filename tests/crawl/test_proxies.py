"""Proxies per store: rotation, resting with backoff, per-proxy stats, the guard on the target,
proxy errors as failures (never gone), and passwords kept out of the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from demostore.proxy import DemoProxy
from pricehound import catalog
from pricehound.config import ConfigError, Settings, parse_proxy_pools
from spiders.proxies import ProxyPool
from tests.pipelines.helpers import rows

PASSWORD = "s3cret-proxy-pw"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pool(n: int, rotation: str = "round_robin", clock: Clock | None = None) -> ProxyPool:
    spec = "p=" + " ".join(f"http://10.0.0.{i + 1}:3128" for i in range(n))
    return ProxyPool(parse_proxy_pools(spec, {}).get("p"), rotation, rest=30.0, clock=clock or Clock())


def test_round_robin_gives_each_request_the_next_proxy():
    p = pool(3)
    assert [p.choose(i).label for i in range(4)] == [
        "http://10.0.0.1:3128", "http://10.0.0.2:3128", "http://10.0.0.3:3128", "http://10.0.0.1:3128"]


def test_sticky_keeps_a_listing_on_its_proxy_until_that_proxy_fails():
    clock = Clock()
    p = pool(2, "sticky", clock)
    first = {key: p.choose(key).label for key in ("a", "b")}
    assert first["a"] != first["b"]
    assert [p.choose("a").label for _ in range(3)] == [first["a"]] * 3
    p.failed(p.by_label(first["a"]))
    moved = p.choose("a").label
    assert moved == first["b"]
    clock.now += 31
    assert p.choose("a").label == moved, "a listing that moved stays on its new proxy"


def test_a_failed_proxy_rests_with_exponential_backoff_and_comes_back():
    clock = Clock()
    p = pool(2, clock=clock)
    bad = p.states[0]
    assert [p.failed(bad) for _ in range(3)] == [30.0, 60.0, 120.0]
    assert {p.choose(i).label for i in range(4)} == {"http://10.0.0.2:3128"}
    clock.now += 119
    assert p.resting(bad)
    clock.now += 2
    assert not p.resting(bad)
    p.worked(bad)
    assert p.failed(bad) == 30.0, "a proxy that worked again starts over at one rest"
    for _ in range(10):
        p.failed(bad)
    assert bad.rest_until - clock.now == 30.0 * 32, "the rest is capped"


def test_a_pool_whose_proxies_all_rest_says_when_one_is_back():
    clock = Clock()
    p = pool(2, clock=clock)
    p.failed(p.states[0])
    clock.now += 10
    p.failed(p.states[1])
    assert p.choose("x") is None
    assert p.wait_seconds() == 20.0


def test_pools_read_passwords_from_the_environment_and_never_show_them():
    env = {"PRICEHOUND_PROXY_POOLS": "eu=http://ann:${EU_PW}@10.0.0.5:3128, socks5://10.0.0.6; us=https://x.example",
           "EU_PW": PASSWORD}
    pools = Settings.from_env(env).proxy_pools
    assert pools.names() == ("eu", "us")
    eu = pools.get("eu")
    assert (eu[0].username, eu[0].password, eu[1].scheme, eu[1].port) == ("ann", PASSWORD, "socks5", 1080)
    assert PASSWORD not in str(pools) and PASSWORD not in repr(eu[0]) and "***" in str(pools)
    with pytest.raises(ConfigError, match=r"\$\{EU_PW\}, which is not set"):
        Settings.from_env({"PRICEHOUND_PROXY_POOLS": "eu=http://ann:${EU_PW}@10.0.0.5:3128"})
    with pytest.raises(ConfigError, match="scheme must be one of"):
        Settings.from_env({"PRICEHOUND_PROXY_POOLS": "eu=ftp://10.0.0.5"})


@pytest.fixture(scope="module")
def proxies():
    with DemoProxy(credentials=("ann", PASSWORD)) as good, DemoProxy(credentials=("ann", PASSWORD)) as socks, \
            DemoProxy(behaviour="drop") as bad:
        yield good, socks, bad


def use_pool(db, env, store_id: int, spec: str, rotation: str = "round_robin") -> dict[str, str]:
    """Point the store at pool "demo", configured as the environment says (password by reference)."""
    extra = {"PRICEHOUND_PROXY_POOLS": spec, "DEMO_PROXY_PW": PASSWORD}
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE stores SET proxy_pool = 'demo', proxy_rotation = :r WHERE id = :id"),
                     {"r": rotation, "id": store_id})
    env.update(extra)
    return extra


def test_a_store_is_crawled_through_its_pool_rotating_past_a_failing_proxy(db, env, shops, targets, crawl, proxies):
    good, socks, bad = proxies
    t = targets("copperpot", ["2004", "2005", "2006", "2007", "2008", "2009"])
    spec = (f"demo=http://ann:${{DEMO_PROXY_PW}}@127.0.0.1:{good.port} "
            f"socks5://ann:${{DEMO_PROXY_PW}}@127.0.0.1:{socks.port} http://127.0.0.1:{bad.port}")
    extra = use_pool(db, env, t.store_id, spec)
    before = (len(good.served), len(socks.served), len(bad.served))
    proc = crawl(t, None, "RETRY_TIMES=2", extra_env=extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert rows(db, "SELECT ok, failed FROM crawl_runs WHERE id = :r", r=proc.run_id)[0] == {"ok": 6, "failed": 0}, proc.stderr[-20000:]
    through_http = [line for line in good.served[before[0]:] if "/product/" in line]
    through_socks = [line for line in socks.served[before[1]:] if line.startswith("SOCKS5 127.0.0.1:")]
    assert through_http and through_socks, "both working proxies carried requests"
    assert len(bad.served) > before[2], "the failing proxy was tried"
    stats = rows(db, "SELECT stats FROM crawl_runs WHERE id = :r", r=proc.run_id)[0]["stats"]
    bad_label = f"http://127.0.0.1:{bad.port}"
    assert stats[f"pricehound/proxy/{bad_label}/failures"] >= 1
    assert stats.get(f"pricehound/proxy/http://127.0.0.1:{good.port}/failures") is None
    # it rested: after its first failure it is not asked again within this short crawl
    assert stats[f"pricehound/proxy/{bad_label}/failures"] == len(bad.served) - before[2]

    from pricehound import status
    with db.connect() as conn:
        failures = status.proxy_failures(conn)
    assert {(f.store, f.proxy): f.failures for f in failures}[("copperpot", bad_label)] >= 1
    assert bad_label in status.render_proxy_failures(failures)

    # the password is in the environment only: nowhere in the database
    with db.connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE'")).scalars().all()
        for table in tables:
            hits = conn.execute(sa.text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :pw'),  # noqa: S608
                                {"pw": f"%{PASSWORD}%"}).scalar()
            assert hits == 0, f"the proxy password is in table {table}"


def test_a_proxy_that_fails_gives_failed_proxy_error_never_gone(db, env, shops, targets, crawl, proxies):
    _, _, bad = proxies
    t = targets("copperpot", ["2004", "2005"])
    extra = use_pool(db, env, t.store_id, f"demo=http://127.0.0.1:{bad.port}", rotation="sticky")
    proc = crawl(t, None, "RETRY_TIMES=1", extra_env=extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    listings = rows(db, "SELECT status, consecutive_failures, last_failure_reason FROM store_listings "
                        "WHERE store_id = :s", s=t.store_id)
    assert listings == [{"status": "active", "consecutive_failures": 1, "last_failure_reason": "proxy_error"}] * 2
    assert rows(db, "SELECT kind, reason FROM listing_observations WHERE crawl_run_id = :r", r=proc.run_id) == \
        [{"kind": "failed", "reason": "proxy_error"}] * 2
    assert rows(db, "SELECT count(*) AS n FROM price_events e JOIN store_listings l ON l.id = e.listing_id "
                    "WHERE l.store_id = :s", s=t.store_id)[0]["n"] == 0


@pytest.mark.parametrize("lookup, schemes", [("loopback", ("http", "socks5")), ("rebinding", ("socks5",))])
def test_the_guard_still_vets_the_target_host_through_a_proxy(db, env, shops, targets, crawl, proxies,
                                                              lookup, schemes):
    """A store not marked local, whose name resolves to this machine: refused before any proxy is
    asked to reach it. "rebinding": the pre-flight check hears a public address; over SOCKS5 the
    crawler resolves the target itself, so the loopback answer at connect time is refused too."""
    good, socks, _ = proxies
    t = targets("northwind", ["1001", "1004"], is_local=False, host="shop.example")
    ports = {"http": good.port, "socks5": socks.port}
    spec = "demo=" + " ".join(f"{s}://ann:${{DEMO_PROXY_PW}}@127.0.0.1:{ports[s]}" for s in schemes)
    extra = use_pool(db, env, t.store_id, spec)
    since = shops.last_seq()
    before = (len(good.served), len(socks.served))
    proc = crawl(t, None, f"PRICEHOUND_DNS_LOOKUP=tests.crawl.dns_table.{lookup}", extra_env=extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reasons = rows(db, "SELECT last_failure_reason AS r, status FROM store_listings WHERE store_id = :s",
                   s=t.store_id)
    assert reasons == [{"r": "blocked_url", "status": "active"}] * 2
    assert shops.served_log(since) == [], "nothing reached the store"
    asked = [line for line in good.served[before[0]:] + socks.served[before[1]:] if "shop.example" in line
             or line.startswith("SOCKS5")]
    assert asked == [], "no proxy was asked to reach a refused target"
    stats = rows(db, "SELECT stats FROM crawl_runs WHERE id = :r", r=proc.run_id)[0]["stats"]
    assert not [k for k in stats if k.endswith("/failures")], "a refused target is not the proxy's failure"


def test_stores_add_and_edit_take_a_configured_pool_by_name(db, monkeypatch, capsys):
    from pricehound.cli import main
    from pricehound.config import get_settings

    monkeypatch.setenv("PRICEHOUND_PROXY_POOLS", "eu=http://ann:${EU_PW}@10.0.0.5:3128")
    monkeypatch.setenv("EU_PW", PASSWORD)
    get_settings.cache_clear()
    try:
        assert main(["stores", "add", "--slug", "proxied", "--domains", "proxied.example", "--proxy", "eu"]) == 0
        assert "through proxy pool eu (round_robin)" in capsys.readouterr().out
        assert main(["stores", "edit", "proxied", "--proxy-rotation", "sticky"]) == 0
        assert "proxy pool eu (sticky)" in capsys.readouterr().out
        assert main(["stores", "edit", "proxied", "--proxy", "us"]) == 2
        assert "no proxy pool 'us' in PRICEHOUND_PROXY_POOLS (eu)" in capsys.readouterr().err
        with db.connect() as conn:
            store = catalog.get_store(conn, "proxied")
        assert (store.proxy_pool, store.proxy_rotation) == ("eu", "sticky"), "a refused edit changed nothing"
        assert main(["stores", "edit", "proxied", "--no-proxy"]) == 0
        assert "no proxy (direct)" in capsys.readouterr().out
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


# -- the tunnel handshakes, byte by byte -----------------------------------------------------------

class _Inner:
    """Stands for the HTTP protocol that takes over once the tunnel is open."""

    def __init__(self) -> None:
        self.data = b""
        self.transport = None

    def makeConnection(self, transport) -> None:  # noqa: N802 - Twisted's interface
        self.transport = transport

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.data += data

    def connectionLost(self, reason=None) -> None:  # noqa: N802
        pass


def handshake(kind, username=None, password=None):
    from twisted.internet import defer
    from twisted.internet.protocol import Factory
    from twisted.internet.testing import StringTransport

    inner = _Inner()
    factory = Factory.forProtocol(lambda: inner)
    opened = defer.Deferred()
    proto = kind(factory, opened, "203.0.113.7", 443, username, password)
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport, opened, inner


def test_socks5_handshake_authenticates_connects_and_hands_over():
    from spiders.socks import Socks5Handshake

    proto, transport, opened, inner = handshake(Socks5Handshake, "ann", "pw")
    assert transport.value() == b"\x05\x02\x00\x02"
    transport.clear()
    proto.dataReceived(b"\x05\x02")
    assert transport.value() == b"\x01\x03ann\x02pw"
    transport.clear()
    proto.dataReceived(b"\x01\x00")
    assert transport.value() == b"\x05\x01\x00\x01" + bytes([203, 0, 113, 7]) + b"\x01\xbb"
    proto.dataReceived(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x10\x00HTTP/1.1 200")
    assert opened.called and inner.data == b"HTTP/1.1 200"


@pytest.mark.parametrize("replies, why", [
    ([b"\x05\x02", b"\x01\x01"], "refused the username or password"),
    ([b"\x05\x02", b"\x01\x00", b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"], "connection refused"),
    ([b"\x05\xff"], "none of our authentication methods"),
])
def test_socks5_refusals_fail_the_tunnel_with_the_proxys_reason(replies, why):
    from spiders.socks import Socks5Error, Socks5Handshake

    proto, transport, opened, _ = handshake(Socks5Handshake, "ann", "pw")
    failures = []
    opened.addErrback(failures.append)
    for reply in replies:
        proto.dataReceived(reply)
    assert failures and failures[0].check(Socks5Error) and why in str(failures[0].value)


def test_connect_handshake_through_a_tls_proxy_sends_credentials_and_checks_the_answer():
    from spiders.socks import ConnectHandshake, TunnelRefused

    proto, transport, opened, inner = handshake(ConnectHandshake, "ann", "pw")
    assert transport.value().startswith(b"CONNECT 203.0.113.7:443 HTTP/1.1\r\nHost: 203.0.113.7:443\r\n"
                                        b"Proxy-Authorization: Basic YW5uOnB3\r\n")
    proto.dataReceived(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03")
    assert opened.called and inner.data == b"\x16\x03"
    proto, _, opened, _ = handshake(ConnectHandshake)
    failures = []
    opened.addErrback(failures.append)
    proto.dataReceived(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
    assert failures[0].check(TunnelRefused) and "407" in str(failures[0].value)
