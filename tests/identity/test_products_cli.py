"""`pricehound products`, `rates` and product watches, as an operator and a user run them (in
process, against the real test database; the subprocess path is the same main())."""

from __future__ import annotations

import sqlalchemy as sa

from pricehound import identity
from pricehound.cli import main
from tests.identity.conftest import make_listing

ECB_DAILY = ("Date, USD, JPY, GBP, \n"
             "05 December 2026, 1.0500, 158.00, 0.8500, \n")


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _linked_kettles(db, stores):
    with db.begin() as conn:
        a = make_listing(conn, stores["alpha"], "k", title="Acme Kettle 1.7 l", gtin="4006381333931", price="40.00")
        b = make_listing(conn, stores["beta"], "k", title="Wasserkocher Acme", gtin="4006381333931", price="38.00")
        c = make_listing(conn, stores["gamma"], "k2", title="Acme Kettle 1.7 l", price="35.00")
        identity.refresh_evidence(conn, [a, b, c])
        identity.link_listings(conn, [a, b, c])
        pid = conn.execute(sa.text("SELECT product_id FROM store_listings WHERE id = :l"), {"l": a}).scalar()
    return pid, a, b, c


def test_operator_links_unlinks_merges_and_splits(db, stores, capsys):
    pid, a, b, c = _linked_kettles(db, stores)
    code, out, _ = cli(capsys, "products", "link", str(c), str(pid))
    assert code == 0 and "kept over later crawls" in out
    code, out, _ = cli(capsys, "products", "unlink", str(b))
    assert code == 0
    # a later link run over everything changes neither decision
    code, out, _ = cli(capsys, "products", "relink", "--force")
    assert code == 0
    with db.connect() as conn:
        got = dict(conn.execute(sa.text("SELECT id, product_id FROM store_listings")).all())
    assert got[c] == pid and got[b] is None
    code, out, _ = cli(capsys, "products", "add", "--name", "Acme Kettle (dup)", "--brand", "Acme")
    dup = int(out.split("#")[1].split()[0])
    cli(capsys, "products", "link", str(b), str(dup))
    code, out, _ = cli(capsys, "products", "merge", str(pid), str(dup))
    assert code == 0 and "1 listing(s) moved" in out
    code, out, _ = cli(capsys, "products", "split", str(pid), "--listings", str(c), "--name", "Acme Kettle other")
    assert code == 0
    with db.connect() as conn:
        got = dict(conn.execute(sa.text("SELECT id, product_id FROM store_listings")).all())
    assert got[a] == got[b] == pid and got[c] not in (None, pid)


def test_products_list_search_and_show(db, stores, capsys):
    pid, *_ = _linked_kettles(db, stores)
    code, out, _ = cli(capsys, "products", "list", "kettle")
    assert code == 0 and f"#{pid}" in out
    code, out, _ = cli(capsys, "products", "list", "4006381333931")
    assert f"#{pid}" in out
    code, out, _ = cli(capsys, "products", "show", str(pid))
    assert code == 0 and "gtin_match" in out and "<- cheapest" in out and "beta: 38.00 EUR" in out


def test_bad_catalogue_input_exits_2_with_what_to_do(db, stores, capsys):
    code, _, err = cli(capsys, "products", "add", "--name", "Kettle", "--gtin", "4006381333932")
    assert code == 2 and "check digit" in err
    code, _, err = cli(capsys, "products", "link", "1", "999")
    assert code == 2
    code, _, err = cli(capsys, "products", "merge", "5", "5")
    assert code == 2


def test_rates_load_reads_the_ecb_daily_file(db, tmp_path, capsys):
    path = tmp_path / "eurofxref.csv"
    path.write_text(ECB_DAILY)
    code, out, _ = cli(capsys, "rates", "load", str(path))
    assert code == 0 and "3 rate(s)" in out
    with db.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT currency, per_eur FROM exchange_rates")).all())
    assert str(rows["USD"]) == "1.0500" and str(rows["JPY"]) == "158.00"
    bad = tmp_path / "bad.csv"
    bad.write_text("hello,world\n1,2\n")
    assert cli(capsys, "rates", "load", str(bad))[0] == 2


def test_watch_add_product_at_stores_follows_linked_listings(db, stores, capsys):
    pid, a, b, c = _linked_kettles(db, stores)
    cli(capsys, "users", "add", "--email", "ann@example.com", "--verified")
    code, out, _ = cli(capsys, "watch", "add", "--email", "ann@example.com", "--gtin", "4006381333931",
                       "--stores", "alpha,beta")
    assert code == 0 and f"product #{pid}" in out and "alpha: found" in out
    with db.connect() as conn:
        frontier = dict(conn.execute(sa.text("SELECT listing_id, watchers FROM user_crawler_priorities")).all())
        kinds = conn.execute(sa.text("SELECT notify_kinds FROM shopping_list_items")).scalar()
    assert frontier == {a: 1, b: 1}  # gamma is not a preferred store
    assert "cheapest_store" in kinds


def test_a_product_watch_by_name_at_a_store_without_it_says_not_found_yet(db, stores, capsys):
    cli(capsys, "users", "add", "--email", "ann@example.com", "--verified")
    code, out, _ = cli(capsys, "watch", "add", "--email", "ann@example.com", "--product", "Zenit Blender 2000",
                       "--stores", "alpha,gamma")
    assert code == 0 and "a new product" in out
    assert "alpha: not found at alpha yet" in out and "gamma: not found at gamma yet" in out
    code, _, err = cli(capsys, "watch", "add", "--email", "ann@example.com", "--product", "x", "--stores", "nope")
    assert code == 2 and "no store nope" in err
    code, _, err = cli(capsys, "watch", "add", "--email", "ann@example.com")
    assert code == 2 and "--product" in err


def test_linking_a_listing_to_a_watched_product_brings_it_into_the_frontier(db, stores, capsys):
    cli(capsys, "users", "add", "--email", "ann@example.com", "--verified")
    cli(capsys, "watch", "add", "--email", "ann@example.com", "--gtin", "4006381333931")
    with db.begin() as conn:
        lid = make_listing(conn, stores["beta"], "found", title="Acme Kettle", gtin="4006381333931")
        identity.refresh_evidence(conn, [lid])
        identity.link_listings(conn, [lid])
        row = conn.execute(sa.text("SELECT watchers FROM user_crawler_priorities WHERE listing_id = :l"),
                           {"l": lid}).scalar()
    assert row == 1
