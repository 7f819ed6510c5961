"""Products sold at several demo shops, as shops really sell them.

The same product goes under a different title at each shop ("Kestrel Electric Gooseneck Kettle
1 L", "Electric Gooseneck Kettle 1 L by Kestrel"), at its own URL, with the same GTIN written
the shop's way (EAN-13, or UPC-A with the leading zero dropped), or with none at all (shops whose
pages carry no GTIN). Beside each product sit near-identical different products: another size,
another colour, a multipack; they must never be taken for it.

:data:`SEARCH_PATHS` says how each page shape is searched (a template with ``{query}``); shapes
that are left out are searched through their sitemap only. :func:`with_overlap` adds the shared
products to a catalogue (after its own products, so their ids and positions stay as they were),
and :func:`truth` tells a benchmark which shops carry which product.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from .catalogue import Product, Store, ean13, slugify

#: how each shape's platform lays out its search URL; opengraph and plain shops: sitemap only
SEARCH_PATHS = {
    "shopify": "/search?q={query}&type=product",
    "woocommerce": "/?s={query}&post_type=product",
    "magento": "/catalogsearch/result/?q={query}",
    "german": "/suche?q={query}",
}


@dataclass(frozen=True)
class Offer:
    """One shop's listing of a shared product: its title there, its price, whether its page
    shows the GTIN and in which form."""

    store: str
    title: str
    price: str
    gtin_form: str = "ean13"  # ean13 | upc12 | none


@dataclass(frozen=True)
class Shared:
    key: str
    name: str  # the name a shopper types
    brand: str
    category: str
    offers: tuple[Offer, ...]
    #: near-identical different products: (store, title, price)
    decoys: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)


SHARED: tuple[Shared, ...] = (
    Shared("kettle", "Kestrel Electric Gooseneck Kettle 1 L", "Kestrel", "kitchen", (
        Offer("copperpot", "Kestrel Electric Gooseneck Kettle 1 L", "69.99"),
        Offer("gadgetdepot", "Electric Gooseneck Kettle 1 L by Kestrel", "64.99", "upc12"),
        Offer("northwind", "Kestrel Gooseneck Kettle, Electric – 1 L", "72.00"),
        Offer("dailybasket", "Kestrel Electric Gooseneck Kettle 1 L", "66.50", "none"),
    ), decoys=(
        ("copperpot", "Kestrel Electric Gooseneck Kettle 1.7 L", "79.99"),
        ("gadgetdepot", "Kestrel Electric Gooseneck Kettle 1 L – Matte Black", "67.99"),
        ("northwind", "Kestrel Electric Gooseneck Kettle 1 L 2-Pack", "129.00"),
    )),
    Shared("headlamp", "Lumio Rechargeable Headlamp 400 Lumen", "Lumio", "outdoor", (
        Offer("northwind", "Lumio Rechargeable Headlamp 400 Lumen", "39.99"),
        Offer("gadgetdepot", "Lumio 400 Lumen Rechargeable Headlamp", "34.99"),
        Offer("maison-lumiere", "Lumio Rechargeable Headlamp 400 Lumen – Lampe frontale", "36.00", "none"),
    ), decoys=(
        ("northwind", "Lumio Rechargeable Headlamp 600 Lumen", "49.99"),
        ("gadgetdepot", "Lumio Rechargeable Headlamp 400 Lumen 2-Pack", "59.99"),
    )),
    Shared("bottle", "Bluewater Insulated Water Bottle 32 oz", "Bluewater", "outdoor", (
        Offer("northwind", "Bluewater Insulated Water Bottle 32 oz", "29.99"),
        Offer("copperpot", "Bluewater 32 oz Insulated Bottle for Water", "27.49", "upc12"),
        Offer("dailybasket", "Bluewater Insulated Water Bottle, 32 oz", "26.99", "none"),
        Offer("gadgetdepot", "Insulated Water Bottle 32 oz – Bluewater", "31.00"),
    ), decoys=(
        ("northwind", "Bluewater Insulated Water Bottle 24 oz", "24.99"),
        ("copperpot", "Bluewater Insulated Water Bottle 32 oz – Forest Green", "29.49"),
    )),
    Shared("frenchpress", "Halvard French Press Coffee Maker 34 oz", "Halvard", "kitchen", (
        Offer("copperpot", "Halvard French Press Coffee Maker 34 oz", "34.99"),
        Offer("dailybasket", "Halvard Coffee Maker French Press 34 oz", "31.99", "none"),
        Offer("gadgetdepot", "Halvard French Press 34 oz Coffee Maker", "36.49"),
        Offer("voltmarkt", "Halvard French Press Coffee Maker 34 oz", "32.90"),
    ), decoys=(
        ("copperpot", "Halvard French Press Coffee Maker 12 oz", "22.99"),
        ("gadgetdepot", "Halvard French Press Coffee Maker 34 oz – Refurbished", "21.99"),
    )),
    Shared("speaker", "Brightline Portable Bluetooth Speaker", "Brightline", "electronics", (
        Offer("gadgetdepot", "Brightline Portable Bluetooth Speaker", "59.99"),
        Offer("northwind", "Brightline Bluetooth Speaker (Portable)", "64.99"),
        Offer("voltmarkt", "Brightline Portable Bluetooth Speaker", "57.90"),
        Offer("maison-lumiere", "Brightline Portable Bluetooth Speaker", "61.00", "none"),
    ), decoys=(
        ("gadgetdepot", "Brightline Portable Bluetooth Speaker Mini", "39.99"),
        ("northwind", "Brightline Portable Bluetooth Speaker – Slate Blue", "64.99"),
    )),
)


def _upc12(gtin13: str) -> str:
    return gtin13[1:] if gtin13.startswith("0") else gtin13


def with_overlap(stores: list[Store], seed: int = 17) -> list[Store]:
    """The catalogue with the shared products (and their decoys) added to the shops named; shops
    not in the catalogue are skipped. Returns the same store objects, extended."""
    rng = random.Random(seed)
    by_slug = {s.slug: s for s in stores}
    next_id = {s.slug: max((int(p.id) for p in s.products if p.id.isdigit()), default=0) + 500 for s in stores}
    for shared in SHARED:
        # GS1 company prefixes 07x: ordinary trade items (02x and 04x are for in-store use only,
        # and the identity rules rightly refuse to link on them)
        gtin = ean13(rng, "07")
        for offer in shared.offers:
            store = by_slug.get(offer.store)
            if store is None:
                continue
            code = {"ean13": gtin, "upc12": _upc12(gtin), "none": ""}[offer.gtin_form]
            store.products.append(_product(store, next_id, offer.title, offer.price, code, shared))
        for slug, title, price in shared.decoys:
            store = by_slug.get(slug)
            if store is not None:
                store.products.append(_product(store, next_id, title, price, ean13(rng, "07"), shared))
    return stores


def _product(store: Store, next_id: dict[str, int], title: str, price: str, gtin: str, shared: Shared) -> Product:
    pid = next_id[store.slug]
    next_id[store.slug] = pid + 1
    return Product(id=str(pid), handle=slugify(title), name=title, price=Decimal(price), regular_price=None,
                   currency=store.currency, availability="in_stock", sku=f"X-{pid}", gtin=gtin,
                   brand=shared.brand, category=slugify(shared.category),
                   description=f"{title}. Sold here under our own title; the manufacturer's product.")


def truth() -> dict[str, dict[str, str]]:
    """product key -> {store slug -> the title the shop sells it under} (decoys left out)."""
    return {s.key: {o.store: o.title for o in s.offers} for s in SHARED}


def gtin_shown(key: str, store: str) -> bool:
    """Whether that shop's page of that product shows a GTIN (the identity rules can link it)."""
    shared = next(s for s in SHARED if s.key == key)
    offer = next(o for o in shared.offers if o.store == store)
    return offer.gtin_form != "none"


__all__ = ["SEARCH_PATHS", "SHARED", "Offer", "Shared", "gtin_shown", "truth", "with_overlap"]
