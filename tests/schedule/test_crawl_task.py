"""The crawl task without a spider: claiming a run and the store lease, stopping a spider
process, recording outcomes, the circuit breaker and releasing what a run did not observe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
import sqlalchemy as sa

from pricehound import clock
from tests.schedule.conftest import REPO_ROOT, wait_for, watch_many
from workers import crawl, schedule


@pytest.fixture()
def queued_run(db, stores, test_settings):
    """One store with three watched pages, dispatched: (store, run id, listing ids)."""
    store = stores("acme", min_interval=timedelta(minutes=2), max_interval=timedelta(minutes=30))
    with db.begin() as conn:
        ids = watch_many(conn, store, ["/a", "/b", "/c"])
    run = schedule.dispatch(db, test_settings).runs[0]
    return store, run.run_id, ids


def store_row(db, store_id: int):
    with db.connect() as conn:
        return conn.execute(sa.text(
            "SELECT *, crawl_lease_until >= pricehound_now() AS held, paused_until - pricehound_now() AS pause_left "
            "FROM stores WHERE id = :id"), {"id": store_id}).one()


def run_row(db, run_id: int):
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM crawl_runs WHERE id = :id"), {"id": run_id}).one()


def spider_reports(db, run_id: int, *, status: str = "succeeded", ok: int = 0, failed: int = 0,
                   observed: list[int] = (), stats: str = "{}") -> None:
    """What spiders.run writes: counters and status on the run, observed targets released."""
    with db.begin() as conn:
        conn.execute(sa.text(
            "UPDATE crawl_runs SET status = :status, ok = :ok, failed = :failed, started_at = pricehound_now(), "
            "finished_at = pricehound_now(), stats = CAST(:stats AS jsonb) WHERE id = :id"),
            {"status": status, "ok": ok, "failed": failed, "id": run_id, "stats": stats})
        conn.execute(sa.text(
            "UPDATE user_crawler_priorities SET updated_at = pricehound_now(), "
            "last_crawled_at = pricehound_now(), next_due_at = pricehound_now() + interval '1 hour' WHERE listing_id = ANY(:ids)"),
            {"ids": list(observed)})


# -- claim --------------------------------------------------------------------------------------

def test_claim_takes_over_the_store_lease_dispatch_reserved(db, queued_run, test_settings):
    store, run_id, _ = queued_run
    assert store_row(db, store.id).crawl_leased_by.startswith(schedule.RESERVED_PREFIX)

    claim = crawl.claim(db, run_id, me="w1:1", settings=test_settings)

    assert claim.action == "run"
    row = store_row(db, store.id)
    assert (row.current_run_id, row.crawl_leased_by, row.held) == (run_id, "w1:1", True)
    assert run_row(db, run_id).worker == "w1:1"


def test_a_second_delivery_of_a_run_being_crawled_does_nothing(db, queued_run, test_settings):
    _, run_id, _ = queued_run
    assert crawl.claim(db, run_id, me="w1:1", settings=test_settings).action == "run"
    assert crawl.claim(db, run_id, me="w2:2", settings=test_settings).action == "duplicate"
    assert run_row(db, run_id).worker == "w1:1"


def test_a_redelivered_finished_run_changes_nothing(db, queued_run, test_settings):
    store, run_id, ids = queued_run
    crawl.claim(db, run_id, me="w1:1", settings=test_settings)
    spider_reports(db, run_id, ok=3, observed=ids)
    first = crawl.finish(db, run_id)
    before = store_row(db, store.id)

    decision, outcome = crawl.crawl_run(run_id, settings=test_settings, engine=db)

    assert decision.action == "finished" and outcome is not None and first is not None
    after = store_row(db, store.id)
    assert (after.failure_streak, after.last_crawl_at, after.current_run_id) == (
        before.failure_streak, before.last_crawl_at, None)
    assert run_row(db, run_id).status == "succeeded"


def test_a_store_never_has_two_crawls_at_once(db, stores, test_settings):
    store = stores("acme")
    with db.begin() as conn:
        watch_many(conn, store, ["/a"])
    first = schedule.dispatch(db, test_settings).runs[0].run_id
    assert crawl.claim(db, first, me="w1:1", settings=test_settings).action == "run"
    # an operator forces a second run in while the first crawls (as a racing dispatcher might)
    with db.begin() as conn:
        second = conn.execute(sa.text(
            "INSERT INTO crawl_runs (store_id, listing_ids, requested) VALUES (:s, '{}', 0) RETURNING id"),
            {"s": store.id}).scalar_one()

    claim = crawl.claim(db, second, me="w2:2", settings=test_settings)

    assert claim.action == "busy"
    assert store_row(db, store.id).current_run_id == first
    assert run_row(db, second).status == "queued"


def test_a_run_queued_longer_than_its_lease_is_abandoned_and_frees_the_store(db, queued_run, test_settings):
    store, run_id, ids = queued_run

    with clock.shifted(timedelta(hours=1)):  # an hour later, and the run never started
        decision, outcome = crawl.crawl_run(run_id, settings=test_settings, engine=db)

    assert decision.action == "stale"
    run = run_row(db, run_id)
    assert run.status == "abandoned" and "lease" in run.error
    row = store_row(db, store.id)
    assert (row.current_run_id, row.failure_streak, row.last_outcome) == (None, 0, "abandoned")
    assert outcome is not None and outcome.released == len(ids)


def test_a_running_run_nobody_holds_was_lost_and_its_targets_are_released(db, queued_run, test_settings):
    store, run_id, ids = queued_run
    crawl.claim(db, run_id, me="w1:1", settings=test_settings)
    spider_reports(db, run_id, status="running", ok=1, observed=ids[:1])
    with clock.shifted(timedelta(seconds=crawl.store_lease_ttl(test_settings) + 1)):  # w1 died: its lease ran out
        decision, _ = crawl.crawl_run(run_id, settings=test_settings, engine=db)
        with db.connect() as conn:
            frontier = {r.listing_id: r for r in conn.execute(sa.text(
                "SELECT listing_id, next_due_at - pricehound_now() AS due_in FROM user_crawler_priorities"))}

    assert decision.action == "lost"
    assert run_row(db, run_id).status == "abandoned"
    assert frontier[ids[0]].due_in > timedelta(minutes=50)       # observed: the spider's date
    assert all(timedelta(minutes=1) < frontier[i].due_in <= timedelta(minutes=2) for i in ids[1:])
    assert store_row(db, store.id).failure_streak == 0           # our loss, not the store's fault


# -- finish and the circuit breaker ---------------------------------------------------------------

def test_a_successful_run_closes_the_breaker_and_frees_the_store(db, queued_run, test_settings):
    store, run_id, ids = queued_run
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE stores SET failure_streak = 3, last_error = 'old'"))
    crawl.claim(db, run_id, me="w1:1", settings=test_settings)
    spider_reports(db, run_id, ok=3, observed=ids)

    outcome = crawl.finish(db, run_id)

    assert outcome is not None and (outcome.status, outcome.store_failure, outcome.released) == ("succeeded", False, 0)
    row = store_row(db, store.id)
    assert (row.failure_streak, row.paused_until, row.last_error, row.last_outcome) == (0, None, None, "succeeded")
    assert (row.crawl_lease_until, row.crawl_leased_by, row.current_run_id) == (None, None, None)
    assert row.last_crawl_at is not None


def test_a_crashed_spider_is_recorded_and_its_unobserved_targets_are_released(db, queued_run, test_settings):
    store, run_id, ids = queued_run
    crawl.claim(db, run_id, me="w1:1", settings=test_settings)
    spider_reports(db, run_id, status="running", ok=1, observed=ids[:1])

    outcome = crawl.finish(db, run_id, process_error="spider killed by signal SIGKILL")

    run = run_row(db, run_id)
    assert (run.status, run.error, run.finished_at is not None) == ("failed", "spider killed by signal SIGKILL", True)
    assert outcome is not None and outcome.store_failure and outcome.released == 2
    row = store_row(db, store.id)
    assert (row.failure_streak, row.last_outcome) == (1, "failed")
    assert "SIGKILL" in row.last_error


def test_a_store_failing_again_and_again_pauses_longer_each_time_then_recovers(db, stores, test_settings):
    store = stores("acme", min_interval=timedelta(minutes=2), max_interval=timedelta(minutes=30))
    with db.begin() as conn:
        ids = watch_many(conn, store, ["/a"])
    pauses = []
    for _ in range(6):
        with db.begin() as conn:  # the previous pause is over
            conn.execute(sa.text("UPDATE stores SET paused_until = NULL"))
            conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now()"))
        run_id = schedule.dispatch(db, test_settings).runs[0].run_id
        crawl.claim(db, run_id, me="w1:1", settings=test_settings)
        stats = '{"downloader/response_status_count/500": 3, "downloader/response_status_count/200": 0}'
        spider_reports(db, run_id, failed=1, observed=ids, stats=stats)  # every page a 500
        crawl.finish(db, run_id)
        pauses.append(store_row(db, store.id).pause_left)

    minutes = [round(p.total_seconds() / 60) for p in pauses]
    assert minutes == [2, 4, 8, 16, 30, 30]  # doubling from min_interval, capped at max_interval
    row = store_row(db, store.id)
    assert row.failure_streak == 6 and row.last_outcome == "failed"
    assert row.last_error == "1 of 1 pages failed (HTTP 500 x3)"

    with db.begin() as conn:
        conn.execute(sa.text("UPDATE stores SET paused_until = NULL"))
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now()"))
    run_id = schedule.dispatch(db, test_settings).runs[0].run_id
    crawl.claim(db, run_id, me="w1:1", settings=test_settings)
    spider_reports(db, run_id, ok=1, observed=ids)
    crawl.finish(db, run_id)
    assert (store_row(db, store.id).failure_streak, store_row(db, store.id).paused_until) == (0, None)


def test_a_run_where_most_pages_failed_is_a_store_failure_and_a_few_failures_are_not(db):
    assert crawl.is_store_failure("succeeded", ok=0, removed=0, failed=5)
    assert crawl.is_store_failure("succeeded", ok=2, removed=0, failed=3)
    assert not crawl.is_store_failure("succeeded", ok=9, removed=0, failed=1)
    assert not crawl.is_store_failure("succeeded", ok=0, removed=4, failed=0)
    assert crawl.is_store_failure("failed", ok=10, removed=0, failed=0)


def test_a_run_our_database_failed_leaves_the_store_breaker_as_it_was(db, queued_run, test_settings):
    store, run_id, ids = queued_run
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE stores SET failure_streak = 2, paused_until = NULL"))
    crawl.claim(db, run_id, me="w1:1", settings=test_settings)
    spider_reports(db, run_id, status="running", ok=1, observed=ids[:1])
    result = crawl.ProcessResult(returncode=crawl.EXIT_DATABASE, seconds=4.0)

    outcome = crawl.finish(db, run_id, process_error=result.error, database_failed=result.database_failed)

    assert result.database_failed and "database" in result.error
    assert outcome is not None and (outcome.status, outcome.store_failure, outcome.released) == ("failed", False, 2)
    row = store_row(db, store.id)
    assert (row.failure_streak, row.paused_until, row.last_outcome) == (2, None, "failed")
    assert "database" in row.last_error and row.current_run_id is None
    # a spider stopped by the task is never read as a database failure, whatever its exit code
    assert not crawl.ProcessResult(returncode=crawl.EXIT_DATABASE, seconds=1.0, stopped="time limit").database_failed


def test_finishing_twice_counts_one_failure(db, queued_run, test_settings):
    store, run_id, _ = queued_run
    crawl.claim(db, run_id, me="w1:1", settings=test_settings)
    crawl.finish(db, run_id, process_error="spider exited with code 1")
    crawl.finish(db, run_id, process_error="spider exited with code 1")
    assert store_row(db, store.id).failure_streak == 1


# -- the spider process -------------------------------------------------------------------------

SLEEPER = textwrap.dedent("""
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    print("grandchild", child.pid, flush=True)
    time.sleep(60)
