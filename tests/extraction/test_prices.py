from decimal import Decimal

import pytest

from spiders.extraction import Price, parse_price


@pytest.mark.parametrize(
    "text,kwargs,amount,currency",
    [
        ("$229.990", {"locale_hint": "es-CL"}, "229990", "CLP"),
        ("$229.990", {"currency_hint": "CLP"}, "229990", "CLP"),
        ("1.299,00 €", {}, "1299.00", "EUR"),
        ("1.299,00 €", {"locale_hint": "de-DE"}, "1299.00", "EUR"),
        ("¥1,980", {}, "1980", "JPY"),
        ("1,320円(税込)", {}, "1320", "JPY"),
        ("EGP 1,069.00", {}, "1069.00", "EGP"),
        ("ر.س 1,550", {}, "1550", "SAR"),
        ("SR1,550", {}, "1550", "SAR"),
        ("AED 315", {}, "315", "AED"),
        ("L.E 12.00", {}, "12.00", "EGP"),
        ("$19.99", {}, "19.99", "USD"),
        ("$19.99", {"currency_hint": "CAD"}, "19.99", "CAD"),
        ("£12.50", {}, "12.50", "GBP"),
        ("7,49", {"locale_hint": "de"}, "7.49", None),
        ("36,00 EUR", {}, "36.00", "EUR"),
        ("USD$410.00", {}, "410.00", "USD"),
        ("CHF 1'299.50", {}, "1299.50", "CHF"),
        ("69.990000000000", {}, "69.99", None),
    ],
)
def test_parse_price_reads_amount_and_currency_as_the_locale_writes_them(text, kwargs, amount, currency):
    got = parse_price(text, **kwargs)
    assert got == Price(Decimal(amount), currency) or (got.amount == Decimal(amount) and got.currency == currency)
    assert isinstance(got.amount, Decimal)


@pytest.mark.parametrize("text", ["Free", "Call for price", "", None, "-$5.00", "− 12,00 €", "$999999999999",
                                  "sold out", "N/A"])
def test_parse_price_refuses_words_negatives_and_absurd_amounts(text):
    assert parse_price(text) is None


def test_parse_price_never_returns_a_float():
    got = parse_price(19.99)
    assert isinstance(got.amount, Decimal) and got.amount == Decimal("19.99")
