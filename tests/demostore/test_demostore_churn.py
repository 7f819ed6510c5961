import time

from demostore import Churner, DemoStoreServer, demo_catalogue


def _ticks(seed, n=40):
    with DemoStoreServer(demo_catalogue()) as server:
        churner = Churner(server, interval=3600, seed=seed)
        entries = [churner.tick() for _ in range(n)]
        return [(e["store"], e["product_id"], e["changes"]) for e in entries if e], server


def test_churn_changes_only_ok_products_and_logs_every_change():
    with DemoStoreServer(demo_catalogue()) as server:
        churner = Churner(server, interval=3600, seed=5)
        made = [e for e in (churner.tick() for _ in range(60)) if e]
        assert made
        assert server.change_log() == made
        assert all(e["source"] == "churn" and e["status"] == "ok" for e in made)
        kinds = {k for e in made for k in e["changes"]}
        assert "price" in kinds
        for e in made:
            p = server.product(e["store"], e["product_id"])
            assert p.price > 0
            assert p.regular_price is None or p.regular_price > 0


def test_churn_is_deterministic():
    a, _ = _ticks(11)
    b, _ = _ticks(11)
    assert a == b


def test_churn_thread_starts_and_stops():
    with DemoStoreServer(demo_catalogue()) as server:
        with Churner(server, interval=0.01, seed=1):
            while not server.change_log():
                time.sleep(0.01)  # wait for the first tick
        n = len(server.change_log())
        assert n >= 1
