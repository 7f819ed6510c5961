"""Search result tiles read from the shapes shop platforms really use, the query matching, the
sitemap fallback's reading, and how a store's search URL is checked."""

from __future__ import annotations

import gzip
from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricehound import catalog
from spiders import search as S
from spiders.extraction.tiles import read_tiles

PAGE = "https://shop.example/search?q=gooseneck+kettle"

FRAME = """<header class="site-header"><nav><a href="/collections/kettles">Kettles</a>
<a href="/products/gift-card"><img src="g.jpg" alt="Gift card"> Gift card $25.00</a></nav></header>{}
<footer><a href="/pages/contact">Contact</a><a href="/products/newsletter-offer">Sign up, $5 off</a></footer>"""

SHOPIFY_DAWN = FRAME.format("""<main><ul id="product-grid" class="grid product-grid">
<li class="grid__item"><div class="card-wrapper product-card-wrapper"><div class="card__media"><img src="a.jpg" alt=""></div>
<div class="card__content"><h3 class="card__heading"><a href="/products/kestrel-gooseneck-kettle" class="full-unstyled-link">
Kestrel Gooseneck Kettle 1 L</a></h3><div class="price price--on-sale"><div class="price__sale">
<s class="price-item price-item--regular">$89.00</s><span class="price-item price-item--sale price-item--last">$69.99</span>
</div></div></div></div></li>
<li class="grid__item"><div class="card-wrapper"><img src="b.jpg" alt="">
<h3 class="card__heading"><a href="/products/kestrel-gooseneck-kettle-black?variant=2" class="full-unstyled-link">
Kestrel Gooseneck Kettle 1 L – Black</a></h3><div class="price"><span class="price-item price-item--regular">$74.99</span></div>
<button type="button">Quick add</button></div></li></ul></main>""")

WOOCOMMERCE = FRAME.format("""<ul class="products columns-4">
<li class="product type-product"><a href="https://shop.example/product/kestrel-gooseneck-kettle/"
 class="woocommerce-LoopProduct-link woocommerce-loop-product__link"><img src="k.jpg" alt="">
<h2 class="woocommerce-loop-product__title">Kestrel Gooseneck Kettle 1 L</h2>
<span class="price"><del aria-hidden="true"><span class="woocommerce-Price-amount amount"><bdi>
<span class="woocommerce-Price-currencySymbol">&#36;</span>89.00</bdi></span></del>
<ins><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&#36;</span>69.99</bdi></span></ins></span></a>
<a href="?add-to-cart=41" class="button add_to_cart_button">Add to cart</a></li>
<li class="product type-product"><a href="https://shop.example/product/kestrel-kettle-descaler/"
 class="woocommerce-LoopProduct-link"><img src="d.jpg" alt=""><h2 class="woocommerce-loop-product__title">Kettle Descaler 3-Pack</h2>
<span class="price"><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&#36;</span>9.99</bdi></span></span></a>
<a href="?add-to-cart=42" class="button">Add to cart</a></li></ul>""")

MAGENTO = FRAME.format("""<div class="products wrapper grid products-grid"><ol class="products list items product-items">
<li class="item product product-item"><div class="product-item-info">
<a href="https://shop.example/kestrel-gooseneck-kettle.html" class="product photo product-item-photo"><img src="m.jpg" alt="Kestrel Gooseneck Kettle 1 L"></a>
<div class="product details product-item-details"><strong class="product name product-item-name">
<a class="product-item-link" href="https://shop.example/kestrel-gooseneck-kettle.html">Kestrel Gooseneck Kettle 1 L</a></strong>
<div class="price-box price-final_price"><span class="special-price"><span class="price-container">
<span class="price-label">Special Price</span><span class="price-wrapper" data-price-type="finalPrice"><span class="price">$69.99</span></span></span></span>
<span class="old-price"><span class="price-container"><span class="price-label">Regular Price</span>
<span class="price-wrapper" data-price-type="oldPrice"><span class="price">$89.00</span></span></span></span></div>
<div class="product-item-actions"><button class="action tocart primary"><span>Add to Cart</span></button>
<a href="https://shop.example/wishlist/index/add/" class="action towishlist">Add to Wish List</a></div></div></div></li>
</ol></div>""")

