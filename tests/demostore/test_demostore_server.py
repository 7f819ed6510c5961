"""Sockets, lifecycle, keep-alive and the command line."""

import argparse
import http.client
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from demostore_testlib import fetch

from demostore import DemoStoreServer, demo_catalogue, make_catalogue
from demostore.cli import register

REPO = Path(__file__).resolve().parents[2]


def test_each_store_has_its_own_port(shops):
    ports = [shops.port(slug) for slug in shops.store_slugs]
    assert len(set(ports)) == len(ports) == 6
    assert all(url.startswith("http://127.0.0.1:") for url in shops.base_urls().values())
    # a product path is served only by its own store
    p = shops.products("voltmarkt")[0]
    path = shops.product_path("voltmarkt", p.id)
    assert fetch(shops.base_url("voltmarkt") + path).status == 200
    assert fetch(shops.base_url("northwind") + path).status == 404


def test_keep_alive_with_content_length(shops):
    conn = http.client.HTTPConnection("127.0.0.1", shops.port("northwind"), timeout=10)
    try:
        for p in shops.products("northwind")[:20]:
            conn.request("GET", shops.product_path("northwind", p.id))
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200 and int(r.headers["Content-Length"]) == len(body)
            assert r.headers.get("Connection", "").lower() != "close"
        conn.request("HEAD", "/")
        r = conn.getresponse()
        assert r.status == 200 and r.read() == b"" and int(r.headers["Content-Length"]) > 0
    finally:
        conn.close()


def test_concurrent_requests(shops):
    targets = [(slug, p.id) for slug in shops.store_slugs for p in shops.products(slug)[:8]]
    statuses = []

    def get(slug, pid):
        statuses.append(fetch(shops.product_url(slug, pid)).status)

    threads = [threading.Thread(target=get, args=t) for t in targets]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert statuses == [200] * len(targets)
    assert len(shops.served_log()) == len(targets)


@pytest.mark.timeout(30)
def test_stop_returns_with_open_and_held_connections():
    server = DemoStoreServer(make_catalogue(2, 5, seed=1), timeout_hold=600)
    slug = server.store_slugs[0]
    pid = server.products(slug)[0].id
    server.set_product(slug, pid, status="timeout")
    idle = http.client.HTTPConnection("127.0.0.1", server.port(slug), timeout=60)
    idle.request("GET", "/robots.txt")
    idle.getresponse().read()  # keep-alive connection left open
    errors = []
    t = threading.Thread(target=lambda: errors.append(_expect_failure(server.product_url(slug, pid))))
    t.start()
    while not server.served_log():
        t.join(0.01)
    server.stop()  # must not wait for the 600 s hold nor the idle connection
    t.join()
    assert errors == [True]
    with pytest.raises(OSError):
        fetch(server.base_url(slug) + "/", timeout=5)
    idle.close()
    server.stop()  # idempotent


def _expect_failure(url):
    try:
        fetch(url, timeout=60)
    except (OSError, http.client.HTTPException):
        return True
    return False


def test_context_manager_and_catalogue_is_not_shared():
    stores = demo_catalogue()
    original = stores[0].products[0].price
    with DemoStoreServer(stores) as server:
        server.set_product(stores[0].slug, stores[0].products[0].id, price="1.00")
        assert stores[0].products[0].price == original
        snapshot = server.catalogue()
        assert str(snapshot[0].products[0].price) == "1.00"


def test_register_adds_subcommand():
    parser = argparse.ArgumentParser(prog="pricehound")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    ns = parser.parse_args(["demo-store", "--stores", "2", "--products", "5", "--seed", "3"])
    assert callable(ns.handler) and ns.stores == 2 and ns.products == 5 and ns.seed == 3
    assert "demo-store" in parser.format_help()


@pytest.mark.timeout(60)
def test_cli_prints_base_urls_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "demostore", "--stores", "3", "--products",
                             "10", "--seed", "1", "--duration", "30"], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert len(info["stores"]) == 3
        for base in info["stores"].values():
            assert fetch(base + "/robots.txt").status == 200
        catalogue = fetch(info["admin"] + "catalogue").json()
        assert sum(len(s["products"]) for s in catalogue["stores"]) == 30
    finally:
        proc.terminate()
        proc.wait()
