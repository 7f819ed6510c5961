"""Small product pages in the shapes real shops use, for the classes of mistake an extractor
makes on pages it has never seen (tests/extraction/test_mistake_classes.py)."""

from __future__ import annotations

import json

ADD = '<button type="submit" class="add-to-cart">Add to cart</button>'
URL = "https://shop.example/p/trail-runner"


def page(body: str, *, lang: str = "en", title: str = "Trail Runner Pro", jsonld=None, head: str = "",
         script: str = "", before_main: str = "", after_main: str = "") -> bytes:
    """A product page: the store's header and footer around a buy box holding `body`."""
    ld = (f'<script type="application/ld+json">{json.dumps(jsonld, ensure_ascii=False)}</script>'
          if jsonld else "")
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title} | Shop</title>{ld}{head}</head>
<body><header><nav><a href="/">Home</a> <a href="/c/shoes">Shoes</a> <a href="/c/sale">Sale</a></nav></header>
{before_main}<main><div class="product"><h1>{title}</h1>{body}</div>
<section class="description"><h2>Details</h2><p>A light shoe with a grippy sole, made for long days on rough trails.</p></section>
</main>{after_main}{script}
<footer><p>Customer service</p><p>© Shop</p></footer></body></html>""".encode()


def product(name: str = "Trail Runner Pro", offers=None, **extra) -> dict:
    d = {"@context": "https://schema.org", "@type": "Product", "name": name}
    if offers is not None:
        d["offers"] = offers
    d.update(extra)
    return d


def offer(price, currency: str = "USD", availability: str = "InStock", **extra) -> dict:
    d = {"@type": "Offer", "price": price, "priceCurrency": currency,
         "availability": f"https://schema.org/{availability}"}
    d.update(extra)
    return d
