import pytest

from spiders.extraction import map_availability

SCHEMA = {
    "InStock": "in_stock", "InStoreOnly": "out_of_stock", "LimitedAvailability": "in_stock",
    "OnlineOnly": "in_stock", "OutOfStock": "out_of_stock", "SoldOut": "out_of_stock",
    "Discontinued": "out_of_stock", "PreOrder": "preorder", "PreSale": "preorder",
    "BackOrder": "out_of_stock", "MadeToOrder": "in_stock", "Reserved": "out_of_stock",
}


@pytest.mark.parametrize("value,expected", sorted(SCHEMA.items()))
@pytest.mark.parametrize("prefix", ["", "http://schema.org/", "https://schema.org/", "HTTPS://SCHEMA.ORG/", "schema:"])
def test_all_twelve_item_availability_values_map_with_any_prefix(prefix, value, expected):
    assert map_availability(prefix + value) == expected
    assert map_availability((prefix + value).lower()) == expected


@pytest.mark.parametrize(
    "phrase,expected",
    [
        ("Sold out", "out_of_stock"), ("Out of stock", "out_of_stock"),
        ("This item is no longer available", "out_of_stock"), ("Ausverkauft", "out_of_stock"),
        ("Derzeit nicht verfügbar", "out_of_stock"), ("Rupture de stock", "out_of_stock"),
        ("Agotado", "out_of_stock"), ("نفذ من المخزون", "out_of_stock"), ("在庫切れ", "out_of_stock"),
        ("売り切れ", "out_of_stock"), ("Épuisé", "out_of_stock"), ("Pre-order now", "preorder"),
        ("Vorbestellen", "preorder"), ("In stock", "in_stock"), ("Auf Lager", "in_stock"),
        ("En stock", "in_stock"), ("Available in store only", "out_of_stock"),
        ("Purchase now and we'll ship when it's available.", "out_of_stock"),
        ("http://schema.org/In Stock", "in_stock"), ("instock", "in_stock"), ("oos", "out_of_stock"),
    ],
)
def test_visible_stock_phrases_in_several_languages(phrase, expected):
    assert map_availability(phrase) == expected


@pytest.mark.parametrize("value", [None, "", "true", 1, "Please select a size to see availability and "
                                   "delivery options for your area, then add the item to your bag to continue."])
def test_no_signal_is_unknown_never_a_guess(value):
    assert map_availability(value) == "unknown"