PRESTASHOP = FRAME.format("""<div id="js-product-list"><div class="products row">
<div class="js-product product col-xs-12"><article class="product-miniature js-product-miniature" data-id-product="7">
<div class="thumbnail-container"><a href="https://shop.example/fr/bouilloires/7-bouilloire-col-de-cygne-kestrel.html"
 class="thumbnail product-thumbnail"><img src="p.jpg" alt="Bouilloire col de cygne Kestrel 1 L"></a>
<div class="product-description"><h2 class="h3 product-title"><a href="https://shop.example/fr/bouilloires/7-bouilloire-col-de-cygne-kestrel.html">
Bouilloire col de cygne Kestrel 1 L</a></h2><div class="product-price-and-shipping">
<span class="regular-price" aria-label="Prix de base">89,00 €</span><span class="price" aria-label="Prix">69,99 €</span>
</div></div></div></article></div></div></div>""")

JSONLD_LIST = """<html><head><script type="application/ld+json">{"@context":"https://schema.org","@type":"ItemList",
"itemListElement":[{"@type":"ListItem","position":1,"item":{"@type":"Product","name":"Kestrel Gooseneck Kettle 1 L",
"url":"https://shop.example/p/100","offers":{"@type":"Offer","price":"69.99","priceCurrency":"USD"}}},
{"@type":"ListItem","position":2,"url":"https://shop.example/p/101","name":"Kestrel Tea Tin"}]}</script></head>
<body><div>rendered by script</div></body></html>"""

NO_RESULTS = FRAME.format("""<main><h1>Search: 0 results for "gooseneck kettle"</h1>
<p>No products found. Check the spelling or use fewer words.</p>
<a href="/collections/all" class="button">Continue shopping</a></main>""")


@pytest.mark.parametrize("html,name,price,url_part", [
    (SHOPIFY_DAWN, "Kestrel Gooseneck Kettle 1 L", "69.99", "/products/kestrel-gooseneck-kettle"),
    (WOOCOMMERCE, "Kestrel Gooseneck Kettle 1 L", "69.99", "/product/kestrel-gooseneck-kettle/"),
    (MAGENTO, "Kestrel Gooseneck Kettle 1 L", "69.99", "/kestrel-gooseneck-kettle.html"),
    (PRESTASHOP, "Bouilloire col de cygne Kestrel 1 L", "69.99", "7-bouilloire-col-de-cygne-kestrel.html"),
    (JSONLD_LIST, "Kestrel Gooseneck Kettle 1 L", "69.99", "/p/100"),
], ids=["shopify", "woocommerce", "magento", "prestashop", "jsonld_itemlist"])
def test_result_tiles_give_name_price_and_url_on_each_platform(html, name, price, url_part):
    tiles = read_tiles(html, PAGE, currency_hint="USD")
    first = tiles[0]
    assert first.name == name
    assert first.price == Decimal(price)          # the price paid, never the struck-through one
    assert first.url.startswith("https://shop.example/") and url_part in first.url
    # the frame (header, navigation, footer) is never a result, nor are cart and wish-list links
    assert not any(("gift-card" in t.url or "newsletter" in t.url or "wishlist" in t.url or "add-to-cart" in t.url)
                   for t in tiles)


def test_every_result_is_one_tile_with_its_own_price():
    tiles = read_tiles(SHOPIFY_DAWN, PAGE, currency_hint="USD")
    assert [(t.name, t.price) for t in tiles] == [("Kestrel Gooseneck Kettle 1 L", Decimal("69.99")),
                                                  ("Kestrel Gooseneck Kettle 1 L – Black", Decimal("74.99"))]
    assert [t.rule for t in read_tiles(JSONLD_LIST, PAGE)] == ["tiles.structured_list"] * 2


def test_a_page_with_no_results_has_no_tiles():
    assert read_tiles(NO_RESULTS, PAGE, currency_hint="USD") == []


def test_best_candidates_hold_the_query_and_lose_points_for_other_sizes():
    results = [("u1", "Kettle Descaler 3-Pack"), ("u2", "Kestrel Electric Gooseneck Kettle 1.7 L"),
               ("u3", "Electric Gooseneck Kettle 1 L by Kestrel"), ("u4", "Kestrel Gooseneck Kettle 1 L – Black")]
    best = S.best("Kestrel Electric Gooseneck Kettle 1 L", results)
    assert [c.url for c in best] == ["u3", "u4"]     # same words in another order first; 1.7 L and descaler out
    assert S.score("Wasserkocher 1,7 l Edelstahl", "Wasserkocher Edelstahl 1.7 L") == 1.0
    assert S.score("Théière en fonte émaillée", "THEIERE EN FONTE EMAILLEE") == 1.0


