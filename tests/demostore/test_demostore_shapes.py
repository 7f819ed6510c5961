"""Every page shape renders a realistic page carrying the product's price and availability."""

import json
import re
from decimal import Decimal

import extruct
import pytest
from demostore_testlib import fetch

from demostore.locale import format_money

LD_RE = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def json_ld(html: str) -> list[dict]:
    return [json.loads(block) for block in LD_RE.findall(html)]


def first(shops, slug, **match):
    for p in shops.products(slug):
        if all(getattr(p, k) == v for k, v in match.items()):
            return p
    raise LookupError(match)


def page(shops, slug, product):
    r = fetch(shops.product_url(slug, product.id))
    assert r.status == 200
    return r


@pytest.mark.parametrize("slug", ["northwind", "copperpot", "voltmarkt", "gadgetdepot",
                                  "maison-lumiere", "dailybasket"])
def test_every_shape_has_page_furniture(shops, slug):
    p = shops.products(slug)[0]
    html = page(shops, slug, p).text
    assert html.startswith("<!DOCTYPE html>")
    for part in ("<header", "main-nav", 'class="breadcrumbs"', "<h1", "<footer", "related-products",
                 "<script"):
        assert part in html, part
    assert html.count("<h1") == 1
    # nav noise carries prices that are not the product's
    assert format_money(Decimal(25), p.currency, shops.catalogue()[0].locale if slug == "northwind"
                        else next(s.locale for s in shops.catalogue() if s.slug == slug), False) in html


def test_shopify_json_ld_product_group_with_variants(shops):
    p = next(p for p in shops.products("northwind") if p.variants and p.availability == "in_stock")
    html = page(shops, "northwind", p).text
    group = next(d for d in json_ld(html) if d["@type"] == "ProductGroup")
    assert len(group["hasVariant"]) == len(p.variants)
    for variant in group["hasVariant"]:
        assert variant["offers"]["price"] == str(p.price)
        assert variant["offers"]["priceCurrency"] == "USD"
        assert variant["offers"]["availability"] == "https://schema.org/InStock"
    assert "Add to cart" in html


def test_shopify_single_variant_is_product(shops):
    p = next(p for p in shops.products("northwind") if not p.variants)
    product = next(d for d in json_ld(page(shops, "northwind", p).text) if d["@type"] == "Product")
    assert product["offers"]["price"] == str(p.price)
    assert product["gtin13"] == p.gtin


def test_shopify_js_and_json_endpoints(shops):
    p = next(p for p in shops.products("northwind") if p.variants)
    url = shops.product_url("northwind", p.id)
    js = fetch(url + ".js")
    assert js.status == 200
    doc = js.json()
    assert doc["handle"] == p.handle
    assert doc["price"] == int(p.price * 100)
    assert doc["available"] is (p.availability in ("in_stock", "preorder"))
    assert len(doc["variants"]) == len(p.variants)
    assert all(v["price"] == int(p.price * 100) and "available" in v for v in doc["variants"])
    shops.set_product("northwind", p.id, availability="out_of_stock", price="10.00",
                      regular_price="20.00")
    doc = fetch(url + ".js").json()
    assert doc["available"] is False and doc["price"] == 1000 and doc["compare_at_price"] == 2000
    assert all(v["available"] is False for v in doc["variants"])
    full = fetch(url + ".json").json()["product"]
    assert full["variants"][0]["price"] == "10.00"
    assert full["variants"][0]["compare_at_price"] == "20.00"


def test_woocommerce_microdata_and_del_ins(shops):
    shops.set_product("copperpot", shops.products("copperpot")[0].id, price="19.99",
                      regular_price="24.99", availability="in_stock")
    p = shops.products("copperpot")[0]
    r = page(shops, "copperpot", p)
    html = r.text
    data = extruct.extract(html, base_url=shops.product_url("copperpot", p.id),
                           syntaxes=["microdata"], uniform=True)["microdata"]
    product = next(d for d in data if d["@type"] == "Product")
    assert product["offers"]["price"] == "19.99"
    assert product["offers"]["priceCurrency"] == "USD"
    assert product["offers"]["availability"] == "https://schema.org/InStock"
    assert re.search(r"<del[^>]*>.*?24\.99.*?</del>", html, re.S)
    assert re.search(r"<ins[^>]*>.*?19\.99.*?</ins>", html, re.S)
    assert 'itemprop="price"' in html and 'itemprop="priceCurrency"' in html
    assert "application/ld+json" not in html


