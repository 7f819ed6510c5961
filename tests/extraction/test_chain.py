"""The chain on small pages in the shapes real shops use."""

import json
import time
from decimal import Decimal

from spiders.extraction import Extraction, extract_product


def test_shopify_json_ld_with_variants_takes_the_variant_in_the_url(page):
    ex = extract_product(page("shopify_variants.html"), "https://shop.example/products/linen-shirt?variant=222")
    assert ex.price == Decimal("52.00") and ex.availability == "out_of_stock"
    ex = extract_product(page("shopify_variants.html"), "https://shop.example/products/linen-shirt")
    assert (ex.price, ex.currency, ex.availability, ex.source) == (Decimal("45.00"), "USD", "in_stock", "json-ld")
    assert ex.name == "Linen Shirt" and ex.gtin == "0012345678905" and ex.page_kind == "product"


def test_woocommerce_microdata_sale_with_struck_regular_price(page):
    ex = extract_product(page("woocommerce_microdata.html"))
    assert (ex.price, ex.currency, ex.source) == (Decimal("860.00"), "EGP", "microdata")
    assert ex.regular_price == Decimal("1020.00") and ex.availability == "in_stock"


def test_magento_special_price_beats_old_price_even_with_a_regular_price_class(page):
    ex = extract_product(page("magento_special_price.html"))
    assert (ex.price, ex.regular_price, ex.source) == (Decimal("59.95"), Decimal("94.95"), "visible")
    assert ex.availability == "in_stock" and ex.name == "Analog Atomic Clock 513"


def test_opengraph_product_meta_only(page):
    ex = extract_product(page("og_only.html"))
    assert (ex.price, ex.currency, ex.availability, ex.source) == (Decimal("10.95"), "USD", "in_stock", "meta")


def test_visible_price_beside_title_ignores_struck_unit_instalment_shipping_reviews_and_carousels(page):
    ex = extract_product(page("visible_only.html"))
    assert ex.price == Decimal("199.99") and ex.currency == "USD" and ex.source == "visible"
    assert ex.regular_price == Decimal("249.99")
    assert ex.availability == "in_stock" and ex.page_kind == "product"


def test_sold_out_wording_beside_the_price(page):
    ex = extract_product(page("sold_out.html"))
    assert ex.price == Decimal("28.49") and ex.availability == "out_of_stock"


def test_preorder_button_over_structured_out_of_stock(page):
    ex = extract_product(page("preorder.html"))
    assert ex.price == Decimal("17.95") and ex.availability == "preorder"


def test_vat_inclusive_price_beats_net_microdata(page):
    ex = extract_product(page("german_vat.html"))
    assert (ex.price, ex.currency) == (Decimal("1299.99"), "EUR")
    assert ex.availability == "in_stock"


def test_chilean_peso_thousands_dot(page):
    ex = extract_product(page("chile.html"), "https://tienda.example.cl/p/notebook")
    assert (ex.price, ex.currency, ex.regular_price) == (Decimal("229990"), "CLP", Decimal("299990"))
    assert ex.availability == "in_stock"


def test_latin1_page_decodes_by_its_meta_charset(page):
    ex = extract_product(page("latin1.html"))
    assert ex.name == "Crème Brûlée Set · 6 pcs"
    assert (ex.price, ex.currency, ex.availability) == (Decimal("12.50"), "GBP", "in_stock")


def test_encoding_argument_wins_over_guessing():
    body = "<html><body><h1>Café crème</h1><span class='price'>4,50 €</span></body></html>".encode("cp1252")
    ex = extract_product(body, encoding="windows-1252")
    assert ex.name == "Café crème" and ex.price == Decimal("4.50") and ex.currency == "EUR"


def test_challenge_page_is_a_transient_failure(page):
    ex = extract_product(page("challenge.html"))
    assert ex.page_kind == "challenge" and ex.price is None and ex.availability == "unknown"
    denied = b"<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>You don't have permission.</body></html>"
    assert extract_product(denied).page_kind == "challenge"


def test_category_page_is_not_a_product(page):
    ex = extract_product(page("category.html"))
    assert ex.page_kind == "gone"


def test_hidden_blocks_are_ignored():
    html = """<html><body><h1>Lamp</h1><span class="price">$40.00</span>
    <div style="display: none">Sold out</div><div hidden>Out of stock</div><p class="ng-hide">no longer available</p>
    <button>Add to cart</button></body></html>"""
    ex = extract_product(html)
    assert ex.price == Decimal("40.00") and ex.availability == "in_stock"


def test_no_signal_means_unknown_availability():
    ex = extract_product("<html><body><h1>Sofa</h1><span class='price'>EGP 1,695.00</span></body></html>")
    assert ex.price == Decimal("1695.00") and ex.currency == "EGP" and ex.availability == "unknown"


def test_json_ld_graph_aggregate_offer_and_price_specification():
    html = """<html><head><script type="application/ld+json">
    {"@context":"https://schema.org","@graph":[{"@type":"WebPage","name":"x"},
     {"@type":"Product","name":"Router","offers":{"@type":"AggregateOffer","lowPrice":"222","highPrice":"455",
      "priceCurrency":"EGP","offerCount":7}}]}</script>
    <script type="application/ld+json">{"@type":"Product","name":"Kettle","offers":{"@type":"Offer",
      "priceSpecification":[{"@type":"UnitPriceSpecification","price":39.0,"priceCurrency":"EUR"},
      {"@type":"UnitPriceSpecification","price":49.0,"priceCurrency":"EUR","priceType":"https://schema.org/StrikethroughPrice"}]}}
    </script></head><body><h1>Router</h1></body></html>"""
    ex = extract_product(html)
    assert (ex.price, ex.currency, ex.source) == (Decimal("222"), "EGP", "json-ld")
    ex2 = extract_product(html.replace("<h1>Router</h1>", "<h1>Kettle</h1>"))
    assert (ex2.price, ex2.regular_price, ex2.currency) == (Decimal("39.0"), Decimal("49.0"), "EUR")


