"""A whole store serves a maintenance page (with 200) for three crawls, then recovers: nothing
is gone, nothing is mailed for it, each of those crawls is a store failure, and the fault
suite's oracle finds the pipeline in step with what the store served."""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import Pipeline, small_catalogue, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


def test_a_store_in_maintenance_for_three_crawls_removes_and_mails_nothing(fault_root):
    with Pipeline(fault_root, small_catalogue(2, 8, seed=11)) as p:
        p.seed(per_store=8, min_interval=1, max_interval=8)
        bad, _good = p.shop.store_slugs
        p.start()
        p.settle(timeout=90)
        before = p.scalar("SELECT coalesce(max(r.id), 0) FROM crawl_runs r JOIN stores s ON s.id = r.store_id "
                          "WHERE s.slug = :s", s=bad)
        for product in p.shop.products(bad):
            p.shop.set_product(bad, product.id, status="maintenance")

        def three_crawls() -> bool:
            p.make_due()
            return p.scalar("SELECT count(*) FROM crawl_runs r JOIN stores s ON s.id = r.store_id WHERE s.slug = :s "
                            "AND r.id > :b AND r.status = 'succeeded' AND r.failed > 0 AND r.ok = 0",
                            s=bad, b=before) >= 3

        wait_until(three_crawls, timeout=180, interval=1.0, message="three crawls of the store in maintenance")
        assert p.scalar("SELECT count(*) FROM store_listings l JOIN stores s ON s.id = l.store_id "
                        "WHERE s.slug = :s AND l.last_failure_reason = 'maintenance'", s=bad) > 0
        assert p.scalar("SELECT max(failure_streak) FROM stores WHERE slug = :s", s=bad) >= 1
        for product in p.shop.products(bad):
            p.shop.set_product(bad, product.id, status="ok")
        time.sleep(1)
        p.settle(timeout=180)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        assert p.scalar("SELECT count(*) FROM price_events e JOIN store_listings l ON l.id = e.listing_id "
                        "JOIN stores s ON s.id = l.store_id WHERE s.slug = :s", s=bad) == 0
        assert p.scalar("SELECT count(*) FROM notifications n JOIN price_events e ON e.id = n.event_id "
                        "JOIN store_listings l ON l.id = e.listing_id JOIN stores s ON s.id = l.store_id "
                        "WHERE s.slug = :s", s=bad) == 0
        assert p.scalar("SELECT count(*) FROM store_listings WHERE status = 'removed'") == 0
