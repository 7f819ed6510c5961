"""The structured-data fast path (the buy box alone, not the whole page) must give exactly what
the whole-page analysis gives, on every demo-store product page and every labelled real page."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

import pytest

from demostore import DemoStoreServer, demo_catalogue
from spiders.extraction import chain, extract_product

from .conftest import REALPAGES


def _both(body: bytes, url: str | None, monkeypatch) -> tuple:
    monkeypatch.setattr(chain, "FAST_PATH", True)
    fast = extract_product(body, url)
    monkeypatch.setattr(chain, "FAST_PATH", False)
    full = extract_product(body, url)
    monkeypatch.setattr(chain, "FAST_PATH", True)
    return fast, full


def _answers(ex) -> dict:
    """What a reading tells (the rule names differ by route: the buy box alone, or all of it)."""
    out = ex.to_json()
    out.pop("rules")
    return {**out, "image_url": ex.image_url}


def _same(fast, full) -> bool:
    return _answers(fast) == _answers(full)


@pytest.fixture(scope="module")
def demo_pages():
    catalogue = demo_catalogue(faults=False)
    out = []
    with DemoStoreServer(catalogue) as shops:
        for store in catalogue:
            for product in store.products:
                url = shops.product_url(store.slug, product.id)
                with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
                    out.append((store.shape, url, resp.read()))
    return out


def test_the_fast_path_agrees_with_the_whole_page_on_every_demo_product(demo_pages, monkeypatch):
    wrong = []
    taken = {}
    for shape, url, body in demo_pages:
        fast, full = _both(body, url, monkeypatch)
        if not _same(fast, full):
            wrong.append(f"{url}: fast {fast.to_json()} {fast.notes} / full {full.to_json()} {full.notes}")
        taken.setdefault(shape, []).append(chain.FAST_NOTE in fast.notes)
        if shape == "plain" and chain.FAST_NOTE in fast.notes:
            assert fast.source == "script", fast  # no structured markup: only its script state
    assert not wrong, "\n".join(wrong)
    # every shape with structured data mostly takes it (an "unknown" stock product does not)
    for shape in ("shopify", "woocommerce", "magento", "opengraph", "german"):
        assert sum(taken[shape]) >= 0.8 * len(taken[shape]), (shape, taken[shape])



def test_the_fast_path_agrees_with_the_whole_page_on_the_real_pages(monkeypatch):
    labels_path = REALPAGES / "labels.jsonl"
    if not labels_path.exists():
        pytest.skip(f"real pages not present at {REALPAGES}")
    wrong = []
    for line in labels_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        lab = json.loads(line)
        body = (REALPAGES / "pages" / f"{lab['id']}.html").read_bytes()
        fast, full = _both(body, lab.get("url"), monkeypatch)
        if not _same(fast, full):
            wrong.append(f"{lab['id']}: fast {fast.to_json()} {fast.notes} / full {full.to_json()} {full.notes}")
    assert not wrong, "\n".join(wrong)


def test_a_structured_price_shown_struck_through_is_read_from_the_whole_page():
    ld = {"@type": "Product", "name": "Acme Kettle", "offers": {"price": "59.00", "priceCurrency": "USD",
                                                              "availability": "https://schema.org/InStock"}}
    html = (f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head><body>'
            '<div class="info"><h1>Acme Kettle</h1><div class="price"><s>$59.00</s> <span class="sale">$39.00</span>'
            '</div><button>Add to cart</button></div></body></html>')
    ex = extract_product(html)
    assert chain.FAST_NOTE not in ex.notes
    assert (ex.price, ex.regular_price, ex.source) == (Decimal("39.00"), Decimal("59.00"), "visible")
