"""Validation and normalisation: bad prices are refused with a reason, good ones made tidy."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelines.validate import InvalidObservation, validate
from spiders.items import Observation
from spiders.targets import Target

JUMP = Decimal(20)


def obs(price="10.00", currency="USD", availability="in_stock", **extra) -> Observation:
    return Observation(listing_id=1, url="https://shop.example/p/1", kind="ok",
                       price=Decimal(price) if isinstance(price, str) and price[:1].isdigit() or
                       isinstance(price, str) and price.startswith("-") else price,
                       currency=currency, availability=availability, **extra)


def check(o: Observation, target: Target | None = None, **kw) -> Observation:
    return validate(o, target, default_currency=kw.pop("default_currency", "USD"), max_jump=JUMP, **kw)


def reason(o: Observation, target: Target | None = None, **kw) -> str:
    with pytest.raises(InvalidObservation) as caught:
        check(o, target, **kw)
    return caught.value.reason


@pytest.mark.parametrize(("price", "expected"), [
    ("-1.00", "negative_price"),
    ("0", "zero_price"),
    ("0.00", "zero_price"),
    ("10000000000.00", "price_out_of_range"),
    ("abc", "not_numeric"),
    (Decimal("NaN"), "not_numeric"),
    (Decimal("Infinity"), "not_numeric"),
    (12.5, "not_numeric"),
])
def test_bad_prices_are_refused_with_a_reason(price, expected):
    assert reason(obs(price)) == expected


def test_a_zero_price_passes_where_the_store_lists_free_items():
    assert check(obs("0"), allow_free=True).price == Decimal("0.00")


@pytest.mark.parametrize("currency", ["XYZ", "US", "dollars", "€"])
def test_a_currency_that_is_not_iso_4217_is_refused(currency):
    assert reason(obs(currency=currency)) == "bad_currency"


def test_a_missing_currency_is_the_store_default():
    assert check(obs(currency=None), default_currency="EUR").currency == "EUR"


def test_neither_price_nor_availability_is_refused():
    assert reason(obs(price=None, availability="unknown")) == "no_price_or_availability"


def test_availability_without_a_price_passes():
    o = check(obs(price=None, currency=None, availability="out_of_stock"))
    assert (o.price, o.currency, o.availability) == (None, None, "out_of_stock")


@pytest.mark.parametrize(("availability", "refused"), [
    ("in_stock", True), ("preorder", True), ("out_of_stock", False)])
def test_a_read_without_a_price_where_there_was_one_is_refused_unless_sold_out(availability, refused):
    had = Target(1, "https://shop.example/p/1", price=Decimal("25.00"), currency="USD")
    o = obs(price=None, currency=None, availability=availability)
    if refused:
        assert reason(o, had) == "no_price"
    else:
        assert check(o, had).price is None  # the writer keeps the last known price
    assert check(obs(price=None, currency=None, availability=availability), None).price is None


def test_an_absurd_jump_read_from_structured_data_alone_is_refused_however_often_it_repeats():
    target = Target(1, "https://shop.example/p/1", price=Decimal("10.00"), currency="USD")
    assert reason(obs("600.00", source="json-ld"), target) == "absurd_jump"
    assert reason(obs("0.10", source="json-ld"), target) == "absurd_jump"
    assert check(obs("199.00", source="json-ld"), target).price == Decimal("199.00")
    repeated = Target(1, "https://shop.example/p/1", price=Decimal("10.00"), currency="USD",
                      suspect_price=Decimal("600.00"), suspect_currency="USD")
    assert reason(obs("600.00", source="json-ld"), repeated) == "absurd_jump"


def test_an_absurd_jump_the_visible_page_shows_is_taken():
    target = Target(1, "https://shop.example/p/1", price=Decimal("10.00"), currency="USD")
    assert check(obs("600.00", source="visible"), target).price == Decimal("600.00")
    shown = obs("600.00", source="json-ld")
    shown.rules = {"price": "price.structured_in_buy_box"}
    assert check(shown, target).price == Decimal("600.00")
    unseen = obs("600.00", source="json-ld")
    unseen.rules = {"price": "price.structured_unseen"}
    assert reason(unseen, target) == "absurd_jump"


def test_an_ab_layout_flip_on_a_zero_decimal_store_is_refused():
    """The page shows 12990 CLP; the other layout's JSON-LD alone says 13."""
    target = Target(1, "https://shop.example/p/1", price=Decimal("12990.00"), currency="CLP")
    assert reason(obs("13", currency="CLP", source="json-ld"), target) == "absurd_jump"
    assert check(obs("12990", currency="CLP", source="visible"), target).price == Decimal("12990.00")


def test_a_jump_across_currencies_is_not_judged():
    target = Target(1, "https://shop.example/p/1", price=Decimal("10.00"), currency="USD")
    assert check(obs("1500.00", currency="JPY"), target).price == Decimal("1500.00")


def test_normalisation():
    o = check(obs(Decimal("19.999"), currency="usd", title="  A   \n kettle\x00 ", sku="S" * 300,
                  gtin="12-34", image_url="javascript:alert(1)", regular_price=Decimal("9.00")))
    assert o.price == Decimal("20.00") and o.currency == "USD"
    assert o.title == "A kettle" and len(o.sku) == 100
    assert o.gtin is None and o.image_url is None
    assert o.regular_price is None, "a regular price at or below the price is no 'was' price"
    kept = check(obs("10.00", regular_price=Decimal("12.50"), gtin="0123456789012",
                     image_url="https://cdn.example/k.jpg", title="x" * 900))
    assert kept.regular_price == Decimal("12.50") and kept.gtin == "0123456789012"
    assert kept.image_url == "https://cdn.example/k.jpg" and len(kept.title) == 500


@pytest.mark.parametrize("kind", ["removed", "failed"])
def test_removed_and_failed_pass_untouched(kind):
    o = Observation(listing_id=1, url="https://shop.example/p/1", kind=kind, reason="x")
    assert check(o) is o


@pytest.mark.parametrize(("price", "currency", "kept"), [
    ("2.500", "KWD", "2.500"), ("2.345", "BHD", "2.345"), ("12.3456", "OMR", "12.346"),
    ("19.999", "USD", "20.00"), ("1299", "JPY", "1299.00"),
])
def test_a_price_keeps_its_currency_minor_units(price, currency, kept):
    assert str(check(obs(price, currency=currency)).price) == kept