""")


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] == "Z"  # a zombie waiting for init is as good as gone
    except FileNotFoundError:
        return True


def test_a_spider_over_its_time_limit_is_stopped_with_its_whole_process_group(db):
    result = crawl.run_spider([sys.executable, "-c", SLEEPER], time_limit=1.5, heartbeat_every=0.2,
                              renew=lambda: True, grace=1.0)
    assert result.stopped is not None and result.stopped.startswith("time limit")
    assert result.returncode is not None and result.returncode < 0
    grandchild = int(result.output_tail.split()[1])
    wait_for(lambda: gone(grandchild), timeout=10, message="the spider's own child to be killed")
    assert "time limit" in result.error


def test_a_spider_is_stopped_when_the_store_lease_is_lost(db):
    calls = []

    def renew() -> bool:
        calls.append(1)
        return len(calls) < 3

    result = crawl.run_spider([sys.executable, "-c", "import time; time.sleep(60)"], time_limit=60,
                              heartbeat_every=0.1, renew=renew, grace=1.0)
    assert result.stopped == "store lease lost"
    assert len(calls) == 3


def test_a_spider_exiting_non_zero_reports_its_code_and_last_output(db):
    result = crawl.run_spider([sys.executable, "-c", "import sys; print('boom: no such store'); sys.exit(4)"],
                              time_limit=30, heartbeat_every=0.5, renew=lambda: True)
    assert (result.returncode, result.stopped, result.error) == (4, None, "spider exited with code 4")
    assert "boom: no such store" in result.output_tail


def test_the_spider_dies_with_the_worker_process_that_started_it(tmp_path):
    log_path = tmp_path / "holder.log"
    holder_code = textwrap.dedent(f"""
        import sys
        from workers.crawl import run_spider
        run_spider([sys.executable, "-c", {SLEEPER!r}], time_limit=60, heartbeat_every=0.5,
                   renew=lambda: True)
    """)
    with open(log_path, "wb") as log_file:
        holder = subprocess.Popen([sys.executable, "-c", holder_code], cwd=REPO_ROOT, stdout=log_file,
                                  stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        line = wait_for(lambda: "grandchild" in log_path.read_text() and log_path.read_text(), timeout=30,
                        message="the spider to start")
        spider_pid = int(subprocess.check_output(["ps", "-o", "pid=", "--ppid", str(holder.pid)]).split()[0])
        grandchild = int(line.split("grandchild")[1].split()[0])
        holder.send_signal(signal.SIGKILL)  # the worker dies without cleaning up
        holder.wait(timeout=10)
        wait_for(lambda: gone(spider_pid), timeout=10, message="the spider to die with its worker")
        # its own children are not ours to chase: they lose their parent, exactly as with scrapy's
        os.kill(grandchild, signal.SIGKILL)
    finally:
        if holder.poll() is None:
            holder.kill()
