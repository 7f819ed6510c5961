"""The demo scenario end to end: real worker, beat, web, demo store and SES stand-in.

It asserts exactly the expected alerts: one each for the sale across a target, the 20% drop,
the sell-out, the restock, the confirmed removal and the product watch found by search that
became cheapest at another shop (cheapest_store); none for the storm of 500s and timeouts,
the page that briefly showed no stock, the drop below a threshold, or the unverified user;
and no duplicates.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_demo_sends_exactly_the_owed_alerts(db, env, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pricehound.cli", "demo", "--exit", "--json", "--yes"],
        cwd=REPO_ROOT, env={**env, "PRICEHOUND_DATA_DIR": str(tmp_path)}, capture_output=True, text=True,
        timeout=420,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["ok"] is True
    with db.connect() as conn:
        kinds = conn.execute(sa.text(
            "SELECT kind, count(*) FROM notifications WHERE kind NOT IN ('verify', 'login') "
            "GROUP BY kind ORDER BY kind")).all()
        duplicates = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT item_id, event_id FROM notifications "
            "GROUP BY item_id, event_id HAVING count(*) > 1) d")).scalar_one()
        history_dupes = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT listing_id, observed_at FROM price_history_log "
            "GROUP BY listing_id, observed_at HAVING count(*) > 1) d")).scalar_one()
    assert dict(kinds) == {"back_in_stock": 1, "cheapest_store": 1, "price_drop": 1, "removed": 1, "sold_out": 1,
                           "target_reached": 1}
    assert duplicates == 0 and history_dupes == 0
    emails = list((tmp_path / "emails").glob("*.eml"))
    assert emails, "the demo writes every email it sends as an .eml file"
    assert "Alerts correctly not sent" in result.stdout
