"""The command line as a user runs it: subprocesses against the real test database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


def count(db, table: str) -> int:
    with db.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.fixture()
def local_store(db, run_cli):
    result = run_cli("stores", "add", "--slug", "demo", "--name", "Demo", "--domains",
                     "127.0.0.1:8101,localhost", "--local")
    assert result.returncode == 0, result.stderr
    result = run_cli("stores", "add", "--slug", "acme", "--domains", "acme.example,localhost.acme.example")
    assert result.returncode == 0, result.stderr
    result = run_cli("users", "add", "--email", "ann@example.com", "--verified")
    assert result.returncode == 0, result.stderr
    return db


def test_help_lists_every_command_with_a_description(run_cli):
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("initdb", "stores", "users", "watch", "status"):
        assert command in result.stdout


def test_initdb_is_harmless_to_repeat(db, run_cli):
    for _ in range(2):
        result = run_cli("initdb")
        assert result.returncode == 0, result.stderr
        assert "schema version" in result.stdout


def test_stores_add_and_list(db, run_cli):
    assert run_cli("stores", "add", "--slug", "acme", "--domains", "Acme.example,shop.acme.example",
                   "--delay", "2.5", "--concurrency", "3", "--currency", "eur").returncode == 0
    listing = run_cli("stores", "list")
    assert "acme" in listing.stdout and "acme.example, shop.acme.example" in listing.stdout
    assert "EUR" in listing.stdout and "2.50" in listing.stdout


def test_watch_add_creates_listing_watch_and_priority_row(local_store, run_cli):
    db = local_store
    result = run_cli("watch", "add", "--email", "Ann@Example.com", "--url",
                     "http://127.0.0.1:8101/products/kettle?utm_source=mail#reviews",
                     "--target-price", "19.99", "--min-drop-percent", "10", "--notify", "sale,sold_out")
    assert result.returncode == 0, result.stderr
    with db.connect() as conn:
        listing = conn.execute(sa.text("SELECT * FROM store_listings")).one()
        item = conn.execute(sa.text("SELECT * FROM shopping_list_items")).one()
        prio = conn.execute(sa.text("SELECT * FROM user_crawler_priorities")).one()
    assert listing.url == "http://127.0.0.1:8101/products/kettle"
    assert str(item.target_price) == "19.99" and item.notify_kinds == ["sale", "sold_out"]
    assert prio.listing_id == listing.id and prio.watchers == 1
    # the same watch again updates it; a second watcher of the URL bumps the one frontier row
    assert run_cli("watch", "add", "--email", "ann@example.com", "--url",
                   "http://127.0.0.1:8101/products/kettle", "--target-price", "15").returncode == 0
    assert run_cli("users", "add", "--email", "bob@example.com").returncode == 0
    assert run_cli("watch", "add", "--email", "bob@example.com", "--url",
                   "http://127.0.0.1:8101/products/kettle").returncode == 0
    assert count(db, "store_listings") == 1
    assert count(db, "shopping_list_items") == 2
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT watchers FROM user_crawler_priorities")).scalar_one() == 2


BAD_WATCHES = {
    "no store has the domain": ["--url", "https://unknown-shop.example/p/1"],
    "file scheme": ["--url", "file:///etc/passwd"],
    "javascript scheme": ["--url", "javascript:alert(1)"],
    "malformed URL": ["--url", "http://[::1"],
    "no host": ["--url", "http:///products/1"],
    "credentials in URL": ["--url", "http://user:pw@acme.example/p"],
    "IP literal on a non-local store": ["--url", "http://10.0.0.5/p"],
    "decimal IP literal": ["--url", "http://2130706433/p"],
    "localhost on a non-local store": ["--url", "http://localhost.acme.example/p"],
    "negative target price": ["--url", "http://127.0.0.1:8101/p", "--target-price", "-1"],
    "non-numeric target price": ["--url", "http://127.0.0.1:8101/p", "--target-price", "cheap"],
    "drop percent above 100": ["--url", "http://127.0.0.1:8101/p", "--min-drop-percent", "150"],
    "unknown alert kind": ["--url", "http://127.0.0.1:8101/p", "--notify", "sale,telepathy"],
    "cheapest store on a URL watch": ["--url", "http://127.0.0.1:8101/p", "--notify", "sale,cheapest_store"],
    "port of another store on the same address": ["--url", "http://127.0.0.1:9999/p"],
}


@pytest.mark.parametrize("extra", BAD_WATCHES.values(), ids=BAD_WATCHES.keys())
def test_bad_watch_input_exits_2_with_a_message_and_writes_nothing(local_store, run_cli, extra):
    result = run_cli("watch", "add", "--email", "ann@example.com", *extra)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("pricehound: error:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert count(local_store, "store_listings") == 0
    assert count(local_store, "shopping_list_items") == 0
    assert count(local_store, "user_crawler_priorities") == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com", "sp ace@example.com"])
def test_malformed_email_is_refused(db, run_cli, email):
    result = run_cli("users", "add", "--email", email)
    assert result.returncode == 2
    assert "not an email address" in result.stderr
    assert count(db, "users") == 0


def test_watch_for_unknown_user_is_refused(local_store, run_cli):
    result = run_cli("watch", "add", "--email", "nobody@example.com", "--url", "http://127.0.0.1:8101/p")
    assert result.returncode == 2 and "no user" in result.stderr
    assert count(local_store, "store_listings") == 0


@pytest.mark.parametrize("args", [
    ["stores", "add", "--slug", "Bad Slug", "--domains", "x.example"],
    ["stores", "add", "--slug", "ok", "--domains", "not a domain"],
    ["stores", "add", "--slug", "ok", "--domains", "x.example", "--currency", "dollars"],
    ["stores", "add", "--slug", "ok", "--domains", "x.example", "--selectors", "[1]"],
    ["stores", "add", "--slug", "ok", "--domains", "x.example", "--concurrency", "0"],
])
def test_bad_store_input_exits_2_and_writes_nothing(db, run_cli, args):
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert count(db, "stores") == 0


def test_status_counts_what_is_there(local_store, run_cli):
    assert run_cli("watch", "add", "--email", "ann@example.com", "--url", "http://127.0.0.1:8101/p").returncode == 0
    result = run_cli("status", "--json")
    assert result.returncode == 0, result.stderr
    import json

    counts = json.loads(result.stdout)
    assert counts["stores"] == 2 and counts["watches"] == 1 and counts["due_targets"] == 1


def test_unreachable_database_is_reported_in_one_line(run_cli):
    result = run_cli("status", extra_env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"})
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr


def test_status_on_a_database_without_the_schema_says_to_run_initdb(run_cli, pg_admin_url):
    import uuid

    from pricehound.db import normalise_url

    name = f"pricehound_empty_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_url(pg_admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.engine.make_url(normalise_url(pg_admin_url)).set(database=name)
        plain = url.render_as_string(hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
        result = run_cli("status", extra_env={"DATABASE_URL": plain})
        assert result.returncode == 1
        assert "pricehound initdb" in result.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
