"""The crawl's writer keeps what identifies each product and links listings as it goes."""

from __future__ import annotations

import sqlalchemy as sa

from pipelines.flush import flush_rows, row_from_observation
from tests.pipelines.helpers import add_listings, add_store, ok


def _flush(db, observations):
    with db.begin() as conn:
        return flush_rows(conn, [row_from_observation(o) for o in observations], run_id=None, confirm=False)


def test_a_crawl_stores_brand_and_part_number_and_links_listings_of_one_gtin(db):
    a = add_store(db, "alpha", ["alpha.example"], is_local=False)
    b = add_store(db, "beta", ["beta.example"], is_local=False)
    [la] = add_listings(db, a.id, ["https://alpha.example/kettle"])
    [lb, lb2] = add_listings(db, b.id, ["https://beta.example/wasserkocher", "https://beta.example/kettle-2pack"])
    _flush(db, [ok(la, title="Acme Kettle KW-1700", gtin="4006381333931", brand="Acme", mpn="KW-1700")])
    _flush(db, [ok(lb, title="Wasserkocher KW1700 Edelstahl", gtin="4006381333931"),
                ok(lb2, title="Acme Kettle KW-1700 2-pack", brand="Acme", mpn="KW-1700")])
    with db.connect() as conn:
        got = {r.id: r for r in conn.execute(sa.text(
            "SELECT id, product_id, brand, mpn, link_rule FROM store_listings ORDER BY id"))}
    assert (got[la].brand, got[la].mpn) == ("Acme", "KW-1700")
    assert got[la].product_id is not None and got[lb].product_id == got[la].product_id
    assert got[lb].link_rule == "gtin_match"
    assert got[lb2].product_id != got[la].product_id  # a two-pack is another product


def test_an_unchanged_page_reads_no_evidence_again(db):
    a = add_store(db, "alpha", ["alpha.example"], is_local=False)
    [la] = add_listings(db, a.id, ["https://alpha.example/kettle"])
    _flush(db, [ok(la, title="Acme Kettle", gtin="4006381333931")])
    with db.connect() as conn:
        before = conn.execute(sa.text("SELECT updated_at, facts FROM listing_identity")).one()
    _flush(db, [ok(la, price="9.00", title="Acme Kettle", gtin="4006381333931")])
    with db.connect() as conn:
        after = conn.execute(sa.text("SELECT updated_at, facts FROM listing_identity")).one()
    assert before == after
