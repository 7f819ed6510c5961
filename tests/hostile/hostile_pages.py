"""Hostile product pages for the extraction fuzz tests: hypothesis strategies and a fixed set of
the nastiest hand-made pages (also run under a memory limit in a subprocess).

Markers: text inside a real <script> element carries BODY_MARKER, text spelled inside <title>
(which HTML reads as plain text, tags and all) carries TITLE_MARKER, so a test can tell which
one reached the product name.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import strategies as st

BODY_MARKER = "BODYPWN"
TITLE_MARKER = "TITLEPWN"
WATCHDOG_SECONDS = 10

# seconds per page, per test, for the report; and how many pages each test generated
TIMINGS: dict[str, list[float]] = {}


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so `except Exception` in the code under test
    cannot swallow it and hide a hang."""


@contextmanager
def watchdog(label: str, seconds: int = WATCHDOG_SECONDS) -> Iterator[None]:
    """Fail as a hang when the body runs longer than `seconds` (SIGALRM, main thread), and record
    how long it took."""

    def fire(signum, frame):
        raise Hang(f"{label}: still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        TIMINGS.setdefault(label, []).append(time.perf_counter() - start)


# -- text pieces ----------------------------------------------------------------------------------

WEIRD_CHARS = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u202e", "\u202d", "\u200f", "\u061c",
               "\u0338", "\u0301", "\u20dd", "\x00", "\x0b", "\ud7ff", "\ufffd", "\U0001f4b0", "\u00a0",
               "\u2009", "\u3000", "\u2212", "\u2013", "\uff10", "\u0661", "\u066b"]
PRICE_TEXTS = [
    "$19.99", "19,99 €", "€ 1.299,00", "£-3.50", "-$5", "$-5", "−19.99", "- 19.99", "(5.00)",
    "nineteen dollars", "free", "call for price", "1e308", "$1e308", "1e-308", "NaN", "Infinity",
    "-0", "0", "0.00", "$0.001", "$12.345678", "999999999999999999999", "9" * 150, "$" + "9" * 190,
    "$1\u200b9.99", "1\u033819.99 €", "\u202e99.91$", "\u0661\u0662\u0663\u066b\u0664\u0665 ر.س",
    "\uff11\uff19.\uff19\uff19 \uff04", "USD 1,234,567,890.12", "1.2.3.4", "$$$", "€€19", "19.99.99",
    "¥ 3000", "₹ 1,00,000", "R$ 1.234,56", "CHF 1'234.50", "kr 1 234,50", "19.99 USD - 29.99 USD",
    "from $5 to $-10", "$ 19 . 99", "19<!-- -->.99", "US$19.99", "$" + "1," * 60 + "000",
]
AVAILABILITY_VALUES = [
    "InStock", "https://schema.org/OutOfStock", "http://schema.org/PreOrder", "SoldOut", "instock",
    "in stock", "Out of stock!", "Sold out", "only 2 left", "Add to cart", "Pre-order now",
    "ＩｎＳｔｏｃｋ", "In\u200bStock", "\u202eInStock", "InStock\x00", "x" * 500, "", " ", "null",
]


def sprinkle(draw, text: str) -> str:
    """Insert zero-width, bidi, combining and other odd characters at random places."""
    if not text or not draw(st.booleans()):
        return text
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(WEIRD_CHARS)))
    return "".join(chars)


words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
price_text = st.one_of(
    st.sampled_from(PRICE_TEXTS),
    st.builds(lambda sym, n: f"{sym}{n}", st.sampled_from(["$", "€", "£", "¥", "USD ", "", "-", "−$"]),
              st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str)),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    words,
)


def _json_scalar() -> st.SearchStrategy:
    return st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 5e-324, -0.0]),
        price_text, words,
    )


