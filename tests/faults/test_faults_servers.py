"""PostgreSQL and Redis go away mid-run: a PostgreSQL crash and restart, sessions cut with
pg_terminate_backend, a Redis crash and restart. The pipeline must lose and duplicate nothing."""

from __future__ import annotations

import random
import time

import pytest

from tests.faults.harness import Changer, Pipeline, fault_rounds, small_catalogue, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


def _busy(p: Pipeline, changer: Changer) -> None:
    changer.tick(5)
    p.make_due()
    wait_until(lambda: p.progress()["running"] > 0, timeout=60, message="a crawl to be running")


@pytest.mark.parametrize("seed", range(fault_rounds(1)))
def test_postgres_crash_restart_and_cut_sessions_mid_run(fault_root, seed):
    rng = random.Random(seed)
    with Pipeline(fault_root, small_catalogue(2, 10, seed=seed), slow_delay=0.7) as p:
        p.seed(per_store=10)
        for slug in p.shop.store_slugs:
            for product in p.shop.products(slug)[:3]:
                p.shop.set_product(slug, product.id, status="slow")
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=seed)
        _busy(p, changer)
        time.sleep(rng.uniform(0.2, 1.5))
        p.pg.restart("immediate", down_for=rng.uniform(1.0, 3.0))  # a crash: recovery on start
        p.engine.dispose()
        _busy(p, changer)
        time.sleep(rng.uniform(0.2, 1.5))
        cut = p.pg.terminate_backends()
        changer.tick(5)
        time.sleep(1.0)
        cut += p.pg.terminate_backends()
        p.engine.dispose()
        p.settle(timeout=180)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        assert cut > 0


@pytest.mark.parametrize("seed", range(fault_rounds(1)))
def test_redis_crash_and_restart_mid_run(fault_root, seed):
    rng = random.Random(seed)
    with Pipeline(fault_root, small_catalogue(2, 10, seed=seed), slow_delay=0.7) as p:
        p.seed(per_store=10)
        for slug in p.shop.store_slugs:
            for product in p.shop.products(slug)[:3]:
                p.shop.set_product(slug, product.id, status="slow")
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=seed)
        for _ in range(2):
            _busy(p, changer)
            time.sleep(rng.uniform(0.2, 2.0))
            p.redis.restart(down_for=rng.uniform(1.0, 3.0))
        p.settle(timeout=180)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
