"""`pricehound crawl STORE --wait`: one store's crawl from page to alert in one command, and
`pricehound explain LISTING` afterwards; the store is always released."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricehound import catalog
from tests.conftest import REPO_ROOT
from tests.crawl.conftest import admin_set
from tests.pipelines.helpers import rows, scalar

FAST_ENV = {"PRICEHOUND_DOWNLOAD_TIMEOUT": "2", "PRICEHOUND_EXTRACT_WORKERS": "0",
            "PRICEHOUND_ALERT_BATCH_WINDOW": "0"}


def store_is_free(db, store_id: int) -> bool:
    return scalar(db, "SELECT current_run_id IS NULL AND crawl_lease_until IS NULL FROM stores WHERE id = :s",
                  s=store_id)


def watcher(db, email: str, url: str, *, verified: bool = True, **watch) -> int:
    with db.begin() as conn:
        catalog.add_user(conn, email=email, verified=verified)
        return catalog.add_watch(conn, email=email, url=url, **watch).id


def test_crawl_wait_reports_each_page_the_events_and_who_is_owed_what(db, shops, targets, run_cli):
    t = targets("northwind", ["1001", "1004", "1003"])
    url = rows(db, "SELECT url FROM store_listings WHERE id = :l", l=t.listing_for("1004"))[0]["url"]
    ann = watcher(db, "ann@example.com", url, target_price="15.00")
    watcher(db, "bob@example.com", url, verified=False)
    admin_set(shops, "northwind", "1003", status="error500")

    first = run_cli("crawl", "northwind", "--now", "--wait", "--json", extra_env=FAST_ENV)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["mode"].startswith("inline") and report["run"]["status"] == "succeeded"
    by_listing = {item["listing_id"]: item for item in report["listings"]}
    assert sorted(by_listing) == sorted(t.listing_ids)  # every target of the run, observed or not
    ok = by_listing[t.listing_for("1004")]
    assert ok["kind"] == "ok" and ok["availability"] == "in_stock" and Decimal(ok["price"]) > 0
    assert ok["source"] and ok["status_code"] == 200
    assert ok["rules"]["price"].startswith("price.") and ok["rules"]["observation"] == "observe.product"
    failed = by_listing[t.listing_for("1003")]
    assert (failed["kind"], failed["reason"]) == ("failed", "http_500")
    assert report["events"] == [] and report["owed"] == []  # a first reading is history, not news
    assert store_is_free(db, t.store_id)

    admin_set(shops, "northwind", "1004", price="14.99")
    halved = (shops.product("northwind", "1001").price / 2).quantize(Decimal("0.01"))
    admin_set(shops, "northwind", "1001", price=str(halved))  # a move this large waits for a second reading
    second = run_cli("crawl", "northwind", "--now", "--wait", "--json", extra_env=FAST_ENV)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    held_back = {item["listing_id"]: item for item in report["listings"]}[t.listing_for("1001")]
    assert held_back["pending_at"] and Decimal(held_back["pending_price"]) == halved
    [event] = report["events"]
    assert (event["kind"], event["listing_id"], event["new_price"]) == ("price_drop", t.listing_for("1004"), "14.99")
    assert event["evaluated_at"] is not None
    [owed] = report["owed"]
    assert (owed["kind"], owed["item_id"], owed["email"], owed["event_id"]) == (
        "target_reached", ann, "ann@example.com", event["id"])
    assert owed["status"] in ("pending", "sending", "sent")
    [held] = report["not_told"]
    assert (held["email"], held["reason"]) == ("bob@example.com", "address not verified")
    assert store_is_free(db, t.store_id)

    text = run_cli("explain", str(t.listing_for("1004")))
    assert text.returncode == 0, text.stderr
    assert "price_drop" in text.stdout and "target_reached" in text.stdout and "ann@example.com" in text.stdout
    assert "address not verified" in text.stdout and "rules: " in text.stdout and "observation=observe.product" in text.stdout
    explained = json.loads(run_cli("explain", url, "--json").stdout)
    assert [o["price"] for o in explained["observations"]][:2] == ["14.99", ok["price"]]  # newest first
    assert [e["kind"] for e in explained["events"]] == ["price_drop"]


def test_crawl_wait_prints_a_readable_report(db, shops, targets, run_cli):
    t = targets("northwind", ["1001"])
    out = run_cli("crawl", "northwind", "--now", "--wait", extra_env=FAST_ENV)
    assert out.returncode == 0, out.stderr
    assert "crawl run" in out.stdout and "succeeded" in out.stdout
    assert f"#{t.listing_ids[0]}" in out.stdout and "ok" in out.stdout
    assert "events written (0)" in out.stdout and "alerts owed (0)" in out.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_crawl_wait_finishes_the_run_and_releases_the_store(db, shops, targets, env, sig):
    t = targets("northwind", ["1003"])
    admin_set(shops, "northwind", "1003", status="timeout")  # the page holds the connection
    proc = subprocess.Popen(
        [sys.executable, "-m", "pricehound.cli", "crawl", "northwind", "--now", "--wait"],
        cwd=REPO_ROOT, env={**env, "PRICEHOUND_DOWNLOAD_TIMEOUT": "60", "PRICEHOUND_EXTRACT_WORKERS": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while scalar(db, "SELECT count(*) FROM crawl_runs WHERE store_id = :s AND status = 'running'",
                     s=t.store_id) == 0:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the crawl never started"
            time.sleep(0.2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    run = rows(db, "SELECT status, error FROM crawl_runs WHERE store_id = :s", s=t.store_id)
    assert [r["status"] for r in run] == ["failed"]
    assert store_is_free(db, t.store_id)
    # the spider was stopped with the command: nobody is left crawling
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT crawl_leased_by FROM stores WHERE id = :s"), {"s": t.store_id}).scalar() is None


def test_explain_refuses_an_unknown_listing_with_one_line(db, run_cli):
    for what in ("999", "https://shop.example/p/nothing", "9" * 30, "https://shop.example/p/\x01", " "):
        out = run_cli("explain", what)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, (what, out.stderr)
