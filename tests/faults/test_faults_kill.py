"""SIGKILL the Celery worker (its whole process group: main process, pool, spider) at chosen and
random points, restart it, and check the oracle's invariants after a quiet period.

Kill points inside the code are armed through tests/faults/inject/sitecustomize.py: the first
process to reach an armed point kills its worker right there. Mid-crawl kills come from outside
at a random moment of a crawl kept going by slow pages.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.faults.harness import Changer, Pipeline, fault_rounds, small_catalogue, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]

SLOW_PER_STORE = 4


@pytest.mark.parametrize("seed", range(fault_rounds(2)))
def test_sigkill_mid_crawl_at_random_moments_loses_and_duplicates_nothing(fault_root, seed):
    rng = random.Random(seed)
    with Pipeline(fault_root, small_catalogue(2, 10, seed=seed), slow_delay=1.0) as p:
        p.seed(per_store=10)
        for slug in p.shop.store_slugs:  # a crawl with slow pages is mid-way for several seconds
            for product in p.shop.products(slug)[:SLOW_PER_STORE]:
                p.shop.set_product(slug, product.id, status="slow")
        p.start()
        changer = Changer(p, seed=seed)
        for _round in range(3):
            changer.tick(5)
            p.make_due()
            wait_until(lambda: p.progress()["running"] > 0, timeout=60, message="a crawl to be running")
            time.sleep(rng.uniform(0.2, 3.0))
            p.kill_worker("mid-crawl")
            time.sleep(rng.uniform(0.0, 2.0))
            p.start_worker()
        p.settle(timeout=150)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        assert len(p.kills) == 3


POINTS = ("dispatch_enqueue", "handoff_publish", "evaluate_statement", "evaluate_enqueue")


def test_sigkill_between_commit_and_enqueue_and_mid_evaluate_is_only_late(fault_root):
    """Each point kills the worker once: dispatch committed its runs but enqueued none; a flush
    committed events but did not hand them on; evaluation wrote outbox rows but did not commit;
    evaluation committed but did not enqueue the send. Leases, the reaper and the two sweepers
    must bring every change to history and every owed alert to SES exactly once."""
    with Pipeline(fault_root, small_catalogue(2, 8, seed=7)) as p:
        p.seed(per_store=8)
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=7)
        for point in POINTS:
            p.arm(point)
            changer.tick(4)
            p.make_due()
            p.keep_worker_alive(lambda point=point: p.fired(point), timeout=90)
        p.settle(timeout=240)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        assert all(p.fired(point) for point in POINTS)


def test_sigkill_between_ses_accepting_and_the_row_marked_sent_is_the_one_duplicate_window(fault_root):
    """The one window where a duplicate cannot be avoided: SES accepted the message, the worker
    died before the row said so. The row stays 'sending' (nothing is sent twice early); once the
    send task's hard limit has passed (STUCK_SENDING_AFTER, the hard limit plus 30 s: simulated here by moving the
    row's sending_started_at back) the sweeper sends it again. Measured: one duplicate per kill
    in the window, none otherwise, and how long the window is on every normal send."""
    kills = fault_rounds(3)
    with Pipeline(fault_root, small_catalogue(2, 8, seed=11)) as p:
        p.seed(per_store=8)
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=11)
        for _ in range(kills):
            p.arm("ses_accepted")
            changer.tick(4)
            p.make_due()
            p.keep_worker_alive(lambda: p.fired("ses_accepted") and not p.worker_died(), timeout=90)
            wait_until(lambda: p.scalar("SELECT count(*) FROM notifications WHERE status = 'sending'") >= 1,
                       timeout=10, message="the row SES accepted to be left sending")
            stuck = p.scalar("SELECT count(*) FROM notifications WHERE status = 'sending'")
            assert stuck >= 1
            # the rows the dead worker left: started before the kill (a row the restarted worker
            # is sending right now is not stuck, and moving it back would make its own duplicate)
            killed_at = min(float(path.read_text().split()[0]) for path in p.fault_dir.glob("ses_accepted.fired.*"))
            with p.engine.begin() as conn:  # time passes: the send task's hard limit is over
                conn.execute(sa.text("UPDATE notifications SET sending_started_at = sending_started_at "
                                     "- interval '331 seconds' WHERE status = 'sending' "
                                     "AND sending_started_at <= to_timestamp(:killed_at)"), {"killed_at": killed_at})
            for path in p.fault_dir.glob("ses_accepted.fired.*"):
                path.unlink()
        p.settle(timeout=150)
        verdict = p.check(allow_duplicates=True)
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        print(f"\nduplicate window: {kills} kill(s) between SES accepting and the row marked sent -> "
              f"{len(verdict.duplicates)} duplicate email(s); window on normal sends {verdict.figures.get('window_ms')}")
        # a machine dying kills every send in flight: at least one duplicate per kill, at most one
        # per worker process that was between SES and the database at that moment
        assert kills <= len(verdict.duplicates) <= kills * p.worker_concurrency


def test_sigkill_mid_crawl_and_between_commit_and_enqueue_with_a_webhook_channel_duplicates_nothing(fault_root):
    """Every user also has a verified webhook channel, so every owed alert is owed twice (email
    and webhook). Random mid-crawl kills, then each commit/enqueue kill point: every alert reaches
    each channel exactly once, every delivery is signed, no delivery id arrives twice."""
    rng = random.Random(5)
    with Pipeline(fault_root, small_catalogue(2, 8, seed=5), slow_delay=1.0) as p:
        p.seed(per_store=8, webhooks=True)
        for slug in p.shop.store_slugs:
            for product in p.shop.products(slug)[:SLOW_PER_STORE]:
                p.shop.set_product(slug, product.id, status="slow")
        p.start()
        changer = Changer(p, seed=5)
        for _round in range(2):
            changer.tick(4)
            p.make_due()
            wait_until(lambda: p.progress()["running"] > 0, timeout=60, message="a crawl to be running")
            time.sleep(rng.uniform(0.2, 3.0))
            p.kill_worker("mid-crawl")
            time.sleep(rng.uniform(0.0, 2.0))
            p.start_worker()
        p.settle(timeout=150)
        for point in POINTS:
            p.arm(point)
            changer.tick(4)
            p.make_due()
            p.keep_worker_alive(lambda point=point: p.fired(point), timeout=90)
        p.settle(timeout=240)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        print(f"\nwebhook channel under kills: {verdict}")
        assert verdict.webhook_deliveries > 0 and not verdict.webhook_duplicates and not verdict.duplicates


def test_sigkill_after_a_webhook_answered_resends_under_the_same_delivery_id(fault_root):
    """The webhook's duplicate window: the endpoint answered 2xx, the worker died before the row
    said so. After the stuck-sending delay the sweeper sends it again carrying the same
    X-Pricehound-Delivery id (the row's digest key), so a receiver that drops ids it has seen
    gets each alert once; the oracle counts the raw re-deliveries."""
    with Pipeline(fault_root, small_catalogue(2, 6, seed=13)) as p:
        p.seed(per_store=6, webhooks=True)
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=13)
        p.arm("webhook_accepted")
        changer.tick(4)
        p.make_due()
        p.keep_worker_alive(lambda: p.fired("webhook_accepted") and not p.worker_died(), timeout=90)
        wait_until(lambda: p.scalar("SELECT count(*) FROM notifications WHERE status = 'sending' "
                                    "AND channel = 'webhook'") >= 1, timeout=10, message="a webhook row left sending")
        killed_at = min(float(path.read_text().split()[0]) for path in p.fault_dir.glob("webhook_accepted.fired.*"))
        with p.engine.begin() as conn:  # time passes: the send task's hard limit is over
            conn.execute(sa.text("UPDATE notifications SET sending_started_at = sending_started_at "
                                 "- interval '331 seconds' WHERE status = 'sending' "
                                 "AND sending_started_at <= to_timestamp(:killed_at)"), {"killed_at": killed_at})
        p.settle(timeout=150)
        verdict = p.check(allow_duplicates=True)
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        print(f"\nwebhook duplicate window: {verdict}")
        # the oracle held each sent row to one delivery id (a re-send under a new id would have
        # carried its rows twice); what arrived twice arrived under an id already seen
        counts = Counter(d.delivery for d in p.webhook.deliveries)
        assert verdict.webhook_duplicates and all(counts[d.delivery] >= 2 for d in verdict.webhook_duplicates)
