"""The classes of mistake an extractor makes on shops it has never seen, each pinned with small
pages in several languages: money as each country writes it, the price a buyer pays, stock
wording, variants, structured data against the visible page, and script state."""

from __future__ import annotations

from decimal import Decimal

import pytest

from spiders.extraction import extract_product
from tests.extraction.classpages import ADD, URL, offer, page, product


def read(html: bytes, url: str = URL):
    ex = extract_product(html, url)
    assert ex.page_kind == "product", (ex.page_kind, ex.page_reason, ex.rules)
    return ex


# ---------------------------------------------------------------- money

@pytest.mark.parametrize(("body", "lang", "url", "price", "currency"), [
    ('<p class="price">$229.990</p><button>Agregar al carro</button>', "es-CL", "https://tienda.example.cl/p/1",
     "229990", "CLP"),
    ('<p class="price">¥1,299</p><button>カートに入れる</button>', "ja", URL, "1299", "JPY"),
    ('<p class="price">₩30,000</p><button>장바구니</button>', "ko", URL, "30000", "KRW"),
    ('<p class="price">KWD 2.500</p>' + ADD, "en", "https://shop.example.com.kw/p/1", "2.500", "KWD"),
    ('<p class="price">BD 12.750</p>' + ADD, "en", URL, "12.750", "BHD"),
    ('<p class="price">OMR 1.250</p>' + ADD, "ar-OM", URL, "1.250", "OMR"),
    ('<p class="price">KD 1,234.500</p>' + ADD, "en", URL, "1234.500", "KWD"),
    ('<p class="price">₹2,43,300</p>' + ADD, "en-IN", URL, "243300.00", "INR"),
    ('<p class="price">Rs. 2,433</p>' + ADD, "en-IN", URL, "2433.00", "INR"),
    ('<p class="price">₹1,00,000.50</p>' + ADD, "hi-IN", URL, "100000.50", "INR"),
    ("<p class=\"price\">CHF 1'299.00</p><button>In den Warenkorb</button>", "de-CH", URL, "1299.00", "CHF"),
    ('<p class="price">1\u202f299,00\u00a0€</p><button>Ajouter au panier</button>', "fr", URL, "1299.00", "EUR"),
    ('<p class="price"><span class="sym">$</span><span class="whole">19</span><sup class="cents">99</sup></p>' + ADD,
     "en", URL, "19.99", "USD"),
    ('<p class="price">1.299,- €</p><button>In den Warenkorb</button>', "de-DE", URL, "1299.00", "EUR"),
    ('<p class="price">Rs. 1,299</p>' + ADD, "en-PK", URL, "1299.00", "PKR"),
    ('<p class="price">E£ 1,299</p>' + ADD, "ar-EG", URL, "1299.00", "EGP"),
    ('<p class="price">Rp 1.299.000</p>' + ADD, "id-ID", URL, "1299000", "IDR"),
    ('<p class="price">$ 12.990</p>' + ADD, "es-CO", URL, "12990", "COP"),
    ('<p class="price">NT$1,299</p>' + ADD, "zh-TW", URL, "1299", "TWD"),
])
def test_money_is_read_as_the_country_writes_it(body, lang, url, price, currency):
    ex = read(page(body, lang=lang), url)
    assert (str(ex.price), ex.currency) == (price, currency)


@pytest.mark.parametrize(("amount", "currency", "shown", "want"), [
    ("12.990", "CLP", "$12.990", "12990"),
    ("2.500", "KWD", "2.500 KD", "2.500"),
    ("1299", "JPY", "¥1,299", "1299"),
])
def test_structured_money_agrees_with_the_visible_price(amount, currency, shown, want):
    html = page(f'<p class="price">{shown}</p>' + ADD, jsonld=product(offers=offer(amount, currency)))
    ex = read(html, "https://tienda.example.cl/p/1" if currency == "CLP" else URL)
    assert (str(ex.price), ex.currency) == (want, currency)