def test_magento_markup(shops):
    p = first(shops, "gadgetdepot", availability="in_stock")
    shops.set_product("gadgetdepot", p.id, price="349.00", regular_price="399.00")
    html = page(shops, "gadgetdepot", p).text
    assert f'id="product-price-{p.id}" data-price-amount="349.00" data-price-type="finalPrice"' in html
    assert 'data-price-amount="399.00" data-price-type="oldPrice"' in html
    assert 'class="price-box' in html and 'class="old-price"' in html
    assert 'class="stock available"' in html
    product = next(d for d in json_ld(html) if d["@type"] == "Product")
    assert product["offers"]["price"] == "349.00"
    shops.set_product("gadgetdepot", p.id, availability="out_of_stock")
    html = page(shops, "gadgetdepot", p).text
    assert 'class="stock unavailable"' in html
    assert next(d for d in json_ld(html) if d["@type"] == "Product")["offers"]["availability"] \
        == "https://schema.org/OutOfStock"


def test_opengraph_only_meta(shops):
    p = first(shops, "maison-lumiere", availability="in_stock")
    r = page(shops, "maison-lumiere", p)
    html = r.text
    assert "application/ld+json" not in html and "itemprop" not in html
    og = dict(extruct.extract(html, syntaxes=["opengraph"], uniform=False)["opengraph"][0]["properties"])
    assert og["og:type"] == "product"
    assert og["product:price:amount"] == str(p.price)
    assert og["product:price:currency"] == "EUR"
    assert og["og:availability"] == "instock"


def test_windows_1252_page(shops):
    p = first(shops, "maison-lumiere", availability="in_stock")
    shops.set_product("maison-lumiere", p.id, price="1299.00", name="Fauteuil en rotin tressé")
    r = page(shops, "maison-lumiere", p)
    assert r.headers["Content-Type"] == "text/html; charset=windows-1252"
    assert b'content="text/html; charset=windows-1252"' in r.body
    assert "€".encode("cp1252") in r.body and "é".encode("cp1252") in r.body
    with pytest.raises(UnicodeDecodeError):
        r.body.decode("utf-8")
    assert "Fauteuil en rotin tressé" in r.text
    assert "1\u00a0299,00\u00a0€" in r.text


def test_plain_has_no_structured_data_but_visible_prices(shops):
    p = next(p for p in shops.products("dailybasket") if p.regular_price and p.pack_size)
    html = page(shops, "dailybasket", p).text
    assert "application/ld+json" not in html and "itemprop" not in html
    assert "product:price" not in html
    assert format_money(p.price, "USD", "en_US") in html
    assert re.search(r"<s [^>]*>\$[\d,.]+</s>", html)
    assert re.search(r"\$\d+\.\d\d / 100 (g|ml)", html)
    assert re.search(r"\([\d,]+ reviews\)", html)
    assert "interest-free payments of $" in html


def test_plain_review_count_has_thousands_separator(shops):
    p = shops.products("dailybasket")[0]
    shops.catalogue()  # untouched
    from dataclasses import replace

    from demostore import DemoStoreServer, Store
    store = next(s for s in shops.catalogue() if s.slug == "dailybasket")
    store = Store(**{**store.__dict__, "products": [replace(p, review_count=1234)]})
    with DemoStoreServer([store]) as one:
        assert "(1,234 reviews)" in fetch(one.product_url("dailybasket", p.id)).text


def test_german_page(shops):
    p = first(shops, "voltmarkt", availability="in_stock")
    shops.set_product("voltmarkt", p.id, price="1299.00", regular_price="1499.00")
    r = page(shops, "voltmarkt", p)
    html = r.text
    assert '<html lang="de"' in html
    assert "1.299,00 €" in html and "1.499,00 €" in html
    assert "Auf Lager" in html and "In den Warenkorb" in html
    product = next(d for d in json_ld(html) if d["@type"] == "Product")
    assert product["offers"]["price"] == "1299.00" and product["offers"]["priceCurrency"] == "EUR"
    shops.set_product("voltmarkt", p.id, availability="out_of_stock")
    html = page(shops, "voltmarkt", p).text
    assert "Ausverkauft" in html and "Auf Lager" not in html


SCHEMA = {"in_stock": "InStock", "out_of_stock": "OutOfStock", "preorder": "PreOrder"}
BUTTON = {"in_stock": "Add to cart", "out_of_stock": "Sold out", "preorder": "Pre-order"}


