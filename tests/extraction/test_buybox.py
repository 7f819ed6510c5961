"""The buy box: instalment and financing amounts are never the price, a structured price shown
beside the title is never overridden by another amount, pre-order buttons mean preorder, and
pages of many product tiles are no product page."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from spiders.extraction import extract_product


def _page(*, price_html: str, extra: str = "", ld: dict | None = None, lang: str = "en",
          button: str = "Add to cart", title: str = "Acme Espresso Machine Deluxe") -> str:
    head = f"<title>{title}</title>"
    if ld is not None:
        head += f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    return (f'<html lang="{lang}"><head>{head}</head><body><header><a href="/">Shop</a></header>'
            f'<main><div class="product"><div class="gallery"><img src="/a.jpg"></div>'
            f'<div class="info"><h1>{title}</h1><div class="price-box">{price_html}{extra}</div>'
            f'<form action="/cart" method="post"><button type="submit" class="btn">{button}</button></form>'
            f"</div></div></main><footer>Footer</footer></body></html>")


def _ld(price: str, currency: str, availability: str = "InStock") -> dict:
    return {"@context": "https://schema.org", "@type": "Product", "name": "Acme Espresso Machine Deluxe",
            "offers": {"@type": "Offer", "price": price, "priceCurrency": currency,
                       "availability": f"https://schema.org/{availability}"}}


# (language, price as shown, the instalment line, the price, currency)
INSTALMENTS = [
    ("de-DE", "1.135,00 €", "Finanzierung ab 47,29 € mtl.", "1135.00", "EUR"),
    ("de-DE", "1.135,00 €", "47,29 € monatlich", "1135.00", "EUR"),
    ("de-DE", "1.135,00 €", "oder in 24 Raten à 47,29 €", "1135.00", "EUR"),
    ("de-DE", "1.135,00 €", "Rate: 47,29 €", "1135.00", "EUR"),
    ("fr-FR", "1 135,00 €", "ou 94,58 € par mois", "1135.00", "EUR"),
    ("fr-FR", "1 135,00 €", "94,58 €/mois pendant 12 mois", "1135.00", "EUR"),
    ("fr-FR", "1 135,00 €", "Payez en 3x 378,33 €", "1135.00", "EUR"),
    ("fr-FR", "1 135,00 €", "ou en 4 fois 283,75 €", "1135.00", "EUR"),
    ("es-ES", "1.135,00 €", "94,58 € al mes", "1135.00", "EUR"),
    ("es-ES", "1.135,00 €", "Cuota mensual 94,58 €", "1135.00", "EUR"),
    ("en-US", "$1,135.00", "or $47.29/mo with financing", "1135.00", "USD"),
    ("en-US", "$1,135.00", "$94.58 per month", "1135.00", "USD"),
    ("en-US", "$1,135.00", "$283.75 x 4 payments", "1135.00", "USD"),
    ("en-US", "$1,135.00", "or 4 interest-free payments of $283.75", "1135.00", "USD"),
    ("ja-JP", "¥113,500", "分割 ¥4,729 から", "113500", "JPY"),
]


@pytest.mark.parametrize("structured", [True, False], ids=["json-ld", "visible-only"])
@pytest.mark.parametrize(("lang", "shown", "instalment", "price", "currency"), INSTALMENTS)
def test_an_instalment_amount_is_never_the_price(lang, shown, instalment, price, currency, structured):
    html = _page(price_html=f'<div class="price">{shown}</div>',
                 extra=f'<div class="finance">{instalment}</div>', lang=lang,
                 ld=_ld(price, currency) if structured else None)
    ex = extract_product(html)
    assert (ex.price, ex.currency) == (Decimal(price), currency), ex.notes


def test_a_structured_price_shown_beside_the_title_is_not_overridden():
    # tax and shipping wording after the price ("inkl. MwSt., zzgl. Versand") is no net price
    html = _page(price_html='<div class="preis-aktuell">1.135,00 €</div>'
                            '<div class="preis-mwst">inkl. 19 % MwSt., zzgl. Versandkosten</div>',
                 extra='<div class="bonus">Sie erhalten 47,29 € Rabatt auf Zubehör</div>', lang="de-DE",
                 ld=_ld("1135.00", "EUR"))
    ex = extract_product(html)
    assert (ex.price, ex.currency, ex.source) == (Decimal("1135.00"), "EUR", "json-ld")


def test_a_structured_price_not_shown_anywhere_gives_way_to_the_visible_price():
    html = _page(price_html='<div class="price">$89.00</div>', ld=_ld("129.00", "USD"))
    ex = extract_product(html)
    assert (ex.price, ex.source) == (Decimal("89.00"), "visible")


def test_a_net_price_is_still_recognised():
    html = _page(price_html='<div class="price">1.199,00 € <span>zzgl. 19 % MwSt.</span></div>'
                            '<div class="price gross">1.426,81 € inkl. MwSt.</div>', lang="de-DE")
    assert extract_product(html).price == Decimal("1426.81")


@pytest.mark.parametrize("label", ["Pre-order", "Preorder", "PRE-ORDER NOW", "Vorbestellen", "Précommander",
                                   "Reservar", "Pre-order – ships in June"])
def test_a_pre_order_button_means_preorder(label):
    html = _page(price_html='<div class="price">$19.99</div>', button=label)
    ex = extract_product(html)
    assert (ex.price, ex.availability) == (Decimal("19.99"), "preorder")


def test_pre_order_wording_beside_the_buy_box_means_preorder_without_structured_data():
    html = _page(price_html='<div class="price">$19.99</div>',
                 extra='<p class="stock-status">Pre-order: ships from June 30.</p>', button="Add to cart")
    assert extract_product(html).availability == "preorder"


def test_an_add_to_cart_button_is_still_in_stock():
    html = _page(price_html='<div class="price">$19.99</div>')
    assert extract_product(html).availability == "in_stock"


# ---------------------------------------------------------------- listings

def _tile(i: int, price: str) -> str:
    return (f'<li class="card"><a href="/p/{i}"><img src="/{i}.jpg"><span class="t">Widget number {i}</span></a>'
            f'<span class="price">{price}</span><button>Add to cart</button></li>')


def test_a_grid_of_product_tiles_is_no_product():
    html = ('<html><head><title>Kitchen</title></head><body><h1>Kitchen</h1><ul class="grid">'
            + "".join(_tile(i, f"${10 + i}.99") for i in range(12)) + "</ul></body></html>")
    assert extract_product(html).page_kind == "gone"


def test_a_search_page_with_one_result_is_no_product():
    html = ('<html><head><title>Search</title></head><body><h1>Results for “widget”</h1>'
            '<ul class="results">' + _tile(1, "$10.99") + "</ul></body></html>")
    assert extract_product(html).page_kind == "gone"


def test_several_structured_products_none_of_them_the_page_is_no_product():
    products = [{"@type": "Product", "name": f"Widget number {i}", "url": f"https://shop.example/p/{i}",
                 "offers": {"@type": "Offer", "price": f"{10 + i}.99", "priceCurrency": "USD"}}
                for i in range(6)]
    html = ('<html><head><title>Kitchen</title>'
            f'<script type="application/ld+json">{json.dumps(products)}</script></head><body>'
            '<h1>Kitchen essentials</h1><ul class="grid">'
            + "".join(_tile(i, f"${10 + i}.99") for i in range(6)) + "</ul></body></html>")
    assert extract_product(html, "https://shop.example/c/kitchen").page_kind == "gone"


def test_a_product_page_with_a_grid_of_related_products_is_a_product():
    html = _page(price_html='<div class="price">$249.00</div>').replace(
        "</main>", '<ul class="grid">' + "".join(_tile(i, f"${10 + i}.99") for i in range(8)) + "</ul></main>")
    ex = extract_product(html)
    assert (ex.page_kind, ex.price) == ("product", Decimal("249.00"))