@pytest.mark.parametrize("title", ["Phone 15 Pro 256 GB", "Trail Runner 5", "Air Max 90", "EOS 5", "Modell 3 €"])
def test_a_number_in_the_product_name_is_not_its_price(title):
    ex = read(page('<p class="price">$799.00</p>' + ADD, title=title))
    assert ex.price == Decimal("799.00")


# ---------------------------------------------------------------- the price a buyer pays

@pytest.mark.parametrize("body", [
    '<p class="price">83,19 € <small>exkl. MwSt.</small></p><p class="price">99,00 € <small>inkl. MwSt.</small></p>',
    '<p class="price">99,00 € <small>inkl. MwSt.</small></p><p class="net">83,19 € <small>exkl. MwSt.</small></p>',
])
def test_the_tax_inclusive_price_where_both_are_shown(body):
    ex = read(page(body + "<button>In den Warenkorb</button>", lang="de"))
    assert ex.price == Decimal("99.00")


@pytest.mark.parametrize(("name", "body"), [
    ("used", '<p class="price">$60.00</p>' + ADD + '<div class="other-sellers"><p>Used from $45.00</p></div>'),
    ("refurbished", '<div class="alt">Refurbished: $39.00</div><p class="price">$60.00</p>' + ADD),
    ("marketplace", '<p class="price">$60.00</p>' + ADD + '<p>New &amp; used from other sellers $52.10</p>'),
    ("member", '<p class="member-price">Member price $50.00</p><p class="price">$60.00</p>' + ADD),
    ("subscribe", '<p class="price">$60.00</p><p>$57.00 with Subscribe &amp; Save</p>' + ADD),
    ("coupon", '<p class="coupon">Save $5.00 with coupon</p><p class="price">$60.00</p>' + ADD),
    ("instalment", '<p class="price">$60.00</p><p>or 4 interest-free payments of $15.00</p>' + ADD),
    ("protection", '<p class="price">$60.00</p><label><input type="checkbox"> Add 2-Year Protection Plan for $9.99'
                   '</label>' + ADD),
    ("free shipping", '<p class="promo">Free shipping on orders over $50</p><p class="price">$60.00</p>' + ADD),
    ("spend get", '<div class="banner">Spend $50, get $10 off</div><p class="price">$60.00</p>' + ADD),
    ("gift card", '<p class="price">$60.00</p><div class="promo">Get a $10 gift card with purchase</div>' + ADD),
    ("up to off", '<div>Up to $100 off</div><p class="price">$60.00</p>' + ADD),
    ("de gebraucht", '<p class="price">$60.00</p>' + ADD + '<p>Gebraucht ab $41.00</p>'),
    ("fr occasion", '<p class="price">$60.00</p>' + ADD + "<p>D'occasion : $41.00</p>"),
])
def test_never_a_price_the_buyer_does_not_pay_for_this_offer(name, body):
    assert read(page(body)).price == Decimal("60.00"), name


def test_a_zero_placeholder_in_structured_data_is_not_the_price():
    ex = read(page('<p class="price">$60.00</p>' + ADD, jsonld=product(offers=offer("0.00"))))
    assert ex.price == Decimal("60.00")


@pytest.mark.parametrize("body", [
    '<div class="bid"><span>Current bid:</span> <span class="price">$120.00</span></div><p>Estimate: $100 - $200</p>',
    '<p>Estimate: $300 - $500</p><div class="bid">Current bid: $120.00</div>',
    '<div class="bid">Aktuelles Gebot: $120.00</div><p>Schätzpreis: $300 - $500</p>',
])
def test_an_auction_reads_the_current_bid_not_the_estimate(body):
    assert read(page(body + "<button>Place bid</button>")).price == Decimal("120.00")


# ---------------------------------------------------------------- metamorphic: blocks outside the buy box

