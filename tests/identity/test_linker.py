"""The set-based linker: the same rules as decide_link, one statement per batch, and never over
an operator's decision."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricehound import identity, products
from tests.identity.conftest import make_listing
from tests.identity.hostile import HOSTILE, SAME


def _product_of(conn, listing_id):
    return conn.execute(sa.text("SELECT product_id FROM store_listings WHERE id = :l"), {"l": listing_id}).scalar()


@pytest.fixture()
def hostile_catalogue(db, stores):
    """Each case's product made by the linker from a listing at alpha, then the other listing at
    beta linked in one batch of every case at once."""
    with db.begin() as conn:
        seeds, others = [], []
        for n, (_name, product, listing) in enumerate(HOSTILE + SAME):
            seeds.append(make_listing(conn, stores["alpha"], f"p{n}", title=product.title, gtin=product.gtin,
                                      brand=product.brand, mpn=product.mpn))
            others.append(make_listing(conn, stores["beta"], f"q{n}", title=listing.title, gtin=listing.gtin,
                                       brand=listing.brand, mpn=listing.mpn))
        identity.refresh_evidence(conn, seeds + others)
        # products first (as if crawled earlier), then the other shop's listings in one batch
        identity.link_listings(conn, seeds)
        summary = identity.link_listings(conn, others)
    return seeds, others, summary


def test_the_linker_never_merges_the_hostile_set(db, hostile_catalogue):
    seeds, others, _ = hostile_catalogue
    with db.connect() as conn:
        for n, (name, _p, _l) in enumerate(HOSTILE):
            seed_product = _product_of(conn, seeds[n])
            assert _product_of(conn, others[n]) is None or _product_of(conn, others[n]) != seed_product, name


def test_the_linker_links_one_product_under_other_titles(db, hostile_catalogue):
    seeds, others, _ = hostile_catalogue
    with db.connect() as conn:
        for n, (name, _p, _l) in enumerate(SAME, start=len(HOSTILE)):
            assert _product_of(conn, seeds[n]) is not None, name
            assert _product_of(conn, others[n]) == _product_of(conn, seeds[n]), name
            rule = conn.execute(sa.text("SELECT link_rule FROM store_listings WHERE id = :l"), {"l": others[n]}).scalar()
            assert rule in ("gtin_match", "brand_mpn_match")


def test_a_links_method_rule_and_confidence_are_recorded(db, stores):
    with db.begin() as conn:
        a = make_listing(conn, stores["alpha"], "k", title="Acme Kettle", gtin="4006381333931")
        b = make_listing(conn, stores["beta"], "k", title="Kettle by Acme", brand="Acme", mpn="KW-1700",
                         gtin="4006381333931")
        identity.refresh_evidence(conn, [a, b])
        summary = identity.link_listings(conn, [a, b])
        row = conn.execute(sa.text("SELECT link_method, link_rule, link_confidence, link_source FROM store_listings "
                                   "WHERE id = :l"), {"l": b}).one()
    assert summary.created == 1 and summary.linked == 2
    assert tuple(row) == ("gtin", "gtin_match", Decimal("0.99"), "linker")


def test_an_operators_unlink_and_link_survive_later_link_runs(db, stores):
    with db.begin() as conn:
        a = make_listing(conn, stores["alpha"], "k", title="Acme Kettle", gtin="4006381333931")
        b = make_listing(conn, stores["beta"], "k", title="Acme Kettle", gtin="4006381333931")
        c = make_listing(conn, stores["gamma"], "x", title="Something else entirely")
        identity.refresh_evidence(conn, [a, b, c])
        identity.link_listings(conn, [a, b, c])
        pid = _product_of(conn, a)
        products.unlink(conn, b)
        products.link(conn, c, pid)
        identity.refresh_evidence(conn, [a, b, c], force=True)
        identity.link_listings(conn)
        identity.link_listings(conn, [a, b, c])
        assert _product_of(conn, b) is None
        assert _product_of(conn, c) == pid
        assert conn.execute(sa.text("SELECT link_source FROM store_listings WHERE id = :l"), {"l": c}).scalar() == "operator"


def test_a_listing_whose_evidence_changes_is_relinked(db, stores):
    with db.begin() as conn:
        a = make_listing(conn, stores["alpha"], "k", title="Acme Kettle", gtin="4006381333931")
        b = make_listing(conn, stores["beta"], "k", title="Acme Kettle", gtin="4006381333931")
        identity.refresh_evidence(conn, [a, b])
        identity.link_listings(conn, [a, b])
        conn.execute(sa.text("UPDATE store_listings SET title = 'Acme Kettle (refurbished)' WHERE id = :l"), {"l": b})
        changed = identity.refresh_evidence(conn, [a, b])
        assert changed == [b]
        summary = identity.link_listings(conn, changed)
        assert summary.unlinked == 1 and _product_of(conn, b) is None


def test_brand_and_mpn_that_fit_two_products_link_neither(db, stores):
    with db.begin() as conn:
        black = products.create_product(conn, name="Fonix Phone 15 black", brand="Fonix", mpn="FX15-128")
        white = products.create_product(conn, name="Fonix Phone 15 white", brand="Fonix", mpn="FX15-128")
        lid = make_listing(conn, stores["alpha"], "p", title="Fonix Phone 15", brand="Fonix", mpn="FX15 128")
        identity.refresh_evidence(conn, [lid])
        summary = identity.link_listings(conn, [lid])
        assert summary.ambiguous == 1 and summary.created == 0
        assert _product_of(conn, lid) is None and {black, white}
