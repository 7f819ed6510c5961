"""HTML for the demo shops: product pages in six shapes, listings, error and challenge pages.

Pages are deliberately noisy the way real shops are: navigation with price filters, a mini
cart, recommendation carousels with other products' prices, analytics scripts, footers. Only
the main product block (and its structured data) carries the product's own price and
availability; everything else is context an extractor has to see past.
"""

from __future__ import annotations

import html
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from .catalogue import Product, Store
from .locale import format_count, format_decimal, format_money, money_parts, text

SCHEMA_AVAILABILITY = {
    "in_stock": "https://schema.org/InStock",
    "out_of_stock": "https://schema.org/OutOfStock",
    "preorder": "https://schema.org/PreOrder",
}
OG_AVAILABILITY = {"in_stock": "instock", "out_of_stock": "oos", "preorder": "preorder"}
PREORDER_DATE = {"en": "June 30", "de": "30.06.", "fr": "30 juin"}

esc = lru_cache(maxsize=65536)(html.escape)


def ld_json(obj) -> str:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/ld+json">{data}</script>'


def _js(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def money(store: Store, amount, cents: bool = True) -> str:
    return format_money(Decimal(amount), store.currency, store.locale, cents)


def amount_str(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def minor_units(value: Decimal) -> int:
    return int((Decimal(value) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _availability(product: Product, show: bool) -> str:
    return product.availability if show else "unknown"


def _url(base_url: str, store: Store, product: Product) -> str:
    return base_url + store.product_path(product)


def _image(base_url: str, product: Product, n: int = 1) -> str:
    return f"{base_url}/cdn/shop/files/{product.handle}-{n}.jpg?v=1718000000"


# --- page frame ------------------------------------------------------------------------------

def _nav(store: Store, categories: list[str]) -> str:
    return _nav_cached(store.locale, store.currency, store.lang, tuple(categories))


@lru_cache(maxsize=256)
def _nav_cached(locale: str, currency: str, lang: str, categories: tuple[str, ...]) -> str:
    store = Store(slug="-", name="-", currency=currency, locale=locale, shape="plain")
    t = text(store.locale)
    items = [f'<li class="menu-item"><a href="/category/new">{t["new"]}</a></li>']
    for cat in categories:
        label = cat.replace("-", " ").title() if store.lang == "en" else cat.replace("-", " ").capitalize()
        items.append(f'<li class="menu-item"><a href="/category/{cat}">{esc(label)}</a></li>')
    deals = "".join(
        f'<li><a href="/category/under-{n}">{esc(t["under"].format(amount=money(store, n, False)))}</a></li>'
        for n in (25, 50, 100)
    )
    items.append(
        f'<li class="menu-item has-dropdown"><a href="/category/deals">{t["deals"]}</a>'
        f'<ul class="mega-menu">{deals}<li><a href="/category/sale">{t["sale"]} – up to 40% off</a></li></ul></li>'
    )
    items.append(f'<li class="menu-item"><a href="/pages/gift-cards">{t["gift_cards"]}</a></li>')
    return '<nav class="main-nav" aria-label="Main"><ul class="menu">' + "".join(items) + "</ul></nav>"


def _store_categories(store: Store, products: list[Product]) -> list[str]:
    seen: list[str] = []
    for p in products:
        if p.category not in seen:
            seen.append(p.category)
    return seen[:6]


def page(store: Store, products: list[Product], base_url: str, *, title: str, main: str,
         head_extra: str = "", body_class: str = "template-page", canonical: str = "",
         breadcrumbs: list[tuple[str, str]] | None = None, data_layer: dict | None = None,
         after_main: str = "") -> str:
    t = text(store.locale)
    charset = store.charset
    crumbs = ""
    if breadcrumbs:
        parts = [f'<a href="{esc(href)}">{esc(label)}</a>' if href else f'<span aria-current="page">{esc(label)}</span>'
                 for label, href in breadcrumbs]
        crumbs = '<nav class="breadcrumbs" aria-label="Breadcrumb">' + ' <span class="sep">/</span> '.join(parts) + "</nav>"
    dl = _js(data_layer or {"event": "page_view", "page_type": body_class})
    canonical_tag = f'<link rel="canonical" href="{esc(canonical)}">' if canonical else ""
    threshold = money(store, 50, False)
    return f"""<!DOCTYPE html>
<html lang="{store.lang}" class="no-js">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} – {esc(store.name)}</title>
{canonical_tag}
<link rel="preconnect" href="{base_url}/cdn" crossorigin>
<link rel="stylesheet" href="/assets/theme.css?v=3.14.2">
{head_extra}
<script>window.dataLayer=window.dataLayer||[];window.dataLayer.push({dl});</script>
<script>window.theme={{"locale":"{store.locale}","currency":"{store.currency}","freeShippingThreshold":5000,"cartCount":0}};</script>
</head>
<body class="{body_class}">
<a class="skip-to-content" href="#MainContent">Skip to content</a>
<div class="announcement-bar" role="region"><p>{esc(t["free_shipping"].format(amount=threshold))} · {esc(t["returns"])}</p></div>
<header class="site-header">
<div class="header__inner">
<a class="header__logo" href="/"><img src="{base_url}/cdn/shop/files/logo.svg" alt="{esc(store.name)}" width="140" height="40"></a>
<form class="search-form" action="/search" method="get" role="search"><input type="search" name="q" placeholder="{esc(t["search_placeholder"])}" aria-label="{t["search"]}"><button type="submit">{t["search"]}</button></form>
<div class="header__icons"><a href="/account/login" class="header__icon">{t["account"]}</a>
<a href="/cart" class="header__icon cart-link" id="cart-icon-bubble">{t["cart"]} <span class="cart-count">(0)</span> <span class="cart-total">{money(store, 0)}</span></a></div>
</div>
{_nav(store, _store_categories(store, products))}
</header>
{crumbs}
<main id="MainContent" class="content-for-layout" role="main">
{main}
</main>
{after_main}
<footer class="site-footer">
<div class="footer__blocks">
<div class="footer-block"><h2>{esc(store.name)}</h2><ul><li><a href="/pages/about">About us</a></li><li><a href="/pages/stores">Store locator</a></li><li><a href="/pages/careers">Careers</a></li></ul></div>
<div class="footer-block"><h2>Help</h2><ul><li><a href="/pages/shipping">Shipping</a></li><li><a href="/pages/returns">Returns &amp; exchanges</a></li><li><a href="/pages/contact">Contact</a></li><li><a href="/private/staff">{t["staff"]}</a></li></ul></div>
<div class="footer-block"><h2>{t["gift_cards"]}</h2><p>{esc(t["gift_range"].format(low=money(store, 10, False), high=money(store, 500, False)))}</p></div>
<div class="footer-block newsletter"><h2>Newsletter</h2><p>{esc(t["newsletter"])}</p><form action="/contact#newsletter" method="post"><input type="email" name="contact[email]" placeholder="Email"><button>Subscribe</button></form></div>
</div>
<div class="footer__payment"><span class="icon-visa">Visa</span> <span class="icon-mastercard">Mastercard</span> <span class="icon-amex">American Express</span> <span class="icon-paypal">PayPal</span></div>
<p class="footer__copyright">© 2024 {esc(store.name)}. All rights reserved.</p>
</footer>
<script src="/assets/vendor.js?v=3.14.2" defer></script>
<script src="/assets/theme.js?v=3.14.2" defer></script>
<script>(function(){{var s=document.createElement('script');s.async=true;s.src='/assets/analytics.js';document.head.appendChild(s);}})();</script>
</body>
</html>
"""


def _data_layer(store: Store, product: Product) -> dict:
    return {"event": "view_item", "ecommerce": {
        "currency": store.currency, "value": float(product.price),
        "items": [{"item_id": product.sku, "item_name": product.name, "item_brand": product.brand,
                   "item_category": product.category, "price": float(product.price)}]}}


def _breadcrumbs(store: Store, product: Product) -> list[tuple[str, str]]:
    t = text(store.locale)
    label = product.category.replace("-", " ")
    label = label.title() if store.lang == "en" else label.capitalize()
    return [(t["home"], "/"), (label, f"/category/{product.category}"), (product.name, "")]


def _stars(rating: float) -> str:
    full = int(rating)
    half = rating - full >= 0.5
    return "★" * full + ("½" if half else "") + "☆" * (5 - full - (1 if half else 0))


def _reviews(store: Store, product: Product) -> str:
    t = text(store.locale)
    count = format_count(product.review_count, store.locale)
    return (f'<div class="rating" aria-label="{format_decimal(product.rating, store.locale)} / 5">'
            f'<span class="stars">{_stars(product.rating)}</span> '
            f'<span class="rating-value">{format_decimal(product.rating, store.locale)}</span> '
            f'<a href="#reviews" class="rating-count">{esc(t["reviews"].format(count=count))}</a></div>')


def _button(store: Store, availability: str, classes: str = "btn btn--primary add-to-cart") -> str:
    t = text(store.locale)
    if availability == "in_stock":
        return f'<button type="submit" name="add" class="{classes}">{t["add_to_cart"]}</button>'
    if availability == "out_of_stock":
        return f'<button type="submit" name="add" class="{classes} sold-out" disabled>{t["sold_out_button"]}</button>'
    if availability == "preorder":
        return f'<button type="submit" name="add" class="{classes} preorder">{t["preorder_button"]}</button>'
    return f'<button type="button" class="btn btn--secondary">{t["neutral_button"]}</button>'


def _stock_line(store: Store, availability: str) -> str:
    t = text(store.locale)
    if availability == "in_stock":
        return f'<p class="stock-status in-stock">{t["in_stock_note"]}</p>'
    if availability == "out_of_stock":
        return f'<p class="stock-status out-of-stock">{t["out_of_stock_note"]}</p>'
    if availability == "preorder":
        note = t["preorder_note"].format(date=PREORDER_DATE.get(store.lang, "June 30"))
        return f'<p class="stock-status preorder">{esc(t["preorder"])} – {esc(note)}</p>'
    return ""


def _description(store: Store, product: Product) -> str:
    t = text(store.locale)
    return (f'<div class="product__description rte"><h2>{t["description"]}</h2><p>{esc(product.description)}</p>'
            f'<h3>{t["specs"]}</h3><table class="specs"><tr><th>SKU</th><td>{esc(product.sku)}</td></tr>'
            f'<tr><th>EAN</th><td>{esc(product.gtin)}</td></tr>'
            f'<tr><th>Brand</th><td>{esc(product.brand)}</td></tr></table></div>')


def _offer(store: Store, product: Product, url: str, availability: str, **extra) -> dict:
    offer = {"@type": "Offer", "url": url, "price": amount_str(product.price),
             "priceCurrency": store.currency, "itemCondition": "https://schema.org/NewCondition",
             "seller": {"@type": "Organization", "name": store.name}}
    if availability in SCHEMA_AVAILABILITY:
        offer["availability"] = SCHEMA_AVAILABILITY[availability]
    if product.on_sale:
        offer["priceSpecification"] = {
            "@type": "UnitPriceSpecification", "priceType": "https://schema.org/StrikethroughPrice",
            "price": amount_str(product.regular_price), "priceCurrency": store.currency}
    offer.update(extra)
    return offer


def _product_ld(store: Store, product: Product, url: str, base_url: str, availability: str) -> dict:
    data = {"@context": "https://schema.org/", "@type": "Product", "name": product.name,
            "url": url, "image": [_image(base_url, product)], "description": product.description,
            "sku": product.sku, "brand": {"@type": "Brand", "name": product.brand},
            "offers": _offer(store, product, url, availability)}
    if product.gtin:
        data["gtin13"] = product.gtin
    if product.review_count:
        data["aggregateRating"] = {"@type": "AggregateRating", "ratingValue": product.rating,
                                   "reviewCount": product.review_count}
    return data


def _breadcrumb_ld(store: Store, product: Product, base_url: str, url: str) -> dict:
    crumbs = _breadcrumbs(store, product)
    return {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": i + 1, "name": label,
         "item": (base_url + href) if href else url} for i, (label, href) in enumerate(crumbs)]}


def _org_ld(store: Store, base_url: str) -> dict:
    return {"@context": "https://schema.org", "@type": "Organization", "name": store.name,
            "url": base_url + "/", "logo": base_url + "/cdn/shop/files/logo.svg",
            "sameAs": ["https://www.instagram.com/" + store.slug]}


# --- cards (recommendations and listings) -----------------------------------------------------

def card(store: Store, product: Product, base_url: str, quick_add: bool = False) -> str:
    t = text(store.locale)
    url = store.product_path(product)
    name = esc(product.name)
    img = f'<img src="{_image(base_url, product)}" alt="{name}" loading="lazy" width="300" height="300">'
    qa = ""
    if quick_add:
        label = t["quick_add"] if product.availability == "in_stock" else t["sold_out_button"] \
            if product.availability == "out_of_stock" else t["preorder_button"]
        qa = f'<button class="quick-add__submit" type="button">{label}</button>'
    if store.shape == "woocommerce":
        return (f'<li class="product type-product"><a href="{url}" class="woocommerce-LoopProduct-link">{img}'
                f'<h2 class="woocommerce-loop-product__title">{name}</h2>'
                f'<span class="price">{_woo_price_html(store, product)}</span></a>'
                f'<a href="?add-to-cart={product.id}" class="button add_to_cart_button">{t["add_to_cart"]}</a></li>')
    if store.shape == "magento":
        return (f'<li class="item product product-item"><div class="product-item-info">{img}'
                f'<strong class="product name product-item-name"><a class="product-item-link" href="{url}">{name}</a></strong>'
                f'{_magento_price_box(store, product, main=False)}{qa}</div></li>')
    if store.shape == "shopify":
        if product.on_sale:
            price = (f'<s class="price-item price-item--regular">{money(store, product.regular_price)}</s> '
                     f'<span class="price-item price-item--sale">{money(store, product.price)}</span>')
        else:
            price = f'<span class="price-item price-item--regular">{money(store, product.price)}</span>'
        return (f'<li class="grid__item"><div class="card-wrapper product-card-wrapper">{img}'
                f'<h3 class="card__heading"><a href="{url}" class="full-unstyled-link">{name}</a></h3>'
                f'<div class="price">{price}</div>{qa}</div></li>')
    was = f' <s class="card-was">{money(store, product.regular_price)}</s>' if product.on_sale else ""
    return (f'<li class="product-card"><a href="{url}">{img}<span class="product-card__title">{name}</span></a>'
            f'<span class="product-card__price">{money(store, product.price)}</span>{was}{qa}</li>')


def carousel(store: Store, others: list[Product], base_url: str) -> str:
    if not others:
        return ""
    t = text(store.locale)
    cards = "".join(card(store, p, base_url) for p in others)
    return (f'<section class="related-products product-recommendations" data-section-type="recommendations">'
            f'<h2 class="related-products__heading">{t["you_may_like"]}</h2>'
            f'<ul class="carousel products grid" role="list">{cards}</ul></section>')


# --- shapes ----------------------------------------------------------------------------------

def _shopify(store: Store, product: Product, base_url: str, url: str, av: str) -> tuple[str, str]:
    t = text(store.locale)
    variants = product.variants or ("Default Title",)
    vid = [f"{product.id}{i + 1:03d}" for i in range(len(variants))]
    price = money(store, product.price)
    if product.on_sale:
        price_html = (f'<div class="price price--large price--on-sale"><div class="price__container">'
                      f'<div class="price__sale"><span class="visually-hidden">{t["regular_price"]}</span>'
                      f'<s class="price-item price-item--regular">{money(store, product.regular_price)}</s>'
                      f'<span class="visually-hidden">{t["sale_price"]}</span>'
                      f'<span class="price-item price-item--sale price-item--last">{price}</span></div></div>'
                      f'<span class="badge price__badge-sale">{t["sale"]}</span>')
    else:
        price_html = (f'<div class="price price--large"><div class="price__container"><div class="price__regular">'
                      f'<span class="visually-hidden">{t["regular_price"]}</span>'
                      f'<span class="price-item price-item--regular">{price} {store.currency}</span></div></div>')
    if av == "out_of_stock":
        price_html += f'<span class="badge price__badge-sold-out">{t["sold_out_button"]}</span>'
    price_html += "</div>"
    picker = ""
    if product.variants:
        radios = "".join(
            f'<input type="radio" id="opt-{v}" name="Size" value="{esc(title)}"{" checked" if i == 0 else ""}>'
            f'<label for="opt-{v}">{esc(title)}</label>' for i, (v, title) in enumerate(zip(vid, variants, strict=True)))
        options = "".join(f'<option value="{v}">{esc(title)} - {price}</option>' for v, title in zip(vid, variants, strict=True))
        picker = (f'<variant-radios class="no-js-hidden"><fieldset class="product-form__input"><legend>Size</legend>{radios}</fieldset></variant-radios>'
                  f'<select name="id" class="no-js">{options}</select>')
    else:
        picker = f'<input type="hidden" name="id" value="{vid[0]}">'
    instal = money(store, product.price / 4)
    main = f"""<section class="product product--large">
<div class="product__media-wrapper"><img src="{_image(base_url, product)}" alt="{esc(product.name)}" width="1200" height="1200"></div>
<div class="product__info-container">
<p class="product__text caption-with-letter-spacing">{esc(product.brand)}</p>
<div class="product__title"><h1>{esc(product.name)}</h1></div>
{_reviews(store, product)}
<div class="no-js-hidden" id="price-template--main" role="status">{price_html}</div>
<div class="product__tax caption rte">{t["tax_note"]}</div>
<form method="post" action="/cart/add" id="product-form-main" class="form" enctype="multipart/form-data">
{picker}
<div class="product-form__buttons">{_button(store, av, "product-form__submit button button--full-width")}</div>
</form>
<shopify-payment-terms>Pay in 4 interest-free installments of {instal} with Shop Pay</shopify-payment-terms>
{_stock_line(store, av)}
{_description(store, product)}
</div>
</section>"""
    if product.variants:
        ld = {"@context": "https://schema.org/", "@type": "ProductGroup", "name": product.name,
              "url": url, "productGroupID": product.id, "description": product.description,
              "image": [_image(base_url, product)], "brand": {"@type": "Brand", "name": product.brand},
              "variesBy": ["https://schema.org/size"], "hasVariant": []}
        for v, title in zip(vid, variants, strict=True):
            ld["hasVariant"].append({
                "@type": "Product", "name": f"{product.name} - {title}", "sku": f"{product.sku}-{title}",
                "size": title, "image": _image(base_url, product),
                "offers": _offer(store, product, f"{url}?variant={v}", av)})
    else:
        ld = _product_ld(store, product, url, base_url, av)
    meta = {"product": {"id": int(product.id) if product.id.isdigit() else product.id,
                        "vendor": product.brand, "type": product.category, "variants": [
                            {"id": int(v), "price": minor_units(product.price), "name": f"{product.name} - {title}",
                             "public_title": None if title == "Default Title" else title, "sku": product.sku}
                            for v, title in zip(vid, variants, strict=True)]},
            "page": {"pageType": "product", "resourceType": "product", "resourceId": product.id}}
    head = (ld_json(ld) + "\n" + ld_json(_org_ld(store, base_url)) + "\n"
            + f'<script>var meta = {_js(meta)};</script>\n'
            + f'<script>window.Shopify = window.Shopify || {{}}; Shopify.shop = "{store.slug}.myshopify.com"; '
            + f'Shopify.currency = {{"active": "{store.currency}", "rate": "1.0"}};</script>\n'
            + f'<meta property="og:type" content="product"><meta property="og:title" content="{esc(product.name)}">')
    return main, head


def _woo_amount(store: Store, amount) -> str:
    prefix, number, suffix = money_parts(Decimal(amount), store.currency, store.locale)
    sym = (f'<span class="woocommerce-Price-currencySymbol">{esc(prefix.strip())}</span>' if prefix else "")
    after = (f'&nbsp;<span class="woocommerce-Price-currencySymbol">{esc(suffix.strip())}</span>' if suffix else "")
    return f'<span class="woocommerce-Price-amount amount"><bdi>{sym}{number}{after}</bdi></span>'


def _woo_price_html(store: Store, product: Product) -> str:
    if product.on_sale:
        return (f'<del aria-hidden="true">{_woo_amount(store, product.regular_price)}</del> '
                f'<span class="screen-reader-text">Original price was: {money(store, product.regular_price)}.</span>'
                f'<ins aria-hidden="true">{_woo_amount(store, product.price)}</ins>'
                f'<span class="screen-reader-text">Current price is: {money(store, product.price)}.</span>')
    return _woo_amount(store, product.price)


def _woocommerce(store: Store, product: Product, base_url: str, url: str, av: str) -> tuple[str, str]:
    t = text(store.locale)
    availability = ""
    if av in SCHEMA_AVAILABILITY:
        availability = f'<link itemprop="availability" href="{SCHEMA_AVAILABILITY[av]}">'
    stock = {"in_stock": f'<p class="stock in-stock">{t["in_stock"]}</p>',
             "out_of_stock": f'<p class="stock out-of-stock">{"Out of stock" if store.lang == "en" else t["out_of_stock"]}</p>',
             "preorder": f'<p class="stock available-on-backorder">{t["preorder"]} – '
                         f'{esc(t["preorder_note"].format(date=PREORDER_DATE.get(store.lang, "June 30")))}</p>'}.get(av, "")
    if av == "out_of_stock":
        form = ""
    else:
        form = (f'<form class="cart" action="{url}" method="post" enctype="multipart/form-data">'
                f'<div class="quantity"><label class="screen-reader-text" for="qty">{t["quantity"]}</label>'
                f'<input type="number" id="qty" class="input-text qty text" name="quantity" value="1" min="1"></div>'
                f'{_button(store, av, "single_add_to_cart_button button alt")}'
                f'<input type="hidden" name="add-to-cart" value="{product.id}"></form>')
    onsale = f'<span class="onsale">{t["sale"]}!</span>' if product.on_sale else ""
    gtin = f'<meta itemprop="gtin13" content="{product.gtin}">' if product.gtin else ""
    main = f"""<div class="woocommerce-notices-wrapper"></div>
<div id="product-{product.id}" class="product type-product post-{product.id} status-publish {"instock" if av == "in_stock" else "outofstock"} product_cat-{product.category} has-post-thumbnail {"sale" if product.on_sale else ""} shipping-taxable purchasable product-type-simple" itemscope itemtype="https://schema.org/Product">
{onsale}
<div class="woocommerce-product-gallery images"><figure class="woocommerce-product-gallery__wrapper"><img src="{_image(base_url, product)}" alt="{esc(product.name)}" itemprop="image"></figure></div>
<div class="summary entry-summary">
<h1 class="product_title entry-title" itemprop="name">{esc(product.name)}</h1>
<meta itemprop="sku" content="{esc(product.sku)}">{gtin}
<div itemprop="brand" itemscope itemtype="https://schema.org/Brand"><meta itemprop="name" content="{esc(product.brand)}"></div>
<div class="woocommerce-product-rating" itemprop="aggregateRating" itemscope itemtype="https://schema.org/AggregateRating"><meta itemprop="ratingValue" content="{product.rating}"><meta itemprop="reviewCount" content="{max(product.review_count, 1)}">{_reviews(store, product)}</div>
<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
<p class="price">{_woo_price_html(store, product)}</p>
<meta itemprop="price" content="{amount_str(product.price)}">
<meta itemprop="priceCurrency" content="{store.currency}">
{availability}
<link itemprop="url" href="{url}">
</div>
<div class="woocommerce-product-details__short-description" itemprop="description"><p>{esc(product.description)}</p></div>
{stock}
{form}
<div class="product_meta"><span class="sku_wrapper">SKU: <span class="sku">{esc(product.sku)}</span></span> <span class="posted_in">Category: <a href="/category/{product.category}" rel="tag">{esc(product.category)}</a></span></div>
</div>
<div class="woocommerce-tabs wc-tabs-wrapper"><div class="woocommerce-Tabs-panel" id="tab-description">{_description(store, product)}</div>
<div class="woocommerce-Tabs-panel" id="tab-reviews"><h2>Reviews</h2><p class="woocommerce-noreviews">Only logged in customers who have purchased this product may leave a review.</p></div></div>
</div>"""
    head = ('<meta name="generator" content="WooCommerce 8.9.1">'
            f'<link rel="https://api.w.org/" href="{base_url}/wp-json/">'
            f'<script id="wc-add-to-cart-js-extra">var wc_add_to_cart_params = {_js({"ajax_url": "/wp-admin/admin-ajax.php", "i18n_view_cart": "View cart", "cart_url": "/cart/", "is_cart": "", "cart_redirect_after_add": "no"})};</script>')
    return main, head


def _magento_price_box(store: Store, product: Product, main: bool) -> str:
    pid = product.id
    final_id = f'product-price-{pid}' if main else f'product-price-{pid}-related'
    final = (f'<span id="{final_id}" data-price-amount="{amount_str(product.price)}" data-price-type="finalPrice" '
             f'class="price-wrapper "><span class="price">{money(store, product.price)}</span></span>')
    if product.on_sale:
        inner = (f'<span class="special-price"><span class="price-container price-final_price tax weee">'
                 f'<span class="price-label">Special Price</span>{final}</span></span>'
                 f'<span class="old-price"><span class="price-container price-final_price tax weee">'
                 f'<span class="price-label">Regular Price</span>'
                 f'<span id="old-price-{pid}{"" if main else "-related"}" data-price-amount="{amount_str(product.regular_price)}" '
                 f'data-price-type="oldPrice" class="price-wrapper "><span class="price">{money(store, product.regular_price)}</span></span>'
                 f'</span></span>')
    else:
        inner = f'<span class="price-container price-final_price tax weee">{final}</span>'
    return (f'<div class="price-box price-final_price" data-role="priceBox" data-product-id="{pid}" '
            f'data-price-box="product-id-{pid}">{inner}</div>')


def _magento(store: Store, product: Product, base_url: str, url: str, av: str) -> tuple[str, str]:
    t = text(store.locale)
    stock = {"in_stock": f'<div class="stock available" title="Availability"><span>{t["in_stock"]}</span></div>',
             "out_of_stock": '<div class="stock unavailable" title="Availability"><span>Out of stock</span></div>',
             "preorder": f'<div class="stock available preorder" title="Availability"><span>{t["preorder"]}</span></div>'}.get(av, "")
    init = {f"[data-role=priceBox][data-price-box=product-id-{product.id}]": {"priceBox": {"priceConfig": {
        "productId": product.id, "priceFormat": {"pattern": "$%s", "precision": 2, "decimalSymbol": ".", "groupSymbol": ","},
        "prices": {"finalPrice": {"amount": float(product.price), "adjustments": []},
                   "oldPrice": {"amount": float(product.regular_price or product.price), "adjustments": []},
                   "basePrice": {"amount": float(product.price), "adjustments": []}}}}}}
    if av == "out_of_stock":
        box = f'<div class="box-tocart unavailable"><div class="actions">{_button(store, av, "action primary tocart")}</div></div>'
    else:
        box = (f'<div class="box-tocart"><div class="fieldset"><div class="field qty"><label class="label" for="qty"><span>Qty</span></label>'
               f'<input type="number" name="qty" id="qty" value="1" class="input-text qty"></div><div class="actions">'
               f'{_button(store, av, "action primary tocart")}</div></div></div>')
    main = f"""<div class="columns"><div class="column main">
<div class="product media"><div class="gallery-placeholder"><img src="{_image(base_url, product)}" alt="{esc(product.name)}" class="gallery-placeholder__image"></div></div>
<div class="product-info-main">
<div class="page-title-wrapper product"><h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper">{esc(product.name)}</span></h1></div>
<div class="product-reviews-summary">{_reviews(store, product)}</div>
<div class="product-info-price">{_magento_price_box(store, product, main=True)}
<div class="product-info-stock-sku">{stock}<div class="product attribute sku"><strong class="type">SKU</strong><div class="value">{esc(product.sku)}</div></div></div>
</div>
<div class="product-add-form"><form data-product-sku="{esc(product.sku)}" action="/checkout/cart/add/product/{product.id}/" method="post" id="product_addtocart_form">
<input type="hidden" name="product" value="{product.id}">{box}</form></div>
<div class="product-social-links"><a href="/wishlist/index/add/" class="action towishlist">Add to Wish List</a> <a href="/catalog/product_compare/add/" class="action tocompare">Add to Compare</a></div>
</div>
<div class="product info detailed">{_description(store, product)}</div>
</div></div>
<script type="text/x-magento-init">{_js(init)}</script>"""
    head = ld_json(_product_ld(store, product, url, base_url, av)) + "\n" + ld_json(_breadcrumb_ld(store, product, base_url, url))
    return main, head


def _plain_price_block(store: Store, product: Product, av: str) -> str:
    t = text(store.locale)
    was = ""
    if product.on_sale:
        saving = product.regular_price - product.price
        percent = int((saving / product.regular_price * 100).to_integral_value(rounding=ROUND_HALF_UP))
        was = (f' <s class="price-was">{money(store, product.regular_price)}</s>'
               f' <span class="price-save">{esc(t["save"].format(amount=money(store, saving), percent=percent))}</span>')
    return f'<div class="price-wrap"><span class="price-now">{money(store, product.price)}</span>{was}</div>'


def _unit_price(store: Store, product: Product) -> str:
    t = text(store.locale)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(g|kg|ml|l)", product.pack_size or "")
    if not m:
        return f'<div class="unit-price">{money(store, product.price)} / {t["per_item"]}</div>'
    qty, unit = Decimal(m.group(1)), m.group(2)
    if unit in ("kg", "l"):
        qty, unit = qty * 1000, {"kg": "g", "l": "ml"}[unit]
    per100 = product.price * 100 / qty
    return f'<div class="unit-price">{money(store, per100)} / 100 {unit}</div>'


def _plain(store: Store, product: Product, base_url: str, url: str, av: str) -> tuple[str, str]:
    t = text(store.locale)
    pack = f'<p class="pack-size">{esc(product.pack_size)}</p>' if product.pack_size else ""
    main = f"""<div class="pdp">
<div class="pdp-gallery"><img src="{_image(base_url, product)}" alt="{esc(product.name)}"></div>
<div class="pdp-info">
<p class="pdp-brand"><a href="/search?q={esc(product.brand)}">{esc(product.brand)}</a></p>
<h1 class="pdp-title">{esc(product.name)}</h1>
{pack}
{_reviews(store, product)}
{_plain_price_block(store, product, av)}
{_unit_price(store, product)}
<div class="bnpl">{esc(t["installments"].format(amount=money(store, product.price / 4)))}</div>
{_stock_line(store, av)}
<form action="/cart/add" method="post"><input type="hidden" name="item" value="{product.id}"><input type="number" name="qty" value="1" min="1">{_button(store, av)}</form>
<ul class="pdp-perks"><li>Free delivery on orders over {money(store, 35, False)}</li><li>Save 5% with Subscribe &amp; Save</li><li>Buy 2, get 10% off</li></ul>
</div>
{_description(store, product)}
</div>"""
    return main, ""


def _opengraph(store: Store, product: Product, base_url: str, url: str, av: str) -> tuple[str, str]:
    t = text(store.locale)
    tags = [("og:type", "product"), ("og:site_name", store.name), ("og:title", product.name),
            ("og:url", url), ("og:image", _image(base_url, product)),
            ("og:description", product.description),
            ("product:brand", product.brand), ("product:retailer_item_id", product.sku),
            ("product:price:amount", amount_str(product.price)),
            ("product:price:currency", store.currency)]
    if product.on_sale:
        tags.append(("product:original_price:amount", amount_str(product.regular_price)))
        tags.append(("product:original_price:currency", store.currency))
    if av in OG_AVAILABILITY:
        tags.append(("og:availability", OG_AVAILABILITY[av]))
    head = "\n".join(f'<meta property="{k}" content="{esc(v)}">' for k, v in tags)
    head += f'\n<meta name="twitter:card" content="summary_large_image"><meta name="twitter:title" content="{esc(product.name)}">'
    label = {"in_stock": t["in_stock"], "out_of_stock": t["out_of_stock"], "preorder": t["preorder"]}.get(av)
    badge = f'<span class="availability-badge {av}">{label}</span>' if label else ""
    main = f"""<article class="product-detail">
<div class="product-detail__media"><img src="{_image(base_url, product)}" alt="{esc(product.name)}"></div>
<div class="product-detail__body">
<span class="product-detail__brand">{esc(product.brand)}</span>
<h1 class="product-detail__name">{esc(product.name)}</h1>
{_reviews(store, product)}
{_plain_price_block(store, product, av)}
<p class="product-detail__tax">{esc(t["tax_note"])}</p>
{badge}
{_stock_line(store, av)}
{_button(store, av)}
<p class="installments">{esc(t["installments"].format(amount=money(store, product.price / 3 if store.lang == "fr" else product.price / 4)))}</p>
{_description(store, product)}
</div>
</article>"""
    return main, head


def _german(store: Store, product: Product, base_url: str, url: str, av: str) -> tuple[str, str]:
    t = text(store.locale)
    uvp = ""
    if product.on_sale:
        saving = product.regular_price - product.price
        percent = int((saving / product.regular_price * 100).to_integral_value(rounding=ROUND_HALF_UP))
        uvp = (f'<div class="preis-uvp">{t["regular_price"]} <del>{money(store, product.regular_price)}</del></div>'
               f'<div class="preis-ersparnis">{esc(t["save"].format(amount=money(store, saving), percent=percent))}</div>')
    status = {"in_stock": f'<div class="lieferstatus lieferbar"><span class="ampel gruen"></span>{t["in_stock"]} – Lieferzeit 1–3 Werktage</div>',
              "out_of_stock": f'<div class="lieferstatus nicht-lieferbar"><span class="ampel rot"></span>{t["out_of_stock"]}</div>',
              "preorder": f'<div class="lieferstatus vorbestellbar"><span class="ampel gelb"></span>{t["preorder"]} – '
                          f'{esc(t["preorder_note"].format(date=PREORDER_DATE["de"]))}</div>'}.get(av, "")
    main = f"""<div class="artikel-detail">
<div class="artikel-bilder"><img src="{_image(base_url, product)}" alt="{esc(product.name)}"></div>
<div class="artikel-info">
<div class="hersteller">{esc(product.brand)}</div>
<h1 class="artikel-name">{esc(product.name)}</h1>
<div class="artikel-nr">Art.-Nr.: {esc(product.sku)} · EAN: {esc(product.gtin)}</div>
{_reviews(store, product)}
<div class="preis-block">
<div class="preis-aktuell">{money(store, product.price)}</div>
{uvp}
<div class="preis-mwst">{t["tax_note"]}</div>
<div class="finanzierung">{esc(t["installments"].format(amount=money(store, product.price / 24)))}</div>
</div>
{status}
<form action="/warenkorb/hinzufuegen" method="post"><input type="hidden" name="artikel" value="{product.id}"><input type="number" name="menge" value="1" min="1">{_button(store, av, "btn btn-warenkorb")}</form>
<ul class="vorteile"><li>Kostenloser Versand ab {money(store, 59, False)}</li><li>Kauf auf Rechnung</li><li>2 Jahre Garantie</li></ul>
</div>
{_description(store, product)}
</div>"""
    head = ld_json(_product_ld(store, product, url, base_url, av)) + "\n" + ld_json(_breadcrumb_ld(store, product, base_url, url))
    return main, head


SHAPE_RENDERERS = {
    "shopify": _shopify,
    "woocommerce": _woocommerce,
    "magento": _magento,
    "opengraph": _opengraph,
    "plain": _plain,
    "german": _german,
}


def product_page(store: Store, product: Product, others: list[Product], all_products: list[Product],
                 base_url: str, show_availability: bool = True, after_main: str = "") -> str:
    """The full product page for ``product`` in its store's shape."""
    url = _url(base_url, store, product)
    av = _availability(product, show_availability)
    main, head = SHAPE_RENDERERS[store.shape](store, product, base_url, url, av)
    return page(store, all_products, base_url, title=product.name, main=main, head_extra=head,
                body_class="template-product", canonical=url,
                breadcrumbs=_breadcrumbs(store, product), data_layer=_data_layer(store, product),
                after_main=after_main + carousel(store, others, base_url))


# --- other pages -----------------------------------------------------------------------------

def listing_page(store: Store, products: list[Product], all_products: list[Product], base_url: str,
                 *, title: str, heading: str, path: str) -> str:
    t = text(store.locale)
    if products:
        grid = ('<ul class="product-grid collection-grid" role="list">'
                + "".join(card(store, p, base_url, quick_add=True) for p in products) + "</ul>")
    else:
        grid = f'<p class="empty-state">{t["no_results"]}</p>'
    main = (f'<div class="collection-hero"><h1 class="collection-hero__title">{esc(heading)}</h1></div>'
            f'<div class="facets"><span class="facets__label">{t["sort"]}</span> '
            f'<span class="product-count">{esc(t["showing"].format(n=len(products)))}</span>'
            f'<details class="facet-price"><summary>Price</summary><span>{money(store, 0, False)} – {money(store, 2000, False)}</span></details></div>'
            f'{grid}')
    ld = {"@context": "https://schema.org", "@type": "WebSite", "url": base_url + "/",
          "potentialAction": {"@type": "SearchAction", "target": base_url + "/search?q={search_term_string}",
                              "query-input": "required name=search_term_string"}}
    return page(store, all_products, base_url, title=title, main=main, head_extra=ld_json(ld),
                body_class="template-collection", canonical=base_url + path,
                data_layer={"event": "view_item_list", "item_list_name": heading})


def message_page(store: Store, all_products: list[Product], base_url: str, *, title: str,
                 message: str, body_class: str = "template-404") -> str:
    t = text(store.locale)
    main = (f'<div class="page-width error-page"><h1>{esc(title)}</h1><p>{esc(message)}</p>'
            f'<a href="/" class="button">{t["shop_all"]}</a></div>')
    return page(store, all_products, base_url, title=title, main=main, body_class=body_class)


def maintenance_page(store: Store) -> str:
    """What a shop shows everywhere while it is down for maintenance (answered with 200)."""
    return (f"<!DOCTYPE html><html><head><title>{esc(store.name)} - We'll be back soon</title></head><body>"
            f"<h1>Down for maintenance</h1><p>{esc(store.name)} is currently undergoing scheduled maintenance. "
            "We'll be back shortly. Thank you for your patience.</p></body></html>")


def challenge_page(host: str, ray: str) -> str:
    return f"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta http-equiv="X-UA-Compatible" content="IE=Edge">
<meta name="robots" content="noindex,nofollow">
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>*{{box-sizing:border-box;margin:0;padding:0}}html{{line-height:1.15}}body{{display:flex;flex-direction:column;height:100vh;min-height:100vh}}.main-content{{margin:8rem auto;max-width:60rem;padding-left:1.5rem}}</style>
</head><body class="no-js"><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">{esc(host)}</h1>
<h2 id="challenge-running" class="h2">Verifying you are human. This may take a few seconds.</h2>
<noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></noscript>
<div id="challenge-body-text" class="core-msg spacer">{esc(host)} needs to review the security of your connection before proceeding.</div>
<form id="challenge-form" action="/?__chl_tk={ray}" method="POST" enctype="application/x-www-form-urlencoded"><input type="hidden" name="md" value="{ray}{ray}"></form>
</div></div>
<script>(function(){{window._chl_opt={{cvId:'3',cType:'managed',cNounce:'{int(ray[:6], 16)}',cRay:'{ray}',cHash:'{ray[::-1]}'}};var a=document.createElement('script');a.src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray={ray}';document.getElementsByTagName('head')[0].appendChild(a);}}());</script>
<div class="footer" role="contentinfo"><div class="footer-inner"><div class="ray-id">Ray ID: <code>{ray}</code></div>
<div class="text-center" id="footer-text">Performance &amp; security by Cloudflare</div></div></div>
</body></html>
"""


def robots_txt(base_url: str, shape: str = "") -> str:
    # Shopify's default robots.txt keeps crawlers off its search pages: such a shop is searched
    # through its sitemap
    search = "Disallow: /search\n" if shape == "shopify" else ""
    return ("# robots.txt\nUser-agent: *\nDisallow: /private/\nDisallow: /_admin/\nDisallow: /cart\n"
            f"Disallow: /checkout\nDisallow: /account\n{search}Allow: /\n\n"
            f"Sitemap: {base_url}/sitemap.xml\n")


def sitemap_xml(store: Store, products: list[Product], base_url: str) -> str:
    urls = "".join(f"<url><loc>{esc(base_url + store.product_path(p))}</loc><changefreq>daily</changefreq></url>"
                   for p in products)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base_url}/</loc></url>{urls}</urlset>\n')


# --- Shopify endpoints -----------------------------------------------------------------------

def shopify_js(store: Store, product: Product, base_url: str, show_availability: bool = True,
               pad: str = "") -> dict:
    """``/products/<handle>.js``: prices in minor units, ``available`` per variant."""
    variants = product.variants or ("Default Title",)
    available = product.availability in ("in_stock", "preorder")
    price = minor_units(product.price)
    compare = minor_units(product.regular_price) if product.on_sale else None
    out_variants = []
    for i, title in enumerate(variants):
        v = {"id": int(f"{product.id}{i + 1:03d}") if product.id.isdigit() else f"{product.id}{i + 1:03d}",
             "title": title, "option1": title, "option2": None, "option3": None,
             "sku": product.sku if len(variants) == 1 else f"{product.sku}-{title}",
             "requires_shipping": True, "taxable": True, "name": product.name if len(variants) == 1 else f"{product.name} - {title}",
             "public_title": None if title == "Default Title" else title,
             "options": [title], "price": price, "weight": 450, "compare_at_price": compare,
             "inventory_management": "shopify", "barcode": product.gtin}
        if show_availability:
            v["available"] = available
        out_variants.append(v)
    data = {"id": int(product.id) if product.id.isdigit() else product.id, "title": product.name,
            "handle": product.handle, "description": f"<p>{esc(product.description)}</p>" + pad,
            "published_at": "2024-03-01T09:00:00-05:00", "created_at": "2024-02-27T14:12:40-05:00",
            "vendor": product.brand, "type": product.category, "tags": [product.category],
            "price": price, "price_min": price, "price_max": price, "price_varies": False,
            "compare_at_price": compare, "compare_at_price_min": compare or 0,
            "compare_at_price_max": compare or 0, "compare_at_price_varies": False,
            "variants": out_variants, "images": [_image(base_url, product)],
            "featured_image": _image(base_url, product),
            "options": [{"name": "Size" if product.variants else "Title", "position": 1,
                         "values": list(variants)}],
            "url": store.product_path(product)}
    if show_availability:
        data["available"] = available
    return data


def shopify_json(store: Store, product: Product, base_url: str, pad: str = "") -> dict:
    """``/products/<handle>.json``: the admin-style document, prices as decimal strings."""
    variants = product.variants or ("Default Title",)
    return {"product": {
        "id": int(product.id) if product.id.isdigit() else product.id, "title": product.name,
        "body_html": f"<p>{esc(product.description)}</p>" + pad, "vendor": product.brand,
        "product_type": product.category, "handle": product.handle,
        "created_at": "2024-02-27T14:12:40-05:00", "updated_at": "2024-06-01T10:00:00-04:00",
        "tags": product.category, "variants": [
            {"id": int(f"{product.id}{i + 1:03d}") if product.id.isdigit() else f"{product.id}{i + 1:03d}",
             "product_id": int(product.id) if product.id.isdigit() else product.id,
             "title": title, "price": amount_str(product.price),
             "compare_at_price": amount_str(product.regular_price) if product.on_sale else None,
             "sku": product.sku, "position": i + 1, "option1": title, "barcode": product.gtin,
             "requires_shipping": True, "taxable": True, "grams": 450}
            for i, title in enumerate(variants)],
        "images": [{"src": _image(base_url, product), "position": 1}]}}


# --- WooCommerce Store API and Magento GraphQL ------------------------------------------------

def woo_store_api(store: Store, product: Product, base_url: str, show_availability: bool = True,
                  pad: str = "") -> dict:
    """One product of ``/wp-json/wc/store/v1/products``: prices as strings in minor units."""
    digits = {"JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3}.get(store.currency, 2)
    scale = Decimal(10) ** digits

    def units(amount) -> str:
        return str(int((Decimal(amount) * scale).quantize(Decimal("1"), rounding=ROUND_HALF_UP)))

    regular = product.regular_price if product.on_sale else product.price
    doc = {"id": int(product.id) if product.id.isdigit() else product.id, "name": product.name,
           "slug": product.handle, "parent": 0, "type": "simple", "variation": "",
           "permalink": _url(base_url, store, product), "sku": product.sku,
           "short_description": f"<p>{esc(product.description)}</p>" + pad, "on_sale": product.on_sale,
           "prices": {"price": units(product.price), "regular_price": units(regular),
                      "sale_price": units(product.price), "price_range": None,
                      "currency_code": store.currency, "currency_symbol": money_parts(Decimal(0), store.currency, store.locale)[0].strip() or store.currency,
                      "currency_minor_unit": digits, "currency_decimal_separator": ".",
                      "currency_thousand_separator": ",", "currency_prefix": "", "currency_suffix": ""},
           "images": [{"id": 1, "src": _image(base_url, product), "alt": product.name}],
           "is_purchasable": True, "add_to_cart": {"text": "Add to cart"}}
    if show_availability and product.availability in ("in_stock", "out_of_stock", "preorder"):
        t = text(store.locale)
        doc["is_in_stock"] = product.availability != "out_of_stock"
        doc["is_on_backorder"] = product.availability == "preorder"
        doc["stock_availability"] = {
            "in_stock": {"text": t["in_stock"], "class": "in-stock"},
            "out_of_stock": {"text": "Out of stock", "class": "out-of-stock"},
            "preorder": {"text": f'{t["preorder"]} – {t["preorder_note"].format(date=PREORDER_DATE.get(store.lang, "June 30"))}',
                         "class": "available-on-backorder"},
        }[product.availability]
    return doc


def magento_graphql(store: Store, product: Product, base_url: str, show_availability: bool = True) -> dict:
    """``GET /graphql`` ``products(filter: {url_key: ...})``: one item, prices as numbers."""
    regular = product.regular_price if product.on_sale else product.price
    item = {"__typename": "SimpleProduct", "name": product.name, "sku": product.sku,
            "url_key": product.handle,
            "price_range": {"minimum_price": {
                "regular_price": {"value": float(regular), "currency": store.currency},
                "final_price": {"value": float(product.price), "currency": store.currency}}},
            "small_image": {"url": _image(base_url, product)}}
    if show_availability and product.availability != "unknown":
        item["stock_status"] = "OUT_OF_STOCK" if product.availability == "out_of_stock" else "IN_STOCK"
    return {"data": {"products": {"items": [item]}}}


# --- fault shapes ----------------------------------------------------------------------------

_PAD_UNIT = ('<div class="review" data-rating="5"><p class="review__author">Verified buyer</p>'
             '<p class="review__body">Exactly as described, solid build quality and it arrived quickly. '
             'Would happily recommend it to friends and family.</p></div>\n')
_pad_cache: dict[int, str] = {}


def padding(n_bytes: int) -> str:
    """At least ``n_bytes`` of review markup (ASCII), cached."""
    units = max(0, -(-n_bytes // len(_PAD_UNIT)))
    cached = _pad_cache.get(units)
    if cached is None:
        cached = '<section class="reviews-archive" id="reviews">\n' + _PAD_UNIT * units + "</section>\n"
        if len(_pad_cache) > 4:
            _pad_cache.clear()
        _pad_cache[units] = cached
    return cached


_LD_RE = re.compile(r'(<script type="application/ld\+json">)(.*?)(</script>)', re.S)


def malform(page_html: str) -> str:
    """Break a page the way broken shops do: cut JSON-LD, unclosed and stray tags, bad quotes.

    The visible price and the buy button stay readable; garbage bytes are added on encoding.
    """
    s = _LD_RE.sub(lambda m: m.group(1) + m.group(2)[: len(m.group(2)) * 2 // 3] + ",,}" + m.group(3), page_html)
    s = s.replace("</li>", "", 7).replace("</ul>", "</ul></div></span>", 2)
    s = s.replace('<div class="footer__blocks">', '<div class="footer__blocks" <table><tr><td>')
    s = s.replace("<header", '<div class="promo"><b><i>Limited offer<p class="x\' data-x=">\n<header', 1)
    s = s.replace("</main>", "<p><div><span>\n</main>", 1)
    s = s.replace("</body>\n</html>", "<!-- unterminated comment <div>", 1)
    return s


# --- a shop built in the browser -------------------------------------------------------------
# The page served is an app shell (a root element, a script, no product data); the script asks
# the JSON endpoint on the same host for the product and builds the page a buyer sees. Nothing
# in the HTML as served says what the product costs: only a crawl that renders can read it.

APP_SCRIPT_PATH = "/assets/app.js"

APP_JS = r"""(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("app-config").textContent);
  var root = document.getElementById("root");
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function money(amount, currency) {
    return new Intl.NumberFormat(cfg.locale, {style: "currency", currency: currency}).format(Number(amount));
  }
  function message(title, text) {
    root.textContent = "";
    var main = el("main", "page-message");
    main.appendChild(el("h1", "", title));
    main.appendChild(el("p", "", text));
    root.appendChild(main);
    document.title = title + " – " + cfg.store;
  }
  function show(p) {
    root.textContent = "";
    var main = el("main", "product");
    var img = el("img", "product-image");
    img.src = p.image; img.alt = p.name;
    main.appendChild(img);
    main.appendChild(el("p", "product-brand", p.brand));
    main.appendChild(el("h1", "product-title", p.name));
    var box = el("div", "price-box");
    box.appendChild(el("span", "price", money(p.price, p.currency)));
    if (p.compare_at_price) {
      box.appendChild(document.createTextNode(" "));
      box.appendChild(el("s", "price-was", money(p.compare_at_price, p.currency)));
    }
    main.appendChild(box);
    var labels = cfg.labels[p.availability];
    if (labels) {
      main.appendChild(el("p", "stock-status " + p.availability, labels[0]));
      var button = el("button", "add-to-cart", labels[1]);
      button.disabled = p.availability === "out_of_stock";
      main.appendChild(button);
    } else {
      main.appendChild(el("button", "choose-options", cfg.labels.neutral));
    }
    var about = el("section", "product-description");
    about.appendChild(el("h2", "", cfg.labels.description));
    about.appendChild(el("p", "", p.description));
    main.appendChild(about);
    root.appendChild(main);
    document.title = p.name + " – " + cfg.store;
  }
  var handle = location.pathname.split("/").filter(Boolean).pop() || "";
  fetch("/api/products/" + encodeURIComponent(handle), {headers: {"Accept": "application/json"}})
    .then(function (r) {
      if (r.status === 404 || r.status === 410) { message(cfg.labels.not_found[0], cfg.labels.not_found[1]); return null; }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    })
    .then(function (p) { if (p) { show(p); } })
    .catch(function () { message(cfg.labels.error[0], cfg.labels.error[1]); });
})();
"""


def app_shell(store: Store, product: Product) -> str:
    """The HTML a script-built shop serves for every product: a root element and a script."""
    t = text(store.locale)
    config = {
        "store": store.name, "locale": store.locale.replace("_", "-"),
        "labels": {"in_stock": [t["in_stock_note"], t["add_to_cart"]],
                   "out_of_stock": [t["out_of_stock_note"], t["sold_out_button"]],
                   "preorder": [t["preorder"], t["preorder_button"]],
                   "neutral": t["neutral_button"], "description": t["description"],
                   "not_found": ["Product not found", "Sorry, we could not find that product."],
                   "error": [t["error_title"], t["error"]]},
    }
    return f"""<!DOCTYPE html>
<html lang="{store.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(store.name)}</title>
<link rel="icon" href="/favicon.ico">
<script id="app-config" type="application/json">{_js(config)}</script>
<script src="{APP_SCRIPT_PATH}" defer></script>
</head>
<body>
<div id="root"></div>
<noscript>You need to enable JavaScript to run this app.</noscript>
</body>
</html>
"""


def app_product(store: Store, product: Product, base_url: str, show_availability: bool = True) -> dict:
    """What the shop's JSON endpoint answers for one product (amounts as decimal strings)."""
    av = _availability(product, show_availability)
    return {"id": product.id, "handle": product.handle, "name": product.name, "brand": product.brand,
            "description": product.description, "sku": product.sku,
            "price": amount_str(product.price), "currency": store.currency,
            "compare_at_price": amount_str(product.regular_price) if product.on_sale else None,
            "availability": av if av in ("in_stock", "out_of_stock", "preorder") else None,
            "image": _image(base_url, product)}
