"""`pricehound crawl STORE --wait` with a worker up: the worker crawls, the command waits for it."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from demostore import DemoStoreServer, demo_catalogue
from pricehound import catalog
from tests.schedule.conftest import wait_for

pytestmark = [pytest.mark.slow]


def test_with_a_worker_up_crawl_wait_waits_for_the_workers_run(db, celery_procs, run_cli):
    from workers import follow

    with DemoStoreServer(demo_catalogue(faults=False)) as shops:
        with db.begin() as conn:
            catalog.add_store(conn, slug="northwind", name="Northwind", domains=[f"127.0.0.1:{shops.port('northwind')}"],
                              delay="0", is_local=True)
            catalog.add_user(conn, email="ann@example.com", verified=True)
            for product in shops.products("northwind")[:2]:
                catalog.add_watch(conn, email="ann@example.com", url=shops.product_url("northwind", product.id))
        celery_procs.worker(queues="crawl,alerts", extra_env={"PRICEHOUND_DOWNLOAD_TIMEOUT": "3"}, name="crawler")
        wait_for(lambda: "crawl" in follow.serving_queues(), timeout=60, message="a worker on the crawl queue",
                 on_fail=celery_procs.logs)

        out = run_cli("crawl", "northwind", "--now", "--wait", "--json")
    assert out.returncode == 0, out.stderr + celery_procs.logs()
    report = json.loads(out.stdout)
    assert report["mode"] == "worker"
    assert report["run"]["status"] == "succeeded"
    assert "pricehound.crawl.run_store_crawl" in celery_procs.logs() and "succeeded in" in celery_procs.logs()
    assert [item["kind"] for item in report["listings"]] == ["ok", "ok"]
    with db.connect() as conn:
        leased = conn.execute(sa.text("SELECT current_run_id, crawl_lease_until FROM stores")).one()
    assert tuple(leased) == (None, None)