def test_search_url_is_encoded_and_sitemaps_are_read_with_product_sitemaps_first():
    assert (S.search_url("https://acme.example/search?q={query}&type=product", "Kettle 1 L & Co")
            == "https://acme.example/search?q=Kettle+1+L+%26+Co&type=product")
    index = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>https://acme.example/sitemap_pages_1.xml</loc></sitemap>"
             b"<sitemap><loc>https://acme.example/sitemap_products_1.xml</loc></sitemap></sitemapindex>")
    pages, children = S.read_sitemap(index)
    assert pages == [] and S.order_sitemaps(children)[0].endswith("sitemap_products_1.xml")
    urlset = gzip.compress(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                           b"<url><loc>https://acme.example/p/3001/kestrel-electric-gooseneck-kettle-1-l</loc></url>"
                           b"<url><loc>https://acme.example/p/3002/kestrel-tea-tin</loc></url></urlset>")
    pages, _ = S.read_sitemap(urlset)
    found = S.best("Kestrel Electric Gooseneck Kettle 1 L", [(u, S.slug_title(u)) for u in pages])
    assert [c.url for c in found] == ["https://acme.example/p/3001/kestrel-electric-gooseneck-kettle-1-l"]
    assert S.sitemaps_in_robots("User-agent: *\nDisallow: /cart\nSitemap: https://acme.example/s.xml\n") == [
        "https://acme.example/s.xml"]
    assert S.read_sitemap(b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><urlset>&e;</urlset>") == ([], [])


@pytest.fixture()
def acme(db):
    with db.begin() as conn:
        return catalog.add_store(conn, slug="acme", name="Acme", domains="127.0.0.1:8099,shop.acme.localhost",
                                 is_local=True)


@pytest.mark.parametrize("template,complaint", [
    ("https://elsewhere.example/search?q={query}", "not one of store"),
    ("http://127.0.0.1:8099/search?q=kettle", "{query} exactly once"),
    ("http://127.0.0.1:8099/search?q={query}&again={query}", "{query} exactly once"),
    ("ftp://127.0.0.1:8099/search?q={query}", "refusing"),
    ("http://127.0.0.1:8099/#/search/{query}", "fragment"),
])
def test_a_search_url_must_be_on_the_store_with_one_query_placeholder(db, acme, template, complaint):
    with db.begin() as conn, pytest.raises(catalog.InputError, match=complaint.replace("{", r"\{").replace("}", r"\}")):
        catalog.set_search(conn, acme, search_url=template)


def test_stores_edit_sets_and_clears_the_search_url(db, acme):
    with db.begin() as conn:
        assert catalog.set_search(conn, acme, search_url="http://127.0.0.1:8099/search?q={query}") == (
            "http://127.0.0.1:8099/search?q={query}", None)
        assert catalog.set_search(conn, acme, clear_search=True,
                                  sitemap_url="http://127.0.0.1:8099/sitemap.xml") == (
            None, "http://127.0.0.1:8099/sitemap.xml")


def test_stores_edit_refuses_a_bad_search_url_with_exit_2_and_keeps_the_old_one(db, acme, run_cli):
    good = "http://127.0.0.1:8099/search?q={query}"
    with db.begin() as conn:
        catalog.set_search(conn, acme, search_url=good)
    bad = run_cli("stores", "edit", "acme", "--search-url", "http://127.0.0.1:8099/search?q=kettle")
    assert bad.returncode == 2 and "{query} exactly once" in bad.stderr
    with db.connect() as conn:
        kept = conn.execute(sa.text("SELECT search_url FROM stores WHERE slug = 'acme'")).scalar_one()
    assert kept == good


def test_an_empty_search_page_is_an_answer_and_a_maintenance_page_is_not():
    from spiders.extraction import extract_product

    empty = extract_product(NO_RESULTS.encode(), PAGE)
    maintenance = extract_product(b"<html><head><title>We'll be back soon</title></head><body><h1>Down for "
                                  b"maintenance</h1><p>The shop is undergoing scheduled maintenance.</p></body></html>",
                                  PAGE)
    assert empty.page_reason not in S.NOT_AN_ANSWER
    assert maintenance.page_reason in S.NOT_AN_ANSWER
