"""The harness itself: with no fault, the pipeline meets every invariant the oracle checks."""

from __future__ import annotations

import pytest

from tests.faults.harness import Changer, Pipeline, small_catalogue

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]


def test_without_faults_every_change_is_one_history_row_and_every_alert_one_email(fault_root):
    with Pipeline(fault_root, small_catalogue(2, 8)) as p:
        p.seed(per_store=8)
        p.start()
        p.settle(timeout=90)
        changer = Changer(p, seed=1)
        for _ in range(3):
            changer.tick(6)
            p.settle(timeout=90)
        verdict = p.check()
        assert not verdict.violations, f"{verdict}\n{p.logs()}"
        assert verdict.owed_alerts > 0 and verdict.sent_notifications >= verdict.owed_alerts
