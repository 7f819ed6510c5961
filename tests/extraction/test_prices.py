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


@pytest.mark.parametrize("text", ["$-5", "€-5", "£-3.50", "US$-19.99", "€ −5", "1e308", "$1e308", "$2E5"])
def test_parse_price_refuses_a_minus_after_the_symbol_and_exponents(text):
    assert parse_price(text) is None


@pytest.mark.parametrize("text", ["$1\u200b9.99", "$19\u200d.99", "$\u200e19.99", "$19.\u00ad99"])
def test_invisible_characters_inside_a_number_are_dropped_first(text):
    assert parse_price(text) == Price(Decimal("19.99"), "USD")


@pytest.mark.parametrize(("text", "hint", "amount", "currency"), [
    ("$19.9950", None, "20.00", "USD"),    # half-even: ...995 -> ...00 (the 9 before is odd)
    ("$19.9850", None, "19.98", "USD"),    # half-even: ...985 -> ...98
    ("$0.0001", None, "0.00", "USD"),
    ("¥1,234.5", "JPY", "1234", "JPY"),    # JPY is kept whole
    ("₩12,345.5", None, "12346", "KRW"),
    ("19.90", "EUR", "19.90", "EUR"),      # two places stay as written
    ("1299", "EUR", "1299", "EUR"),        # a whole amount is not padded
])
def test_prices_are_rounded_half_even_to_the_minor_units_stored(text, hint, amount, currency):
    got = parse_price(text, currency_hint=hint)
    assert (got.amount, got.currency) == (Decimal(amount), currency)
    assert got.amount.as_tuple().exponent == Decimal(amount).as_tuple().exponent


@pytest.mark.parametrize(("hint", "currency"), [("jpy", "JPY"), (" usd ", "USD"), ("??", None), ("€", None),
                                                ("XXXX", None), ("", None), (None, None)])
def test_a_numeric_price_takes_a_checked_upper_case_currency_hint(hint, currency):
    assert parse_price(5, currency_hint=hint) == Price(Decimal(5), currency)


@pytest.mark.parametrize(("value", "currency", "amount"), [
    ("19.999", "USD", "20.00"),     # a machine number: '.' is the decimal point, never grouping
    ("229.990", "CLP", "230"),      # rounded to whole pesos
    ("1.299", "EUR", "1.30"),
    ("1135.00", "EUR", "1135.00"),
    ("1,069.00", "EGP", "1069.00"),  # written for people: read as the page would be
])
def test_a_json_ld_price_string_is_a_machine_number(value, currency, amount):
    from spiders.extraction import extract_product

    page = ('<script type="application/ld+json">{"@type":"Product","name":"W","offers":'
            f'{{"price":"{value}","priceCurrency":"{currency}"}}}}</script><h1>W</h1><button>Add to cart</button>')
    assert extract_product(page).price == Decimal(amount)


@pytest.mark.parametrize("value", ["\u22125", "-5", "\u2013 5", "1e3", "5\u200b0"])
def test_a_json_ld_price_string_that_is_negative_or_exponent_is_refused(value):
    from spiders.extraction import extract_product

    page = ('<script type="application/ld+json">{"@type":"Product","name":"W","offers":'
            f'{{"price":"{value}","priceCurrency":"USD"}}}}</script><h1>W</h1>')
    got = extract_product(page).price
    assert got is None or got == Decimal("50")


def test_a_symbol_right_before_a_number_belongs_to_that_number():
    from spiders.extraction.prices import find_money

    got = find_money("5.0 (1) Item #489021A55 $49.00")
    assert [p for _s, _e, p in got] == [Price(Decimal("49.00"), "USD")]
    assert [p for _s, _e, p in find_money("1.299,00 € 47,29 €", locale_hint="de")] == [
        Price(Decimal("1299.00"), "EUR"), Price(Decimal("47.29"), "EUR")]


@pytest.mark.parametrize(("text", "want"), [
    ("Trail Runner 5 $49.00", [Decimal("49.00")]),
    ("Air Max 90 £120.00", [Decimal("120.00")]),
    ("1.299,00 € 47,29 €", [Decimal("1299.00"), Decimal("47.29")]),
])
def test_a_symbol_leading_the_next_number_is_not_the_last_ones(text, want):
    from spiders.extraction.prices import find_money

    assert [p.amount for _s, _e, p in find_money(text, locale_hint="de" if "€" in text else None)] == want


@pytest.mark.parametrize(("text", "hint", "want"), [
    ("KWD 2.500", None, Decimal("2.500")), ("2.500 KD", None, Decimal("2.500")), ("BD 1,250.750", None, Decimal("1250.750")),
    ("₹2,43,300", None, Decimal("243300")), ("₹1,00,000.50", None, Decimal("100000.50")), ("$229.990", "CLP", Decimal("229990")),
])
def test_three_decimal_currencies_and_indian_grouping(text, hint, want):
    from spiders.extraction.prices import parse_price

    assert parse_price(text, currency_hint=hint).amount == want