BASES = {
    "visible": (page('<p class="price">$60.00</p><p class="stock">In stock</p>' + ADD), "60.00", "in_stock"),
    "structured": (page('<p class="price">$60.00</p>' + ADD, jsonld=product(offers=offer("60.00"))), "60.00",
                   "in_stock"),
    "sold out": (page('<p class="price">$60.00</p><p class="stock">Sold out</p>'), "60.00", "out_of_stock"),
    "german": (page('<p class="price">60,00 €</p><p>inkl. MwSt.</p><button>In den Warenkorb</button>', lang="de"),
               "60.00", "in_stock"),
}
BLOCKS = {
    "promo banner": '<div class="announcement-bar">Spend $50, get $10 off — use code SAVE10</div>',
    "free shipping": '<div class="promo">Free shipping on orders over $35!</div>',
    "coupon": '<div class="coupon">Extra 20% off with coupon: $12.00 off your first order</div>',
    "gift card": '<div class="promo">Get a $25 gift card when you spend $100</div>',
    "carousel": ('<section class="recommendations"><h2>You may also like</h2><ul>'
                 + "".join(f'<li class="product-card"><a href="/p/{i}">Road Runner {i}</a><span class="price">${i}9.00'
                           f'</span><button>Add to cart</button></li>' for i in range(1, 7)) + "</ul></section>"),
    "sale banner": '<div class="hero"><h2>Winter sale</h2><p>Up to $100 off selected styles. Sold out soon!</p></div>',
    "newsletter": '<div class="newsletter">Sign up and get $5 off. Out of stock alerts by email.</div>',
}


@pytest.mark.parametrize("where", ["before_main", "after_main"])
@pytest.mark.parametrize("block", sorted(BLOCKS))
@pytest.mark.parametrize("base", sorted(BASES))
def test_a_block_outside_the_buy_box_never_changes_kind_price_or_stock(base, block, where):
    html, price, availability = BASES[base]
    plain = read(html)
    assert (str(plain.price), plain.availability) == (price, availability)
    marker = b"<main>" if where == "before_main" else b"</main>"
    insert = BLOCKS[block].encode()
    changed = html.replace(marker, insert + marker if where == "before_main" else marker + insert, 1)
    ex = extract_product(changed, URL)
    assert (ex.page_kind, ex.price, ex.availability) == ("product", plain.price, plain.availability)


# ---------------------------------------------------------------- stock wording

@pytest.mark.parametrize(("stock", "lang"), [
    ("Currently unavailable.", "en"), ("Temporarily out of stock", "en"), ("No longer available", "en"),
    ("Vorübergehend nicht verfügbar", "de"), ("Derzeit nicht lieferbar", "de"), ("Temporairement en rupture de stock", "fr"),
    ("Agotado temporalmente", "es"), ("Temporaneamente esaurito", "it"), ("Tijdelijk niet leverbaar", "nl"),
    ("Produto indisponível", "pt-BR"), ("在庫切れ", "ja"), ("Notify me when it's back in stock", "en"),
])
def test_unavailable_wording_in_the_buy_box_is_out_of_stock(stock, lang):
    ex = read(page(f'<p class="price">$20.00</p><p class="stock">{stock}</p>', lang=lang))
    assert ex.availability == "out_of_stock"


@pytest.mark.parametrize(("stock", "lang"), [
    ("Good news: no longer out of stock!", "en"), ("Not sold out yet", "en"), ("Noch nicht ausverkauft", "de"),
    ("This item sells out fast!", "en"), ("Almost sold out – order soon", "en"), ("Only 2 left!", "en"),
    ("Back in stock!", "en"), ("Bald ausverkauft", "de"), ("Presque épuisé", "fr"), ("Casi agotado", "es"),
    ("Get out-of-stock alerts by email", "en"),
])
def test_negations_and_boasts_never_make_a_product_sold_out(stock, lang):
    ex = read(page(f'<p class="price">$20.00</p><p class="stock">{stock}</p>' + ADD, lang=lang))
    assert ex.availability == "in_stock"


def test_a_page_with_no_stock_signal_is_unknown():
    ex = read(page('<p class="price">$20.00</p>'))
    assert (ex.price, ex.availability, ex.rules["availability"]) == (Decimal("20.00"), "unknown",
                                                                      "availability.no_signal")


# ---------------------------------------------------------------- variants

