"""`scrapy crawl generic -a run_id=N`: Scrapy's own command crawls a run like the crawl task."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from tests.conftest import REPO_ROOT
from tests.crawl.conftest import FAST
from tests.pipelines.helpers import add_run, rows, scalar


def scrapy_crawl(env, spider: str, run_id: int):
    args = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"run_id={run_id}"]
    for setting in FAST:
        args += ["-s", setting]
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=90)


def test_scrapy_crawl_with_a_run_id_crawls_and_settles_the_run(db, env, targets):
    t = targets("northwind", ["1004", "1005"])
    run_id = add_run(db, t.store_id, t.listing_ids)
    with db.begin() as conn:  # queued by dispatch: the store is reserved for this run
        conn.execute(sa.text("UPDATE stores SET current_run_id = :r, crawl_leased_by = 'dispatch x', "
                             "crawl_lease_until = pricehound_now() + interval '5 minutes' WHERE id = :s"),
                     {"r": run_id, "s": t.store_id})
    proc = scrapy_crawl(env, "generic", run_id)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = rows(db, "SELECT status, ok, worker, finished_at FROM crawl_runs WHERE id = :r", r=run_id)[0]
    assert run["status"] == "succeeded" and run["ok"] == 2 and run["worker"].startswith("scrapy ")
    assert scalar(db, "SELECT count(*) FROM store_prices WHERE price IS NOT NULL") == 2
    store = rows(db, "SELECT current_run_id, crawl_lease_until, last_outcome FROM stores WHERE id = :s",
                 s=t.store_id)[0]
    assert store == {"current_run_id": None, "crawl_lease_until": None, "last_outcome": "succeeded"}
    # the run is over: asking again is refused with what to do, and nothing is crawled
    again = scrapy_crawl(env, "generic", run_id)
    assert "is succeeded" in again.stderr + again.stdout


def test_scrapy_crawl_names_the_right_spider_for_the_store(db, shops, targets):
    import pytest

    from spiders import standalone

    t = targets("northwind", ["1004"], spider="shopify")
    run_id = add_run(db, t.store_id, t.listing_ids)
    with pytest.raises(standalone.RunRefused, match=f"scrapy crawl shopify -a run_id={run_id}"):
        standalone.start(None, str(run_id), "generic")
    with pytest.raises(standalone.RunRefused, match="run_id must be"):
        standalone.start(None, "x", "generic")
    assert scalar(db, "SELECT status FROM crawl_runs WHERE id = :r", r=run_id) == "queued"