@pytest.mark.parametrize("slug", ["northwind", "gadgetdepot", "voltmarkt"])
@pytest.mark.parametrize("availability", ["in_stock", "out_of_stock", "preorder"])
def test_availability_in_json_ld_shapes(shops, slug, availability):
    p = shops.products(slug)[5]
    shops.set_product(slug, p.id, availability=availability)
    html = page(shops, slug, p).text
    offers = []
    for d in json_ld(html):
        if d["@type"] == "Product":
            offers.append(d["offers"])
        elif d["@type"] == "ProductGroup":
            offers.extend(v["offers"] for v in d["hasVariant"])
    assert offers and all(o["availability"] == "https://schema.org/" + SCHEMA[availability] for o in offers)
    if slug != "voltmarkt":
        assert re.search(r"<button[^>]*>(<span>)?" + re.escape(BUTTON[availability]), html, re.I)


@pytest.mark.parametrize("slug", ["copperpot", "dailybasket", "maison-lumiere"])
@pytest.mark.parametrize("availability", ["in_stock", "out_of_stock", "preorder"])
def test_availability_in_other_shapes(shops, slug, availability):
    p = shops.products(slug)[5]
    shops.set_product(slug, p.id, availability=availability)
    html = page(shops, slug, p).text
    if slug == "copperpot":
        assert f'itemprop="availability" href="https://schema.org/{SCHEMA[availability]}"' in html
    if slug == "maison-lumiere":
        og = {"in_stock": "instock", "out_of_stock": "oos", "preorder": "preorder"}[availability]
        assert f'<meta property="og:availability" content="{og}">' in html
        label = {"in_stock": "Ajouter au panier", "out_of_stock": "Épuisé",
                 "preorder": "Précommander"}[availability]
    else:
        label = BUTTON[availability]
    if availability == "out_of_stock" and slug == "copperpot":
        assert "Out of stock" in html and "single_add_to_cart_button" not in html
    else:
        assert re.search(r"<button[^>]*>" + re.escape(label), html)


def test_unknown_availability_shows_no_signal(shops):
    for slug in shops.store_slugs:
        p = shops.products(slug)[6]
        shops.set_product(slug, p.id, availability="unknown")
        html = page(shops, slug, p).text
        assert "schema.org/InStock" not in html and "schema.org/OutOfStock" not in html
        assert "og:availability" not in html
        for word in ("Add to cart", "Sold out", "In stock", "Auf Lager", "En stock"):
            main = html.split("<main", 1)[1].split("</main>", 1)[0]
            assert word not in main, (slug, word)


def test_not_product_pages(shops):
    base = shops.base_url("northwind")
    home = fetch(base + "/")
    assert home.status == 200 and "product-grid" in home.text
    assert "ProductGroup" not in home.text and '"@type":"Product"' not in home.text
    assert home.text.count("price-item") > 5
    p = shops.products("northwind")[0]
    word = p.name.split()[1]
    search = fetch(base + f"/search?q={word}")
    assert search.status == 200 and p.name in search.text
    cat = fetch(base + f"/category/{p.category}")
    assert cat.status == 200 and p.name in cat.text
    assert fetch(base + "/category/under-50").status == 200
    assert fetch(base + "/category/no-such-thing").status == 404
    assert fetch(base + "/nothing/here").status == 404
    robots = fetch(base + "/robots.txt")
    assert robots.status == 200 and robots.headers["Content-Type"].startswith("text/plain")
    assert "Disallow: /private/" in robots.text
    assert "Disallow: /products" not in robots.text
    assert fetch(base + "/private/staff").status == 200
    sitemap = fetch(base + "/sitemap.xml").text
    assert shops.product_url("northwind", p.id) in sitemap


def test_url_layouts(shops):
    paths = {slug: shops.product_path(slug, shops.products(slug)[0].id) for slug in shops.store_slugs}
    assert paths["northwind"].startswith("/products/")
    assert paths["copperpot"].startswith("/product/") and paths["copperpot"].endswith("/")
    assert paths["gadgetdepot"].endswith(".html")
    # woocommerce answers with and without the trailing slash
    url = shops.product_url("copperpot", shops.products("copperpot")[0].id)
    assert fetch(url.rstrip("/")).status == 200
    # query strings (tracking parameters, variants) do not matter
    assert fetch(shops.product_url("northwind", shops.products("northwind")[0].id) + "?variant=1&utm_source=x").status == 200