@pytest.mark.parametrize(("body", "lang"), [
    ('<p class="price">$49.00</p><ul class="sizes"><li><button class="swatch" disabled>S – sold out</button></li>'
     '<li><button class="swatch">M</button></li></ul>' + ADD, "en"),
    ('<p class="price">49,00 €</p><div class="varianten"><span class="option disabled">M – ausverkauft</span>'
     '<span class="option">L</span></div><button class="btn">In den Warenkorb</button>', "de"),
    ('<p class="price">$49.00</p><p>Sold out in Red</p>' + ADD, "en"),
    ('<p class="price">49,00 €</p><p class="note">Épuisé en taille 42</p><button>Ajouter au panier</button>', "fr"),
    ('<p class="price">49,00 €</p><p>Agotado en talla M</p><button>Añadir al carrito</button>', "es"),
    ('<p class="price">$49.00</p><p>Some sizes are sold out</p>' + ADD, "en"),
])
def test_sold_out_wording_about_one_variant_never_makes_the_product_sold_out(body, lang):
    assert read(page(body, lang=lang)).availability == "in_stock"


def test_a_product_is_in_stock_when_any_variant_can_be_bought():
    offers = [offer("49.00", availability="OutOfStock", sku="S"), offer("49.00", sku="M"),
              offer("49.00", availability="OutOfStock", sku="L")]
    ex = read(page('<p class="price">$49.00</p>' + ADD, jsonld=product(offers=offers)))
    assert (ex.price, ex.availability) == (Decimal("49.00"), "in_stock")


def test_a_product_with_every_variant_sold_out_is_out_of_stock():
    offers = [offer("49.00", availability="OutOfStock", sku="S"), offer("49.00", availability="OutOfStock", sku="M")]
    ex = read(page('<p class="price">$49.00</p><p class="stock">Sold out</p>', jsonld=product(offers=offers)))
    assert ex.availability == "out_of_stock"


# ---------------------------------------------------------------- structured data against the visible page

@pytest.mark.parametrize(("button", "lang", "currency", "shown"), [
    ('<button class="btn">Add to basket</button>', "en", "GBP", "£20.00"),
    ("<button>In den Warenkorb</button>", "de", "EUR", "20,00 €"),
    ("<button>Ajouter au panier</button>", "fr", "EUR", "20,00 €"),
])
def test_structured_out_of_stock_with_an_enabled_buy_button_is_in_stock(button, lang, currency, shown):
    html = page(f'<p class="price">{shown}</p>' + button, lang=lang,
                jsonld=product(offers=offer("20.00", currency, "OutOfStock")))
    ex = read(html)
    assert (ex.price, ex.availability, ex.rules["availability"]) == (
        Decimal("20.00"), "in_stock", "availability.buy_button_over_structured_out")


@pytest.mark.parametrize(("body", "lang", "currency"), [
    ('<p class="price">$20.00</p><p class="stock">Sold out</p><button disabled>Add to cart</button>', "en", "USD"),
    ('<p class="price">20,00 €</p><p class="stock">Épuisé</p>', "fr", "EUR"),
    ('<p class="price">20,00 €</p><p class="stock">Ausverkauft</p><button class="btn disabled">In den Warenkorb</button>',
     "de", "EUR"),
])
def test_structured_in_stock_with_the_buy_box_saying_sold_out_is_out_of_stock(body, lang, currency):
    ex = read(page(body, lang=lang, jsonld=product(offers=offer("20.00", currency))))
    assert ex.availability == "out_of_stock"


@pytest.mark.parametrize(("url", "price", "availability"), [
    ("https://s.example/p/shirt?variant=222", "55.00", "out_of_stock"),
    ("https://s.example/p/shirt?variant=111", "49.00", "in_stock"),
    ("https://s.example/p/shirt?sku=SH-222", "55.00", "out_of_stock"),
])
def test_the_variant_the_url_selects_gives_price_and_stock(url, price, availability):
    offers = [offer("49.00", sku="SH-111", url="https://s.example/p/shirt?variant=111"),
              offer("55.00", availability="OutOfStock", sku="SH-222", url="https://s.example/p/shirt?variant=222")]
    ex = read(page('<p class="price">$49.00</p>' + ADD, jsonld=product(offers=offers)), url)
    assert (str(ex.price), ex.availability) == (price, availability)


