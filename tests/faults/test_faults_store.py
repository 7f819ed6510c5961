"""One store turns slow, then answers 500s, then times out, for a while, then recovers. A
failure is never a change: no history row, no removed or sold-out event, no alert. The store's
circuit breaker opens (longer pauses each time) and closes once the store answers again, while
a healthy store beside it goes on being crawled and alerting."""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import Changer, Pipeline, small_catalogue, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


def test_a_store_slow_then_500s_then_timeouts_then_recovering_alerts_nobody(fault_root):
    with Pipeline(fault_root, small_catalogue(2, 8, seed=5), slow_delay=2.5, timeout_hold=5.0,
                  extra_env={"PRICEHOUND_DOWNLOAD_TIMEOUT": "2"}) as p:
        p.seed(per_store=8, min_interval=1, max_interval=8)
        bad, good = p.shop.store_slugs
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=5, skip={(bad, w.product_id) for w in p.watched if w.store == bad})
        streaks = []
        for status in ("slow", "error500", "timeout"):
            for product in p.shop.products(bad):
                p.shop.set_product(bad, product.id, status=status)
            until = time.monotonic() + 12
            while time.monotonic() < until:
                changer.tick(1)
                p.make_due()
                time.sleep(1.5)
                streaks.append(p.scalar("SELECT failure_streak FROM stores WHERE slug = :s", s=bad))
        for product in p.shop.products(bad):
            p.shop.set_product(bad, product.id, status="ok")
        p.settle(timeout=120)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        assert max(streaks) >= 2, streaks  # the breaker opened, and backed off again
        # and closes: the store's prices never changed, so the pipeline is already in sync; the
        # breaker closes at the store's first good crawl once its pause (at most 8 s) is over
        def breaker_closed() -> bool:
            p.make_due()
            return p.scalar("SELECT failure_streak FROM stores WHERE slug = :s", s=bad) == 0

        wait_until(breaker_closed, timeout=90, interval=1.0, message="the recovered store's breaker to close")
        p.settle(timeout=120)
        assert not p.check().violations
        assert p.scalar("SELECT count(*) FROM price_events e JOIN store_listings l ON l.id = e.listing_id "
                        "JOIN stores s ON s.id = l.store_id WHERE s.slug = :s", s=bad) == 0
        assert p.scalar("SELECT count(*) FROM price_events e JOIN store_listings l ON l.id = e.listing_id "
                        "JOIN stores s ON s.id = l.store_id WHERE s.slug = :s", s=good) > 0
