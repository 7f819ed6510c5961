"""Operators' command line: users, stores, watches, import, export and completion."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from tests.ops.conftest import STORE_HOST


def scalar(db, sql: str, **params):
    with db.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


# -- users ----------------------------------------------------------------------------------------

def test_users_list_json_and_admin_flag(cli, shop):
    assert cli("users", "add", "--email", "ops@example.com", "--admin").returncode == 0
    rows = cli("users", "list", "--json").json_lines()
    by_email = {r["email"]: r for r in rows}
    assert set(by_email) == {"ann@example.com", "bob@example.com", "ops@example.com"}
    assert by_email["ops@example.com"]["is_admin"] is True and by_email["ann@example.com"]["is_admin"] is False
    assert by_email["ann@example.com"]["watches"] == 2 and by_email["ann@example.com"]["verified_at"]
    admins = cli("users", "list", "--admins", "--json").json_lines()
    assert [r["email"] for r in admins] == ["ops@example.com"]
    text = cli("users", "list").stdout
    assert "ops@example.com" in text and "admin" in text
    assert cli("users", "admin", "ops@example.com", "--revoke").returncode == 0
    assert cli("users", "admin", "ann@example.com").returncode == 0
    assert [r["email"] for r in cli("users", "list", "--admins", "--json").json_lines()] == ["ann@example.com"]


def test_users_disable_ends_sessions_and_enable_undoes_it(cli, shop, db):
    from web import security

    ann = scalar(db, "SELECT id FROM users WHERE email = 'ann@example.com'")
    with db.begin() as conn:
        token = security.open_session(conn, ann)
    result = cli("users", "disable", "Ann@Example.com")
    assert result.returncode == 0 and "1 session(s) ended" in result.stdout
    assert scalar(db, "SELECT status FROM users WHERE id = :id", id=ann) == "disabled"
    with db.connect() as conn:
        assert security.load_session(conn, token) is None
    assert [r["email"] for r in cli("users", "list", "--status", "disabled", "--json").json_lines()] == [
        "ann@example.com"]
    assert "already disabled" in cli("users", "disable", "ann@example.com").stdout
    assert cli("users", "enable", "ann@example.com").returncode == 0
    assert scalar(db, "SELECT status FROM users WHERE id = :id", id=ann) == "active"
    missing = cli("users", "disable", "nobody@example.com")
    assert missing.returncode == 2 and "users add" in missing.stderr


# -- stores ---------------------------------------------------------------------------------------

def test_paused_store_is_not_dispatched_shows_in_status_and_resumes(cli, shop, db):
    from workers import schedule

    result = cli("stores", "pause", "local", "--reason", "site redesign")
    assert result.returncode == 0 and "paused" in result.stdout
    assert "already paused" in cli("stores", "pause", "local").stdout
    with db.begin() as conn:
        runs = schedule.lease_due(conn, lease_seconds=60)
    assert [r.store_slug for r in runs] == ["other"]  # local's due pages wait
    status = cli("status", "--json")
    schedule_rows = {s["slug"]: s for s in json.loads(status.stdout)["store_schedule"]}
    assert schedule_rows["local"]["paused_at"] and schedule_rows["other"]["paused_at"] is None
    assert "by operator" in cli("status").stdout
    crawl = cli("crawl", "local", "--now")
    assert crawl.returncode == 2 and "stores resume local" in crawl.stderr
    assert cli("stores", "resume", "local").returncode == 0
    with db.begin() as conn:
        runs = schedule.lease_due(conn, lease_seconds=60)
    assert [r.store_slug for r in runs] == ["local"]
    assert scalar(db, "SELECT paused_reason FROM stores WHERE slug = 'local'") is None


def test_stores_remove_needs_yes_says_what_it_deletes_and_waits_for_a_running_crawl(cli, shop, db):
    from workers import schedule

    with db.begin() as conn:
        runs = schedule.lease_due(conn, lease_seconds=600, store_id=shop[0].id)
    busy = cli("stores", "remove", "local", "--yes")
    assert busy.returncode == 2 and "being crawled" in busy.stderr
    with db.begin() as conn:  # the crawl finished
        conn.execute(sa.text("UPDATE stores SET crawl_lease_until = NULL, current_run_id = NULL WHERE id = :s"),
                     {"s": runs[0].store_id})
    refused = cli("stores", "remove", "local")
    assert refused.returncode == 2
    assert "2 listings, 2 watches" in refused.stderr and "1 crawl runs" in refused.stderr and "--yes" in refused.stderr
    assert scalar(db, "SELECT count(*) FROM stores") == 2
    done = cli("stores", "remove", "local", "--yes")
    assert done.returncode == 0 and "2 listings, 2 watches" in done.stdout
    assert scalar(db, "SELECT count(*) FROM stores") == 1
    assert scalar(db, "SELECT count(*) FROM shopping_list_items") == 1
    assert cli("stores", "remove", "nope", "--yes").returncode == 2


# -- watches --------------------------------------------------------------------------------------

def test_watch_list_filters_and_json(cli, shop):
    rows = cli("watch", "list", "--json").json_lines()
    assert len(rows) == 3
    ann = cli("watch", "list", "--email", "ann@example.com", "--json").json_lines()
    assert {r["url"] for r in ann} == {f"http://{STORE_HOST}/p/1", f"http://{STORE_HOST}/p/2"}
    assert {r["target_price"] for r in ann} == {"9.50", None}  # money as a decimal string
    other = cli("watch", "list", "--store", "other", "--json").json_lines()
    assert [r["email"] for r in other] == ["bob@example.com"]
    assert cli("watch", "list", "--store", "nope").returncode == 2
    assert f"http://{STORE_HOST}/p/1" in cli("watch", "list").stdout


def test_watch_remove_by_id_scoped_to_a_user(cli, shop, db):
    first, _second, third = shop[1]
    wrong_owner = cli("watch", "remove", str(third.id), "--email", "ann@example.com")
    assert wrong_owner.returncode == 2 and "no watch of ann@example.com" in wrong_owner.stderr
    assert scalar(db, "SELECT count(*) FROM shopping_list_items") == 3
    done = cli("watch", "remove", str(first.id), str(third.id))
    assert done.returncode == 0 and f"{first.id}, {third.id}" in done.stdout
    assert scalar(db, "SELECT count(*) FROM shopping_list_items") == 1
    # the frontier follows: nobody watches page 1 any more
    assert scalar(db, "SELECT watchers FROM user_crawler_priorities WHERE listing_id = :id",
                  id=first.listing_id) == 0


# -- import ---------------------------------------------------------------------------------------

IMPORT_CSV = f"""url,target,kinds
http://{STORE_HOST}/p/10,19.99,sale;sold_out
# a comment line
http://{STORE_HOST}/p/11,,
http://unknown-shop.example/p/1,5,
http://{STORE_HOST}/p/12,-3,
http://{STORE_HOST}/p/13,,sale;teleport
ftp://{STORE_HOST}/p/14,,
"""


def test_import_refuses_each_bad_line_with_its_reason_and_writes_nothing_unless_keep_valid(cli, shop, db, tmp_path):
    path = tmp_path / "watches.csv"
    path.write_text(IMPORT_CSV)
    before = scalar(db, "SELECT count(*) FROM shopping_list_items")
    listings = scalar(db, "SELECT count(*) FROM store_listings")
    result = cli("watch", "import", str(path), "--email", "bob@example.com", "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    lines = {r["line"]: r for r in report["lines"]}
    assert report["written"] is False and report["accepted"] == 2 and report["refused"] == 4
    assert lines[2]["accepted"] and lines[4]["accepted"]
    assert "not on any store" in lines[5]["reason"]
    assert "must not be negative" in lines[6]["reason"]
    assert "teleport" in lines[7]["reason"]
    assert "ftp" in lines[8]["reason"] or "scheme" in lines[8]["reason"]
    # atomic: the accepted lines were not written either, not even their listings
    assert scalar(db, "SELECT count(*) FROM shopping_list_items") == before
    assert scalar(db, "SELECT count(*) FROM store_listings") == listings
    # --keep-valid writes the accepted lines, in one transaction
    result = cli("watch", "import", str(path), "--email", "bob@example.com", "--keep-valid")
    assert result.returncode == 0, result.stderr
    assert "2 watches written; 4 lines refused" in result.stdout
    assert "line 5: refused" in result.stdout
    with db.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT sl.url, i.target_price, i.notify_kinds FROM shopping_list_items i "
            "JOIN store_listings sl ON sl.id = i.listing_id JOIN shopping_lists l ON l.id = i.list_id "
            "JOIN users u ON u.id = l.user_id WHERE u.email = 'bob@example.com' ORDER BY sl.url")).all()
    by_url = {r.url: r for r in rows}
    assert by_url[f"http://{STORE_HOST}/p/10"].target_price == Decimal("19.99")
    assert by_url[f"http://{STORE_HOST}/p/10"].notify_kinds == ["sale", "sold_out"]
    assert f"http://{STORE_HOST}/p/11" in by_url


def test_import_plain_urls_all_good_is_written(cli, shop, db, tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text(f"http://{STORE_HOST}/p/20\n\nhttp://{STORE_HOST}/p/21?utm_source=x\nhttp://{STORE_HOST}/p/20\n")
    dry = cli("watch", "import", str(path), "--email", "bob@example.com", "--dry-run")
    assert dry.returncode == 0 and "dry run: nothing written" in dry.stdout
    assert scalar(db, "SELECT count(*) FROM store_listings WHERE url LIKE '%/p/2_'") == 0
    result = cli("watch", "import", str(path), "--email", "bob@example.com")
    assert result.returncode == 0, result.stderr
    assert "same page as line 1" in result.stdout and "3 watches written" in result.stdout
    assert scalar(db, "SELECT count(*) FROM store_listings WHERE url LIKE '%/p/2_'") == 2


def test_import_refuses_the_whole_file_for_an_unknown_user_or_bad_header(cli, shop, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(f"http://{STORE_HOST}/p/1\n")
    assert "users add" in cli("watch", "import", str(path), "--email", "zed@example.com").stderr
    path.write_text(f"url,price\nhttp://{STORE_HOST}/p/1,3\n")
    result = cli("watch", "import", str(path), "--email", "bob@example.com")
    assert result.returncode == 2 and "unknown column(s) price" in result.stderr
    assert "cannot read" in cli("watch", "import", str(tmp_path / "missing"), "--email", "bob@example.com").stderr
    path.write_text(f"url,target\nhttp://{STORE_HOST}/p/1,\x003\n")
    result = cli("watch", "import", str(path), "--email", "bob@example.com")
    assert result.returncode == 2 and "line 2: refused: target price must be a number" in result.stdout
    path.write_text("url\n" + "x" * 200_000 + "\n")  # a field beyond what the csv module reads
    result = cli("watch", "import", str(path), "--email", "bob@example.com")
    assert result.returncode == 2 and "not readable CSV" in result.stderr
    assert cli("watch", "remove", str(2**63), "--email", "bob@example.com").returncode == 2


# -- history export -------------------------------------------------------------------------------

def _history(db, shop) -> None:
    """Three history rows on local/p/1 and one on other/p/9, at known times."""
    first, _second, third = shop[1]
    base = datetime(2026, 3, 1, tzinfo=timezone.utc)
    rows = [(first.listing_id, base, "10.00", "EUR"), (first.listing_id, base + timedelta(days=1), "9.00", "EUR"),
            (first.listing_id, base + timedelta(days=2), "8.00", "EUR"), (third.listing_id, base, "5.00", "USD")]
    with db.begin() as conn:
        for listing, at, price, cur in rows:
            conn.execute(sa.text(
                "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
                "VALUES (:l, :at, :p, :c, 'in_stock')"), {"l": listing, "at": at, "p": price, "c": cur})


def test_history_export_filters_by_store_listing_and_time(cli, shop, db, tmp_path):
    _history(db, shop)
    everything = cli("history", "export", "--format", "jsonl")
    assert everything.returncode == 0 and "exported 4 history rows" in everything.stderr
    rows = everything.json_lines()
    assert [r["price"] for r in rows] == ["10.00", "5.00", "9.00", "8.00"]  # oldest first
    local = cli("history", "export", "--format", "jsonl", "--store", "local").json_lines()
    assert {r["store"] for r in local} == {"local"} and len(local) == 3
    window = cli("history", "export", "--format", "jsonl", "--listing", str(shop[1][0].listing_id),
                 "--since", "2026-03-02", "--until", "2026-03-03T00:00:00Z").json_lines()
    assert [r["price"] for r in window] == ["9.00"]
    out = tmp_path / "h.csv"
    result = cli("history", "export", "--store", "other", "-o", str(out))
    assert result.returncode == 0 and f"to {out}" in result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("observed_at,listing_id,store,url,price,currency")
    assert len(lines) == 2 and ",5.00,USD," in lines[1]
    assert cli("history", "export", "--store", "nope").returncode == 2
    assert cli("history", "export", "--since", "yesterday-ish").returncode == 2


def test_history_export_reads_through_a_server_side_cursor(shop, db):
    """The rows stream: while they are being read a named cursor is open on the server, and it
    hands them over a batch at a time."""
    from pricehound import history_export

    _history(db, shop)
    with db.connect() as conn:
        stream = history_export.rows(conn, batch=1)
        first = next(stream)
        open_cursors = conn.execute(sa.text(
            "SELECT count(*) FROM pg_cursors WHERE statement ILIKE 'declare%price_history_log%'")).scalar_one()
        rest = list(stream)
    assert open_cursors == 1
    assert first["price"] == Decimal("10.00") and len(rest) == 3


# -- completion and --json everywhere ---------------------------------------------------------------

def test_completion_prints_the_bash_snippet(cli):
    result = cli("completion", "bash")
    assert result.returncode == 0 and "pricehound" in result.stdout and "complete" in result.stdout


def test_the_command_line_works_without_argcomplete(cli, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "argcomplete", None)  # import fails as if not installed
    monkeypatch.setenv("_ARGCOMPLETE", "1")
    result = cli("completion", "bash")
    assert result.returncode == 1 and "pricehound[completion]" in result.stderr


def test_every_list_command_has_json():
    from pricehound.cli import build_parser

    parser = build_parser()
    lists = []

    def walk(p, path):
        for action in p._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, child in action.choices.items():
                    walk(child, [*path, name])
        if path and path[-1] in ("list", "held"):
            lists.append((path, any("--json" in a.option_strings for a in p._actions)))

    walk(parser, [])
    assert len(lists) >= 4
    assert all(has for _path, has in lists), [p for p, has in lists if not has]


def test_tab_completion_answers_with_the_matching_actions(env):
    """What bash gets back through argcomplete's protocol for `pricehound stores pa<TAB>`."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    line = "pricehound stores pa"
    completion_env = {**env, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
                      "_ARGCOMPLETE_IFS": "\n"}
    proc = subprocess.run(["bash", "-c", f"'{sys.executable}' -m pricehound.cli 8>&1 9>/dev/null"],
                          cwd=REPO_ROOT, env=completion_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["pause"]