@pytest.mark.parametrize(("param", "price", "availability"), [
    ("size=L", "52.00", "in_stock"), ("size=S", "49.00", "out_of_stock"), ("farbe=rot", "54.00", "in_stock"),
])
def test_a_product_group_variant_is_matched_by_its_url(param, price, availability):
    group = {"@context": "https://schema.org", "@type": "ProductGroup", "name": "Trail Runner Pro", "hasVariant": [
        product(sku="TR-S", url="https://s.example/p?size=S", offers=offer("49.00", availability="OutOfStock")),
        product(sku="TR-L", url="https://s.example/p?size=L", offers=offer("52.00")),
        product(sku="TR-R", url="https://s.example/p?farbe=rot", offers=offer("54.00")),
    ]}
    ex = read(page('<p class="price">$49.00</p>' + ADD, jsonld=group), f"https://s.example/p?{param}")
    assert (str(ex.price), ex.availability) == (price, availability)


# ---------------------------------------------------------------- script state

NEXT = ('<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{"product":{"name":"Trail Runner Pro",'
        '"price":{"amount":"89.00","currency":"USD"},"inStock":%s},"related":[{"name":"Road Runner","price":{"amount":"49.00"},'
        '"inStock":true}]}}}</script>')
STATES = {
    "next.js": (NEXT % "false", "out_of_stock"),
    "next.js in stock": (NEXT % "true", "in_stock"),
    "initial state": ('<script>window.__INITIAL_STATE__ = {"product":{"title":"Trail Runner Pro","price":89,"currency":"USD",'
                      '"availability":"OutOfStock"}};</script>', "out_of_stock"),
    "preloaded state": ('<script>window.__PRELOADED_STATE__ = {"pdp":{"product":{"name":"Trail Runner Pro",'
                        '"salePrice":89.0,"stockStatus":"IN_STOCK"}}}</script>', "in_stock"),
    "nuxt": ('<script>window.__NUXT__={"data":[{"product":{"name":"Trail Runner Pro","price":89,"currency":"USD",'
             '"available":false}}]}</script>', "out_of_stock"),
    "shopify any variant": ('<script type="application/json" data-product-json>{"title":"Trail Runner Pro","handle":"trail",'
                            '"variants":[{"id":1,"price":8900,"available":false},{"id":2,"price":8900,"available":true}]}'
                            '</script>', "in_stock"),
    "shopify all sold out": ('<script type="application/json" data-product-json>{"title":"Trail Runner Pro","handle":"trail",'
                             '"variants":[{"id":1,"price":8900,"available":false},{"id":2,"price":8900,"available":false}]}'
                             '</script>', "out_of_stock"),
    "magento": ('<script type="text/x-magento-init">{"[data-role=priceBox]":{"priceBox":{"priceConfig":{"product":'
                '{"name":"Trail Runner Pro","finalPrice":{"amount":89},"is_salable":true,"stock_status":"OUT_OF_STOCK"}}}}}'
                '</script>', "out_of_stock"),
    "datalayer literal": ("<script>dataLayer.push({event: 'view_item', ecommerce: {currency: 'USD', items: [{item_name: "
                          "'Trail Runner Pro', price: '89.00', availability: 'out of stock'}]}});</script>", "out_of_stock"),
}


@pytest.mark.parametrize("name", sorted(STATES))
def test_script_state_is_a_structured_source(name):
    script, availability = STATES[name]
    ex = read(page('<p class="price">$89.00</p>', script=script))
    assert (ex.price, ex.availability) == (Decimal("89.00"), availability)
    assert ex.rules["availability"].startswith("availability.structured_")


def test_script_state_of_another_product_is_not_this_ones():
    script = ('<script>window.__INITIAL_STATE__ = {"recentlyViewed":[{"name":"Road Runner","price":49,'
              '"availability":"OutOfStock"}]};</script>')
    ex = read(page('<p class="price">$89.00</p>' + ADD, script=script))
    assert (ex.price, ex.availability) == (Decimal("89.00"), "in_stock")


