"""`python -m spiders.run`: how a run is started, recorded and refused."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.crawl.conftest import admin_set
from tests.pipelines.helpers import add_run, rows, scalar


def run_module(env, *args):
    return subprocess.run([sys.executable, "-m", "spiders.run", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_an_unknown_run_is_refused(db, env):
    proc = run_module(env, "424242")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_a_finished_run_is_not_crawled_again(db, env, targets):
    t = targets("northwind", ["1004"])
    run_id = add_run(db, t.store_id, t.listing_ids)
    with db.begin() as conn:
        conn.execute(__import__("sqlalchemy").text(
            "UPDATE crawl_runs SET status = 'succeeded', started_at = pricehound_now(), finished_at = pricehound_now() WHERE id = :r"),
            {"r": run_id})
    proc = run_module(env, str(run_id))
    assert proc.returncode == 2 and "succeeded" in proc.stderr
    assert scalar(db, "SELECT count(*) FROM store_prices") == 0


def test_an_unknown_spider_fails_the_run_with_the_reason(db, env, targets):
    t = targets("northwind", ["1004"], spider="nosuchspider")
    run_id = add_run(db, t.store_id, t.listing_ids)
    proc = run_module(env, str(run_id))
    assert proc.returncode == 1
    run = rows(db, "SELECT status, error, finished_at FROM crawl_runs WHERE id = :r", r=run_id)[0]
    assert run["status"] == "failed" and "nosuchspider" in run["error"] and run["finished_at"] is not None


def test_an_unreachable_broker_never_loses_events(db, shops, targets, crawl):
    t = targets("dailybasket", ["6001"])
    assert crawl(t).returncode == 0
    admin_set(shops, "dailybasket", "6001", price="1.49")
    proc = crawl(t, extra_env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "alert sweeper" in proc.stderr
    assert [r["kind"] for r in rows(db, "SELECT kind FROM price_events")] == ["price_drop"]
    assert rows(db, "SELECT status FROM crawl_runs WHERE id = :r", r=proc.run_id)[0]["status"] == "succeeded"


def test_the_alert_task_comes_from_configuration(db, shops, targets, crawl, redis_client):
    import json

    t = targets("dailybasket", ["6001"])
    assert crawl(t).returncode == 0
    admin_set(shops, "dailybasket", "6001", price="1.49")
    proc = crawl(t, extra_env={"PRICEHOUND_ALERT_TASK": "ops.alerts.evaluate_v2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    messages = [json.loads(m) for m in redis_client.lrange("alerts", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["ops.alerts.evaluate_v2"]


def test_a_database_that_does_not_answer_is_exit_3_not_a_store_failure(db, env):
    proc = run_module({**env, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/pricehound"}, "1")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "the database did not answer" in proc.stderr


def test_observations_that_could_not_be_written_fail_the_run_with_exit_3(db, targets, crawl):
    import sqlalchemy as sa

    t = targets("northwind", ["1004"])
    with db.begin() as conn:  # the database refuses every price row, as a full disk would
        conn.execute(sa.text(
            "CREATE FUNCTION refuse_prices() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$"))
        conn.execute(sa.text("CREATE TRIGGER refuse_prices BEFORE INSERT OR UPDATE ON store_prices "
                             "FOR EACH ROW EXECUTE FUNCTION refuse_prices()"))
    try:
        proc = crawl(t)
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER refuse_prices ON store_prices"))
            conn.execute(sa.text("DROP FUNCTION refuse_prices()"))
    assert proc.returncode == 3, proc.stderr[-2000:]
    run = rows(db, "SELECT status, error FROM crawl_runs WHERE id = :r", r=proc.run_id)[0]
    assert run["status"] == "failed" and "could not be written" in run["error"]
    assert scalar(db, "SELECT count(*) FROM store_prices") == 0
