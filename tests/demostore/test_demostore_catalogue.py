from decimal import Decimal

import pytest

from demostore import SHAPES, STATUSES, Product, Store, demo_catalogue, make_catalogue
from demostore.catalogue import slugify
from demostore.locale import format_money


def test_generator_is_deterministic():
    a = make_catalogue(4, 30, seed=7)
    b = make_catalogue(4, 30, seed=7)
    c = make_catalogue(4, 30, seed=8)
    assert [p.to_dict() for s in a for p in s.products] == [p.to_dict() for s in b for p in s.products]
    assert [p.to_dict() for s in a for p in s.products] != [p.to_dict() for s in c for p in s.products]


def test_generator_shapes_and_unique_keys():
    stores = make_catalogue(8, 40, seed=1)
    assert len(stores) == 8
    assert {s.shape for s in stores} == set(SHAPES)
    assert len({s.slug for s in stores}) == 8
    for s in stores:
        assert len(s.products) == 40
        assert len({p.id for p in s.products}) == 40
        assert len({p.handle for p in s.products}) == 40
        assert len({s.product_path(p) for p in s.products}) == 40
        for p in s.products:
            assert isinstance(p.price, Decimal) and p.price > 0
            assert p.currency == s.currency
            assert p.regular_price is None or p.regular_price > p.price
            assert len(p.gtin) == 13 and p.gtin.isdigit()
            assert p.status == "ok"
    german = [s for s in stores if s.shape == "german"]
    assert all(s.currency == "EUR" and s.locale.startswith("de") for s in german)


def test_generator_fault_share():
    stores = make_catalogue(2, 200, seed=3, fault_share=0.5, faults=("gone404", "challenge"))
    statuses = {p.status for s in stores for p in s.products}
    assert statuses == {"ok", "gone404", "challenge"}


def test_demo_catalogue():
    stores = demo_catalogue()
    assert len(stores) >= 3
    assert sum(len(s.products) for s in stores) >= 150
    assert {s.shape for s in stores} == set(SHAPES)
    volt = next(s for s in stores if s.slug == "voltmarkt")
    assert volt.currency == "EUR" and volt.locale == "de_DE"
    assert any(p.price >= 1000 for p in volt.products)
    assert any(s.charset == "windows-1252" for s in stores)
    for s in stores:
        assert {"in_stock", "out_of_stock", "preorder"} <= {p.availability for p in s.products}
    assert {p.status for s in stores for p in s.products} > {"ok"}
    assert {p.status for s in demo_catalogue(faults=False) for p in s.products} == {"ok"}


def test_money_formats():
    assert format_money(Decimal("1299"), "EUR", "de_DE") == "1.299,00 €"
    assert format_money(Decimal("1299.5"), "USD", "en_US") == "$1,299.50"
    assert format_money(Decimal("1299"), "EUR", "fr_FR") == "1\u00a0299,00\u00a0€"
    assert format_money(Decimal("25"), "USD", "en_US", cents=False) == "$25"
    assert format_money(Decimal("1234567.891"), "GBP", "en_GB") == "£1,234,567.89"


def test_product_validation():
    with pytest.raises(ValueError):
        Product(id="1", handle="x", name="X", price="1", regular_price=None, currency="USD",
                availability="maybe")
    with pytest.raises(ValueError):
        Store(slug="s", name="S", currency="USD", locale="en_US", shape="wix")
    p = Product(id=1, handle="x", name="X", price="9.99", regular_price=12.5, currency="usd")
    assert p.id == "1" and p.price == Decimal("9.99") and p.regular_price == Decimal("12.5")
    assert p.currency == "USD" and p.status in STATUSES


def test_slugify():
    assert slugify("Geschirrspüler 60 cm – Weiß") == "geschirrspueler-60-cm-weiss"
    assert slugify("Théière en fonte émaillée") == "theiere-en-fonte-emaillee"
