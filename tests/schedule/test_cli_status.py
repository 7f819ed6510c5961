"""`pricehound crawl STORE [--now]` and the schedule in `pricehound status`, run as ops run them."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from pricehound import clock
from tests.schedule.conftest import watch_many
from workers import crawl, schedule


def test_crawl_dispatches_a_stores_due_targets_at_once(db, stores, run_cli, redis_client):
    acme, other = stores("acme"), stores("other")
    with db.begin() as conn:
        due = watch_many(conn, acme, ["/a", "/b"])
        watch_many(conn, acme, ["/later"])
        watch_many(conn, other, ["/x"])
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '3 hours' "
                             "WHERE listing_id NOT IN (:a, :b) AND store_id = :s"), {"a": due[0], "b": due[1], "s": acme.id})

    result = run_cli("crawl", "acme")

    assert result.returncode == 0, result.stderr
    with db.connect() as conn:
        run = conn.execute(sa.text("SELECT id, store_id, listing_ids FROM crawl_runs")).one()
    assert result.stdout.strip() == f"store acme: run {run.id} queued with 2 targets"
    assert (run.store_id, sorted(run.listing_ids)) == (acme.id, sorted(due))
    assert redis_client.llen("crawl") == 1


def test_crawl_now_takes_every_watched_target_and_overrides_a_pause(db, stores, run_cli):
    acme = stores("acme")
    with db.begin() as conn:
        ids = watch_many(conn, acme, [f"/p/{i}" for i in range(600)])
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '3 hours'"))
        conn.execute(sa.text("UPDATE stores SET paused_until = pricehound_now() + interval '10 minutes', failure_streak = 2"))

    assert "no due targets" in run_cli("crawl", "acme").stdout
    result = run_cli("crawl", "acme", "--now")

    assert result.returncode == 0, result.stderr
    assert "with 600 targets" in result.stdout and "overridden" in result.stdout
    with db.connect() as conn:
        assert sorted(conn.execute(sa.text("SELECT listing_ids FROM crawl_runs")).scalar_one()) == sorted(ids)


def test_crawl_refuses_while_the_store_is_being_crawled(db, stores, run_cli):
    acme = stores("acme")
    with db.begin() as conn:
        watch_many(conn, acme, ["/a"])
    assert run_cli("crawl", "acme").returncode == 0
    result = run_cli("crawl", "acme", "--now")
    assert result.returncode == 1
    assert "store acme is busy: run" in result.stdout


def test_crawl_of_an_unknown_store_is_bad_input(db, run_cli):
    result = run_cli("crawl", "nosuch")
    assert result.returncode == 2
    assert result.stderr.strip() == "pricehound: error: no store 'nosuch'; `pricehound stores list` shows the stores"


def test_status_shows_each_stores_schedule_breaker_and_the_queue_depths(db, stores, run_cli, settings):
    busy, broken, idle = stores("busy"), stores("broken"), stores("idle")
    test_settings = settings.with_overrides(lease_seconds=600)
    with db.begin() as conn:
        watch_many(conn, busy, ["/a", "/b", "/c"])
        watch_many(conn, broken, ["/x", "/y"])
    with clock.shifted(timedelta(minutes=-2)), db.begin() as conn:  # its last crawl failed 2 minutes ago
        conn.execute(sa.text(
            "UPDATE stores SET failure_streak = 3, paused_until = pricehound_now() + interval '22 minutes', "
            "last_outcome = 'failed', last_crawl_at = pricehound_now(), "
            "last_error = '2 of 2 pages failed (HTTP 500 x6)' WHERE slug = 'broken'"))
    run_id = schedule.dispatch(db, test_settings).runs[0].run_id  # only 'busy' is free and due
    crawl.claim(db, run_id, me="worker-7:4242", settings=test_settings)
    with clock.shifted(timedelta(minutes=-10)), db.begin() as conn:  # the crawl started 10 minutes ago
        conn.execute(sa.text("UPDATE crawl_runs SET status = 'running', started_at = pricehound_now()"))

    text = run_cli("status")
    data = run_cli("status", "--json")

    assert text.returncode == 0 and data.returncode == 0, text.stderr + data.stderr
    lines = {line.split()[0]: line for line in text.stdout.splitlines() if line.split()}
    assert lines["busy"].split()[1:3] == ["0", "3"]                        # due, leased
    assert f"run {run_id} running since 10m ago" in lines["busy"]
    assert lines["broken"].split()[1:3] == ["2", "0"]
    assert "failed 2m ago" in lines["broken"] and "(in 20m)" in lines["broken"]
    assert "last error: 2 of 2 pages failed (HTTP 500 x6)" in text.stdout
    assert lines["idle"].split()[1:4] == ["0", "0", "-"] and "never" in lines["idle"]
    assert "queues: schedule 0, crawl 1, alerts 0, email 0" in text.stdout

    status = json.loads(data.stdout)
    assert status["queues"] == {"schedule": 0, "crawl": 1, "alerts": 0, "email": 0}
    by_slug = {s["slug"]: s for s in status["store_schedule"]}
    assert (by_slug["busy"]["run_id"], by_slug["busy"]["run_holder"]) == (run_id, "worker-7:4242")
    assert (by_slug["broken"]["failure_streak"], by_slug["broken"]["due"]) == (3, 2)
    assert status["due_targets"] == 2 and status["leased_targets"] == 3
    assert idle.slug in by_slug


def test_status_reports_an_unreachable_redis_without_failing(db, run_cli):
    result = run_cli("status", extra_env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 0, result.stderr
    assert "queues: Redis unreachable (ConnectionError" in result.stdout


def test_crawl_json_without_wait_says_which_run_was_queued(db, stores, run_cli):
    acme = stores("acme")
    with db.begin() as conn:
        watch_many(conn, acme, ["/a", "/b"])
    result = run_cli("crawl", "acme", "--now", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["store"], document["queued"], document["pause_overridden"]) == ("acme", 2, False)
    busy = run_cli("crawl", "acme", "--now", "--json")
    assert busy.returncode == 1 and json.loads(busy.stdout)["busy"] is True
