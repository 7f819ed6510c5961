"""The command line without surprises: `stores add` refuses a store no watch could use, and
`watch add` on an existing watch changes only what it is given and says so."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pricehound.cli import main

HOST = "127.0.0.1:8765"


@pytest.mark.parametrize("domains,why", [
    ("127.0.0.1", "IP address"), ("10.1.2.3:8080", "IP address"), ("[::1]", "domain name"),
    ("localhost", "local network"), ("shop.localhost", "local network"), ("nas.lan", "local network"),
    ("printer.internal", "local network"), ("shop.example,192.168.0.10", "IP address"), ("2130706433", "IP address"),
])
def test_stores_add_refuses_local_hosts_without_local(db, capsys, domains, why):
    assert main(["stores", "add", "--slug", "acme", "--domains", domains]) == 2
    assert why in capsys.readouterr().err
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stores")).scalar_one() == 0


def test_stores_add_takes_local_hosts_with_local(db):
    assert main(["stores", "add", "--slug", "acme", "--domains", "127.0.0.1:8101,localhost", "--local"]) == 0


@pytest.mark.parametrize("argv,why", [
    (["--currency", "XYZ"], "ISO 4217"), (["--currency", "EURO"], "ISO 4217"),
    (["--selectors", '{"prize": ".price"}'], "unknown selector key"),
    (["--selectors", '{"price": 3}'], "CSS or XPath"),
    (["--selectors", '{"free_items": "yes"}'], "true or false"),
])
def test_stores_add_refuses_unusable_currency_and_selectors(db, capsys, argv, why):
    assert main(["stores", "add", "--slug", "acme", "--domains", "acme.example", *argv]) == 2
    assert why in capsys.readouterr().err
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM stores")).scalar_one() == 0


def test_stores_add_takes_known_selectors(db):
    assert main(["stores", "add", "--slug", "acme", "--domains", "acme.example", "--currency", "kwd",
                 "--selectors", '{"price": ".price", "availability": "//p[@class=\'stock\']", "free_items": true}']) == 0


@pytest.fixture()
def watched(db):
    assert main(["stores", "add", "--slug", "local", "--domains", HOST, "--local"]) == 0
    assert main(["users", "add", "--email", "ann@example.com", "--verified"]) == 0
    assert main(["watch", "add", "--email", "ann@example.com", "--url", f"http://{HOST}/p/1",
                 "--target-price", "49.99", "--min-drop-percent", "10", "--notify", "sale,sold_out"]) == 0


def _watch(db):
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM shopping_list_items")).one()


def test_watch_add_on_an_existing_watch_changes_only_the_given_option(db, watched, capsys):
    capsys.readouterr()
    assert main(["watch", "add", "--email", "ann@example.com", "--url", f"http://{HOST}/p/1/",
                 "--notify", "sale,back_in_stock"]) == 0
    out = capsys.readouterr().out
    assert "already watched" in out and "notify_kinds sale,sold_out -> sale,back_in_stock" in out
    assert "target_price" not in out
    row = _watch(db)
    assert str(row.target_price) == "49.99" and str(row.min_drop_percent) == "10.00"
    assert list(row.notify_kinds) == ["sale", "back_in_stock"]


def test_watch_add_with_nothing_new_says_so_and_a_paused_watch_stays_paused(db, watched, capsys):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE shopping_list_items SET active = false"))
    capsys.readouterr()
    assert main(["watch", "add", "--email", "ann@example.com", "--url", f"https://{HOST}/p/1",
                 "--target-price", "49.99"]) == 0
    out = capsys.readouterr().out
    assert "nothing changed" in out and "paused" in out
    assert _watch(db).active is False