def test_script_state_stock_against_the_visible_buy_box():
    script = STATES["next.js"][0]  # says out of stock
    ex = read(page('<p class="price">$89.00</p>' + ADD, script=script))
    assert ex.availability == "in_stock"  # an enabled buy button beside the product
    script = STATES["next.js in stock"][0]
    ex = read(page('<p class="price">$89.00</p><p class="stock">Sold out</p>', script=script))
    assert ex.availability == "out_of_stock"


@pytest.mark.parametrize(("lang", "out", "buy"), [
    ("pl", "Produkt niedostępny", "Dodaj do koszyka"), ("cs", "Vyprodáno", "Přidat do košíku"),
    ("sv", "Tillfälligt slut", "Lägg i varukorgen"), ("da", "Midlertidigt udsolgt", "Læg i kurv"),
    ("fi", "Loppuunmyyty", "Lisää ostoskoriin"), ("hu", "Nincs készleten", "Kosárba"),
    ("ro", "Stoc epuizat", "Adaugă în coș"), ("el", "Εξαντλήθηκε", "Προσθήκη στο καλάθι"),
    ("uk", "Немає в наявності", "Додати в кошик"), ("he", "אזל מהמלאי", "הוסף לסל"),
    ("vi", "Hết hàng", "Thêm vào giỏ"), ("id", "Stok habis", "Tambah ke keranjang"), ("zh", "暂时缺货", "加入购物车"),
])
def test_stock_is_read_in_the_page_language(lang, out, buy):
    sold = read(page(f'<p class="price">$20.00</p><p class="stock">{out}</p>', lang=lang))
    assert sold.availability == "out_of_stock"
    buyable = read(page(f'<p class="price">$20.00</p><button class="btn">{buy}</button>', lang=lang))
    assert buyable.availability == "in_stock"


@pytest.mark.parametrize("state", [
    '<script>window.__INITIAL_STATE__ = {"product":{"name":"Trail Runner Pro","price":-5,"variants":[{"price":-1}]}};</script>',
    '<script type="application/json" data-product-json>{"title":"Trail Runner Pro","handle":"t","variants":'
    '[{"price":99999999999999999999,"available":true}]}</script>',
    '<script>window.__NUXT__=(function(a,b){return {data:[{product:{name:a,price:b}}]}}("Trail Runner Pro",89));</script>',
    "<script>dataLayer.push({ecommerce: {items: [{item_name: 'Trail Runner Pro', price: 'abc'}]}});</script>",
    '<script>window.__PRELOADED_STATE__ = {"product": {"name": "Trail Runner Pro", "price": {"amount": {"x": 1}}}}</script>',
])
def test_odd_script_state_never_breaks_the_reading(state):
    ex = read(page('<p class="price">$89.00</p>' + ADD, script=state))
    assert (ex.price, ex.availability) == (Decimal("89.00"), "in_stock")


# ---------------------------------------------------------------- a sold-out page that hides its price and button

@pytest.mark.parametrize(("body", "lang"), [
    ('<p class="stock">Sold out</p>', "en"),
    ('<p class="stock">Out of stock</p><p class="was">$60.00</p>', "en"),
    ('<p class="stock">Ausverkauft</p>', "de"),
    ('<p class="stock">Épuisé</p>', "fr"),
    ('<p class="stock">Agotado</p>', "es"),
])
def test_a_sold_out_page_without_price_or_button_is_the_product_sold_out(body, lang):
    ex = extract_product(page(body, lang=lang), URL)
    assert (ex.page_kind, ex.availability, ex.rules["page_kind"]) == (
        "product", "out_of_stock", "kind.sold_out_beside_title")


@pytest.mark.parametrize(("body", "kind"), [
    ("<p>This product is no longer available.</p>", "gone"),
    ("<p>Dieser Artikel ist leider nicht mehr verfügbar.</p>", "gone"),
    ("<p>Sorry, this store is not available in your country.</p>", "unrecognised"),
])
def test_a_page_saying_the_product_is_gone_is_not_a_sold_out_product(body, kind):
    assert extract_product(page(body), URL).page_kind == kind
