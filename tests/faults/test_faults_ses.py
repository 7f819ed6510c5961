"""SES pushes back: a throttling storm (429 TooManyRequestsException on every send for a while),
then a burst of permanent rejections (400 MessageRejected). Throttled alerts must all arrive,
once each, when the storm ends; rejected ones fail with SES's reason and are never retried into
a duplicate."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.faults.harness import Changer, Pipeline, small_catalogue, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


def test_throttling_storm_then_permanent_rejections(fault_root):
    with Pipeline(fault_root, small_catalogue(2, 10, seed=3)) as p:
        p.seed(per_store=10)
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=3)

        p.ses.mode = "throttle"
        changer.tick(8)
        p.make_due()
        wait_until(lambda: p.ses.refused["throttle"] >= 5, timeout=60, message="SES to throttle sends")
        time.sleep(8)
        assert p.scalar("SELECT count(*) FROM notifications WHERE status = 'sent'") == 0
        throttled = p.ses.refused["throttle"]
        p.ses.mode = "pass"
        p.settle(timeout=150)
        after_storm = p.check()
        assert not after_storm.violations, f"{after_storm}\n{p.logs()}"

        p.ses.mode = "reject"
        changer.tick(6)
        p.make_due()
        wait_until(lambda: p.ses.refused["reject"] >= 1, timeout=60, message="SES to reject a send")
        p.settle(timeout=120)
        with p.engine.connect() as conn:
            failed = conn.execute(sa.text(
                "SELECT id, attempts, last_error FROM notifications WHERE status = 'failed'")).all()
        p.ses.mode = "pass"
        verdict = p.check(expect_failed=len(failed))
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        assert failed and all("MessageRejected" in f.last_error and f.attempts == 1 for f in failed)
        assert p.ses.refused["reject"] == len({f.id for f in failed}) or p.ses.refused["reject"] >= 1
        print(f"\nSES storm: {throttled} sends throttled, all {after_storm.sent_notifications} alerts sent once "
              f"afterwards; {len(failed)} rejected permanently, none retried")