def test_store_selectors_are_used_when_nothing_else_answers():
    html = "<html><body><div id='p'>Fancy</div><div class='cost'>Only 12,95 EUR today</div><i class='st'>Auf Lager</i></body></html>"
    ex = extract_product(html, hints={"price": "div.cost", "name": "//div[@id='p']", "availability": ".st"})
    assert (ex.price, ex.currency, ex.name, ex.availability, ex.source) == (
        Decimal("12.95"), "EUR", "Fancy", "in_stock", "selectors")
    broken = extract_product(html, hints={"price": "[[[bad", "name": "//*["})
    assert isinstance(broken, Extraction) and broken.source != "selectors"


def test_to_json_shape():
    ex = extract_product("<html><body><h1>Mug</h1><span class='price'>$8.00</span><button>Add to cart</button></body></html>")
    data = ex.to_json()
    assert set(data) == {"name", "price", "currency", "availability", "regular_price", "sku", "gtin", "brand",
                         "mpn", "source", "page_kind", "page_reason", "rules"}
    assert data["price"] == "8.00" and data["regular_price"] is None
    assert (data["page_kind"], data["page_reason"]) == ("product", None)
    assert set(data["rules"]) >= {"price", "availability", "page_kind"}
    json.dumps(data)


def test_brand_and_part_number_are_read_from_structured_data():
    jsonld = ('<script type="application/ld+json">{"@type": "Product", "name": "Kettle", "sku": "S-1", '
              '"mpn": "KW-1700", "brand": {"@type": "Brand", "name": "Acme"}, "gtin13": "4006381333931", '
              '"offers": {"@type": "Offer", "price": "49.00", "priceCurrency": "EUR"}}</script>')
    ex = extract_product(f"<html><head>{jsonld}</head><body><h1>Kettle</h1></body></html>")
    assert (ex.brand, ex.mpn, ex.sku, ex.gtin) == ("Acme", "KW-1700", "S-1", "4006381333931")
    micro = ('<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Kettle</h1>'
             '<span itemprop="brand">Acme</span><meta itemprop="mpn" content="KW-1700">'
             '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
             '<span itemprop="price" content="49.00">49,00</span><meta itemprop="priceCurrency" content="EUR"></div></div>')
    ex = extract_product(f"<html><body>{micro}</body></html>")
    assert (ex.brand, ex.mpn) == ("Acme", "KW-1700")


def test_hostile_input_never_raises():
    deep = "<div>" * 5000 + "$5.00" + "</div>" * 5000
    bad_json = '<script type="application/ld+json">{"@type":"Product","offers":' + "[" * 3000 + "]" * 3000 + "}</script>"
    nested = '<script type="application/ld+json">' + '{"a":' * 2000 + "1" + "}" * 2000 + "</script>"
    for html in [None, "", b"", b"\x00\xff\xfe", "<html", "<<<>>>", deep, bad_json, nested,
                 "<title><script>alert(1)</script>$5</title>", b"\xef\xbb\xbf<h1>BOM</h1>", 12345,
                 '<meta charset="no-such-charset"><h1>x</h1>', "<?xml version='1.0' encoding='utf-8'?><html><h1>x</h1></html>"]:
        ex = extract_product(html)
        assert isinstance(ex, Extraction)
        assert ex.availability in ("in_stock", "out_of_stock", "preorder", "unknown")


def test_huge_page_is_capped():
    filler = "<p>" + "lorem ipsum " * 50 + "</p>"
    html = "<html><body><h1>Big</h1><span class='price'>$10.00</span><button>Add to cart</button>" + filler * 20000 + "</body></html>"
    assert len(html) > 10_000_000
    started = time.perf_counter()
    ex = extract_product(html)
    assert ex.price == Decimal("10.00")
    assert time.perf_counter() - started < 60  # a sanity bound, not a speed goal


def test_gtin_must_be_8_to_14_digits():
    html = '<html><body><div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">A</h1><meta itemprop="gtin13" content="12345"></div></body></html>'
    assert extract_product(html).gtin is None


def test_json_ld_wrapped_in_a_comment_or_cdata_is_still_read():
    ld = json.dumps({"@type": "Product", "name": "Kettle",
                     "offers": {"@type": "Offer", "price": "24.50", "priceCurrency": "USD"}})
    for wrapped in (f"<!-- {ld} -->", f"//<![CDATA[\n{ld}\n//]]>", f"<![CDATA[{ld}]]>", f"{ld};"):
        html = f'<html><head><script type="application/ld+json">{wrapped}</script></head><body></body></html>'
        ex = extract_product(html)
        assert (ex.price, ex.currency, ex.name) == (Decimal("24.50"), "USD", "Kettle"), wrapped


def test_a_page_read_twice_reads_the_same(page):
    """The memo caches (labels, classes, stock wording seen before) never change an answer."""
    for name in ("shopify_variants.html", "woocommerce_microdata.html", "visible_only.html", "german_vat.html"):
        first = extract_product(page(name), "https://shop.example/p")
        assert extract_product(page(name), "https://shop.example/p") == first
