"""Every identity rule, one pair at a time (pure: no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricehound.identity import IdentityEvidence, decide_link, normalise_gtin
from tests.identity.hostile import HOSTILE, SAME, Side


def ev(side: Side) -> IdentityEvidence:
    return IdentityEvidence.from_listing(side.title, gtin=side.gtin, brand=side.brand, mpn=side.mpn)


@pytest.mark.parametrize("raw, gtin14", [
    ("4006381333931", "04006381333931"),          # EAN-13
    ("4006-3813-3393-1", "04006381333931"),       # written with separators
    ("036000291452", "00036000291452"),           # UPC-A
    ("96385074", "00000096385074"),               # EAN-8
    ("10036000291459", "10036000291459"),         # GTIN-14 of a case of the UPC above
    ("0-306-40615-2", "09780306406157"),          # ISBN-10 becomes its ISBN-13
    ("978-0-306-40615-7", "09780306406157"),      # ISBN-13
    ("EAN: 4006381333931", "04006381333931"),
])
def test_gtins_are_normalised_to_gtin14(raw, gtin14):
    assert normalise_gtin(raw) == gtin14


@pytest.mark.parametrize("raw", [
    "4006381333932",    # bad check digit
    "00000000000000",   # zeros
    "12345",            # too short
    "2001234567893",    # restricted circulation (in-store code, prefix 200-299)
    "0412345678903",    # UPC number system 4: in-store
    "9812345678901",    # coupon prefix
    "0-306-40615-3",    # ISBN-10 with a bad check
    None, "", "abc",
])
def test_what_is_no_global_gtin_is_refused(raw):
    assert normalise_gtin(raw) is None


def test_gtin_match_links_with_its_rule_and_confidence():
    d = decide_link(ev(Side("Kettle 1.7 l", gtin="4006381333931")), ev(Side("Acme kettle", gtin="04006381333931")))
    assert (d.linked, d.method, d.rule, d.confidence) == (True, "gtin", "gtin_match", Decimal("0.99"))


def test_brand_and_mpn_link_when_no_gtin_decides():
    d = decide_link(ev(Side("kettle", brand="ACME Ltd", mpn="kw-1700")), ev(Side("Acme Kettle", brand="Acme", mpn="KW1700")))
    assert (d.linked, d.rule) == (True, "brand_mpn_match")


def test_a_title_match_links_only_when_confirmed():
    a, b = ev(Side("Acme Kettle KW-1700 1.7 l")), ev(Side("Acme KW-1700 Kettle 1.7 l - buy now"))
    unconfirmed = decide_link(a, b)
    assert (unconfirmed.linked, unconfirmed.rule) == (False, "title_match_unconfirmed")
    confirmed = decide_link(a, b, confirmed=True)
    assert (confirmed.linked, confirmed.method, confirmed.rule) == (True, "title", "title_match_confirmed")


def test_a_confirmed_title_match_still_needs_the_same_size():
    d = decide_link(ev(Side("Lumo Shampoo 500ml")), ev(Side("Lumo Shampoo")), confirmed=True)
    assert not d.linked


@pytest.mark.parametrize("name, product, listing", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_near_identical_different_products_never_link(name, product, listing):
    d = decide_link(ev(listing), ev(product))
    assert not d.linked, (name, d)
    assert not decide_link(ev(product), ev(listing)).linked


@pytest.mark.parametrize("name, product, listing", SAME, ids=[c[0] for c in SAME])
def test_one_product_under_other_titles_links(name, product, listing):
    d = decide_link(ev(listing), ev(product))
    assert d.linked, (name, d)


@pytest.mark.parametrize("rule, product, listing", [
    ("block.pack", "Acme Kettle", "Acme Kettle 2-pack"),
    ("block.condition", "Acme Kettle", "Acme Kettle refurbished"),
    ("block.bundle", "Acme Kettle", "Acme Kettle bundle"),
    ("block.accessory", "Fonix Phone 15", "Case for Fonix Phone 15"),
    ("block.capacity", "Fonix Phone 15 128GB", "Fonix Phone 15 256GB"),
    ("block.size", "Lumo Shampoo 500ml", "Lumo Shampoo 1l"),
    ("block.colour", "Fonix Phone 15 black", "Fonix Phone 15 red"),
])
def test_each_blocking_rule_names_itself(rule, product, listing):
    gt = "4006381333931"
    assert decide_link(ev(Side(listing, gtin=gt)), ev(Side(product, gtin=gt))).rule == rule


def test_gtins_that_differ_block_a_brand_and_mpn_match():
    d = decide_link(ev(Side("Acme Kettle", gtin="4006381333931", brand="Acme", mpn="KW-1700")),
                    ev(Side("Acme Kettle", gtin="4006381333948", brand="Acme", mpn="KW-1700")))
    assert d.rule == "block.gtin_differs"


def test_brand_words_are_no_colour():
    e = ev(Side("Black+Decker drill 18V", brand="Black+Decker"))
    assert e.colour is None and e.brand == "blackdecker"


def test_half_a_litre_and_500ml_are_one_size():
    assert ev(Side("Shampoo 0,5 l")).size == ev(Side("Shampoo 500 ml")).size
