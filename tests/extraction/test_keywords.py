"""The literal word pre-filters must never hide a phrase the full regexes would find."""

import re

import pytest

from spiders.extraction import availability as av
from spiders.extraction.keywords import TextIndex, required_words, word_groups

SAMPLES = [
    "Sold out", "SOLD-OUT", "Out of stock", "In stock", "Only 3 left", "12 in stock", "Usually ships within 2 days",
    "Auf Lager", "Derzeit nicht verfügbar", "Rupture de stock", "Agotado", "Sin existencias", "Pre-order now",
    "Vorbestellen", "Available in store only", "Back-ordered", "We'll ship when it's available", "Current stock: 5",
    "Notify me when it's back", "品切れ", "нет в наличии", "Add to cart", "Free shipping on orders over $50",
    "Customer reviews (12)", "Product details", "This item is currently unavailable", "disponible",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_word_groups_agree_with_the_full_alternation(text):
    assert av._any_stock_phrase(text) == bool(av._ANY_RE.search(text))


def test_every_phrase_list_has_required_words():
    assert required_words(av.BUY_PHRASES)
    assert av.STOCK_WORDS
    assert required_words(["sold[- ]?out"]) == ("sold",)
    assert set(required_words(["(?:plus|non|pas) disponible"])) == {"disponible"}
    assert required_words([r"\d+"]) is None


def test_word_groups_cover_each_phrase():
    groups = word_groups(["sold[- ]?out", "pre[- ]?order", "presale"], re.I)
    assert any(rx.search("SOLD OUT") for rx in groups.values())
    assert any(rx.search("presale") for rx in groups.values())


def test_text_index_finds_pieces_by_word():
    idx = TextIndex(["Price", "In Stock", "Add to Cart", "stock"], ["a", "b", "c", "d"])
    assert idx.segments_with(("stock",)) == [1, 3]
    assert idx.segments_with(("cart", "price")) == [0, 2]
    assert idx.segments_with(None) == [0, 1, 2, 3]