json_values = st.recursive(
    _json_scalar(),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(words, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def json_ld_block(draw) -> str:
    """One JSON-LD script: a Product with hostile offers, or a bomb, or broken JSON."""
    kind = draw(st.sampled_from(["product", "product", "graph", "nested", "wide", "broken", "raw"]))
    offer = {
        "@type": draw(st.sampled_from(["Offer", "AggregateOffer", ["Offer"], None, 5])),
        "price": draw(st.one_of(json_values, price_text)),
        "priceCurrency": draw(st.one_of(st.sampled_from(["USD", "EUR", "usd", "XXX", "", "€", "US$", "DOLLARS"]),
                                        json_values)),
        "availability": draw(st.one_of(st.sampled_from(AVAILABILITY_VALUES), json_values)),
        "lowPrice": draw(json_values),
    }
    product = {
        "@context": "https://schema.org", "@type": draw(st.sampled_from(["Product", "product", ["Product"], "Thing"])),
        "name": draw(st.one_of(words, st.just(f"<script>{TITLE_MARKER}</script>Widget"), json_values)),
        "sku": draw(json_values),
        "gtin13": draw(json_values),
        "offers": draw(st.sampled_from([offer, [offer, offer], {"offers": offer}, [], None, "offer"])),
    }
    if kind == "product":
        data = json.dumps(product, allow_nan=True)
    elif kind == "graph":
        data = json.dumps({"@graph": [product, draw(json_values)]}, allow_nan=True)
    elif kind == "nested":
        depth = draw(st.integers(10, 1000))
        data = "[" * depth + json.dumps(product) + "]" * depth
    elif kind == "wide":
        count = draw(st.integers(10, 300))
        data = "[" + ",".join([json.dumps(product, allow_nan=True)] * count) + "]"
    elif kind == "broken":
        text = json.dumps(product, allow_nan=True)
        data = text[: draw(st.integers(0, len(text)))]
    else:
        data = draw(words)
    data = data.replace("</", "<\\/") if draw(st.booleans()) else data
    return f'<script type="application/ld+json">{data}</script>'


@st.composite
def body_piece(draw) -> str:
    kind = draw(st.sampled_from(["h1", "price", "microdata", "stock", "button", "nest", "attr", "junk",
                                 "unclosed", "script", "og", "table"]))
    if kind == "h1":
        name = sprinkle(draw, "Widget")  # odd characters in the text, never inside the tags
        inner = draw(st.sampled_from([f"<script>alert('{BODY_MARKER}')</script>{name}",
                                      f"Wid<script>document.write('{BODY_MARKER}')</script>{name}",
                                      f"<img src=x onerror=alert(1)>{name}", name]))
        return f"<h1>{inner}</h1>"
    if kind == "price":
        cls = draw(st.sampled_from(["price", "sale-price", "was-price", "price--old", "total", ""]))
        return f'<span class="{cls}">{sprinkle(draw, draw(price_text))}</span>'
    if kind == "microdata":
        return (f'<div itemscope itemtype="https://schema.org/Product">'
                f'<span itemprop="name"><script>{BODY_MARKER}</script>{sprinkle(draw, draw(words))}</span>'
                f'<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
                f'<meta itemprop="price" content="{draw(price_text)}">'
                f'<meta itemprop="priceCurrency" content="{draw(st.sampled_from(["USD", "EUR", "x", ""]))}">'
                f'<link itemprop="availability" href="{draw(st.sampled_from(AVAILABILITY_VALUES))}"></div></div>')
    if kind == "stock":
        return f"<p>{sprinkle(draw, draw(st.sampled_from(AVAILABILITY_VALUES)))}</p>"
    if kind == "button":
        return draw(st.sampled_from(["<button>Add to cart</button>", "<button disabled>Sold out</button>",
                                     "<form><input type=submit value='Buy now'></form>"]))
    if kind == "nest":
        depth = draw(st.integers(1, 600))
        tag = draw(st.sampled_from(["div", "span", "b", "table", "li", "p"]))
        closed = draw(st.booleans())
        return f"<{tag}>" * depth + draw(price_text) + (f"</{tag}>" * depth if closed else "")
    if kind == "attr":
        size = draw(st.integers(1, 40_000))
        fill = draw(st.sampled_from(["A", "<", "&amp;", '"', "é"])) * size
        return f'<div data-x="{fill}">{draw(price_text)}</div>'
    if kind == "junk":
        return draw(st.text(max_size=300))
    if kind == "unclosed":
        return draw(st.sampled_from(["<div", "<span class='price'>$", "<!--", "<![CDATA[", "<script>",
                                     "<style>", "<title>", "</html>", "<table><tr><td>", "&#x", "&#99999999;",
                                     "<<<>>>", "<a href='", "<textarea>", "<plaintext>"]))
    if kind == "script":
        return f"<script>var name = '{BODY_MARKER}'; document.title = '{BODY_MARKER}';</script>"
    if kind == "og":
        return (f'<meta property="og:price:amount" content="{draw(price_text)}">'
                f'<meta property="product:price:currency" content="{draw(st.sampled_from(["USD", "?", ""]))}">')
    return "<table>" + "".join(f"<tr><td>{draw(words)}</td><td>{draw(price_text)}</td></tr>"
                               for _ in range(draw(st.integers(0, 5)))) + "</table>"


@st.composite
def hostile_page(draw) -> str | bytes:
    """A whole page: hostile head and body pieces, served as text or as bytes in some encoding."""
    title = draw(st.one_of(words, st.sampled_from([
        f"<script>alert('{TITLE_MARKER}')</script>Widget", f"</title><script>{BODY_MARKER}</script>",
        "W" * 20_000, "\u202eWidget\u202c", "Wi\u0301\u0301\u0301dget", "Wid\x00get",
    ])))
    head = "".join(draw(st.lists(json_ld_block(), max_size=2)))
    if draw(st.booleans()):
        head += f'<meta property="og:title" content="{draw(words)}">'
    charset = draw(st.sampled_from(["", '<meta charset="utf-8">', '<meta charset="shift_jis">',
                                    '<meta charset="utf-16">', '<meta charset="x-nonsense">',
                                    '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">']))
    body = "".join(draw(st.lists(body_piece(), max_size=6)))
    page = f"<!DOCTYPE html><html><head>{charset}<title>{title}</title>{head}</head><body>{body}</body></html>"
    if draw(st.booleans()):
        page = page[: draw(st.integers(0, len(page)))]  # cut off mid-markup
    form = draw(st.sampled_from(["str", "utf-8", "utf-16", "cp1252", "shift_jis", "latin-1", "mixed"]))
    if form == "str":
        return page
    if form == "mixed":
        half = len(page) // 2
        raw = page[:half].encode("utf-8", "replace") + page[half:].encode("utf-16", "replace")
    else:
        raw = page.encode(form, "replace")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=16)) + raw[at:]
    return raw


# -- the nastiest pages, by hand --------------------------------------------------------------------

def _product_ld(price: str) -> str:
    return ('<script type="application/ld+json">{"@type":"Product","name":"Widget","offers":'
            '{"@type":"Offer","price":' + price + ',"priceCurrency":"USD"}}</script>')


def nasty_pages() -> dict[str, str | bytes]:
    """Pages built to hurt: depth, width, size, bombs. Names are test ids."""
    shell = "<html><head><title>Widget</title>{head}</head><body><h1>Widget</h1>{body}</body></html>"
    pages: dict[str, str | bytes] = {
        "nested-50000-divs": "<div>" * 50_000 + shell.format(head="", body="$19.99") + "</div>" * 50_000,
        "nested-50000-unclosed": "<html><body>" + "<span>" * 50_000 + "$19.99",
        "nested-50000-tables": "<table><tr><td>" * 50_000 + "$19.99",
        "attribute-8MB": shell.format(head="", body='<div data-x="' + "A" * 8_000_000 + '">$19.99</div>'),
        "attributes-2000": shell.format(head="", body="<div " + " ".join(f"a{i}=x" for i in range(2_000)) + ">"),
        "title-3MB": shell.replace("Widget</title>", "W" * 3_000_000 + "</title>").format(head="", body=""),
        "text-node-6MB": shell.format(head="", body="9" * 6_000_000),
        "jsonld-nested-arrays-500000": shell.format(
            head='<script type="application/ld+json">' + "[" * 500_000 + "]" * 500_000 + "</script>", body=""),
        "jsonld-nested-objects-100000": shell.format(
            head='<script type="application/ld+json">' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "</script>",
            body=""),
        "jsonld-array-of-200000-products": shell.format(
            head='<script type="application/ld+json">['
                 + ",".join(['{"@type":"Product","name":"x","offers":{"price":"1"}}'] * 20_000) + "]</script>",
            body=""),
        "jsonld-many-blocks": shell.format(head=_product_ld('"1"') * 5_000, body=""),
        "jsonld-100000-digit-number": shell.format(head=_product_ld("9" * 100_000), body=""),
        "jsonld-1e308": shell.format(head=_product_ld("1e308"), body=""),
        "jsonld-1e400": shell.format(head=_product_ld("1e400"), body=""),
        "jsonld-NaN": shell.format(head=_product_ld("NaN"), body=""),
        "jsonld-Infinity": shell.format(head=_product_ld("-Infinity"), body=""),
        "prices-20000": shell.format(head="", body="<span class='price'>$1.00</span>" * 20_000),
        "entities-1000000": shell.format(head="", body="&amp;" * 1_000_000),
        "nul-bytes": (shell.format(head="", body="<span>$1\x009.99</span>") + "\x00" * 100_000).encode(),
        "invalid-utf8-1MB": b'<meta charset="utf-8"><title>\xff\xfe</title>' + bytes(range(128, 256)) * 4_000,
        "utf16-without-bom": shell.format(head="", body="$19.99").encode("utf-16-le"),
        "comment-never-closed": "<html><body><!--" + "x" * 2_000_000,
    }
    return pages
