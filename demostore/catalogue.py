"""The catalogue model of the demo stores and a deterministic generator.

A :class:`Store` is one online shop with one page *shape* (the markup family its product pages
use); a :class:`Product` is one product page at that shop and carries how its URL behaves right
now (:attr:`Product.status`). Everything here is plain data: the server copies it on start and
replaces products as they change, so a catalogue object can be reused for several servers.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

AVAILABILITIES = ("in_stock", "out_of_stock", "preorder", "unknown")

STATUSES = (
    "ok",
    "gone404",
    "gone410",
    "redirect_home",
    "error500",
    "throttle429",
    "slow",
    "timeout",
    "oversize",
    "malformed",
    "challenge",
    "no_availability",
    "maintenance",
)

#: Statuses that answer at once (no sleeping, no huge bodies): the default fault mix.
FAST_FAULTS = (
    "gone404",
    "gone410",
    "redirect_home",
    "error500",
    "throttle429",
    "malformed",
    "challenge",
    "no_availability",
)

SHAPES = ("shopify", "woocommerce", "magento", "opengraph", "plain", "german")
#: Shapes whose product pages are built by script in the browser: the HTML served is an app
#: shell, and the price and stock arrive from a JSON endpoint on the same host. A crawl reads
#: them only when the store renders (``stores add --render js``).
SCRIPT_SHAPES = ("app",)

CENT = Decimal("0.01")


def _money(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value).strip())


@dataclass
class Product:
    """One product page at one store.

    ``price`` is what the page shows as the current price, ``regular_price`` the struck-through
    "was" price (None when not on sale). ``status`` says how the URL behaves (see STATUSES).
    """

    id: str
    handle: str
    name: str
    price: Decimal
    regular_price: Decimal | None
    currency: str
    availability: str = "in_stock"
    sku: str = ""
    gtin: str = ""
    status: str = "ok"
    brand: str = ""
    category: str = "general"
    variants: tuple[str, ...] = ()
    description: str = ""
    rating: float = 4.5
    review_count: int = 0
    #: net quantity for a per-unit price, e.g. "500 g", "750 ml", "1 kg" ("" when sold by item)
    pack_size: str = ""

    def __post_init__(self) -> None:
        self.id = str(self.id)
        self.price = _money(self.price)
        if self.regular_price is not None:
            self.regular_price = _money(self.regular_price)
        self.currency = self.currency.upper()
        self.variants = tuple(self.variants)
        if self.availability not in AVAILABILITIES:
            raise ValueError(f"availability must be one of {AVAILABILITIES}: {self.availability!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}: {self.status!r}")

    @property
    def on_sale(self) -> bool:
        return self.regular_price is not None and self.regular_price > self.price

    def to_dict(self) -> dict:
        d = asdict(self)
        d["price"] = str(self.price)
        d["regular_price"] = None if self.regular_price is None else str(self.regular_price)
        d["variants"] = list(self.variants)
        return d

    def changed(self, **changes) -> Product:
        """A copy with ``changes`` applied and validated."""
        return replace(self, **changes)


#: URL layout per shape; ``{handle}`` and ``{id}`` are filled from the product.
PRODUCT_PATHS = {
    "shopify": "/products/{handle}",
    "woocommerce": "/product/{handle}/",
    "magento": "/{handle}.html",
    "opengraph": "/shop/{handle}",
    "plain": "/p/{id}/{handle}",
    "german": "/produkt/{handle}-{id}",
    "app": "/item/{handle}",
}


@dataclass
class Store:
    """One online shop served on its own 127.0.0.1 port."""

    slug: str
    name: str
    currency: str
    locale: str
    shape: str
    products: list[Product] = field(default_factory=list)
    #: the charset the store's HTML is encoded in (declared in Content-Type and a meta tag)
    charset: str = "utf-8"

    def __post_init__(self) -> None:
        if self.shape not in SHAPES + SCRIPT_SHAPES:
            raise ValueError(f"shape must be one of {SHAPES + SCRIPT_SHAPES}: {self.shape!r}")
        self.currency = self.currency.upper()

    @property
    def needs_render(self) -> bool:
        """Whether the store's product pages show their price only once a browser runs them."""
        return self.shape in SCRIPT_SHAPES

    @property
    def lang(self) -> str:
        return self.locale.split("_")[0].lower()

    def product(self, product_id) -> Product:
        pid = str(product_id)
        for p in self.products:
            if p.id == pid:
                return p
        raise KeyError(f"{self.slug}: no product {pid!r}")

    def product_path(self, product: Product) -> str:
        return PRODUCT_PATHS[self.shape].format(handle=product.handle, id=product.id)


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def slugify(text: str) -> str:
    text = text.translate(_UMLAUTS)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def ean13(rng: random.Random, prefix: str = "0") -> str:
    """A random EAN-13 with a valid check digit."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(12 - len(prefix)))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


# --- generator vocabulary ------------------------------------------------------------------

SIZES = ("XS", "S", "M", "L", "XL")
SHOE_SIZES = ("7", "8", "9", "10", "11", "12")

# (noun, low price, high price, variants, pack size)
CATEGORIES: dict[str, list[tuple[str, int, int, tuple[str, ...], str]]] = {
    "outdoor": [
        ("Trail Running Shoes", 89, 169, SHOE_SIZES, ""),
        ("Insulated Water Bottle 32 oz", 24, 45, (), ""),
        ("Ultralight 2-Person Tent", 189, 449, (), ""),
        ("Down Sleeping Bag 20°F", 149, 399, ("Regular", "Long"), ""),
        ("Merino Hiking Socks 3-Pack", 19, 34, ("S", "M", "L"), ""),
        ("Rechargeable Headlamp 400 Lumen", 29, 69, (), ""),
        ("Packable Rain Jacket", 79, 229, SIZES, ""),
        ("Carbon Trekking Poles", 49, 139, (), ""),
        ("Backpacking Stove", 39, 119, (), ""),
        ("Daypack 24 L", 59, 149, (), ""),
        ("Fleece Quarter-Zip Pullover", 49, 119, SIZES, ""),
        ("Camp Chair", 35, 99, (), ""),
    ],
    "apparel": [
        ("Organic Cotton Crew T-Shirt", 18, 38, SIZES, ""),
        ("Slim Fit Stretch Chinos", 49, 98, ("30", "32", "34", "36"), ""),
        ("Merino Crew Sweater", 69, 149, SIZES, ""),
        ("Quilted Puffer Vest", 59, 139, SIZES, ""),
        ("Waxed Canvas Tote", 39, 89, (), ""),
        ("Ribbed Wool Beanie", 19, 39, (), ""),
        ("Full-Grain Leather Belt", 29, 79, ("32", "34", "36", "38"), ""),
    ],
    "kitchen": [
        ('Cast Iron Skillet 10"', 24, 59, (), ""),
        ("Enameled Dutch Oven 5.5 qt", 69, 329, (), ""),
        ('Chef\'s Knife 8"', 39, 189, (), ""),
        ("French Press Coffee Maker 34 oz", 19, 49, (), ""),
        ("Electric Gooseneck Kettle", 49, 169, (), ""),
        ("Stand Mixer 5 qt", 199, 499, (), ""),
        ("Nonstick Fry Pan Set", 49, 149, (), ""),
        ("End-Grain Cutting Board", 29, 89, (), ""),
        ("Digital Kitchen Scale", 14, 39, (), ""),
        ("Pour-Over Coffee Dripper", 15, 35, (), ""),
        ("Stainless Steel Saucepan 3 qt", 39, 119, (), ""),
        ("Espresso Machine with Steam Wand", 299, 1199, (), ""),
    ],
    "electronics": [
        ("Wireless Noise-Cancelling Headphones", 99, 399, (), ""),
        ("Portable Bluetooth Speaker", 39, 199, (), ""),
        ("65W USB-C GaN Charger", 29, 69, (), ""),
        ('27" 4K IPS Monitor', 249, 699, (), ""),
        ("Mechanical Keyboard", 69, 199, (), ""),
        ("Ergonomic Wireless Mouse", 19, 99, (), ""),
        ("1TB Portable SSD", 79, 169, (), ""),
        ("Smart Plug 4-Pack", 24, 49, (), ""),
        ("1080p Webcam", 39, 129, (), ""),
        ("Aluminum Laptop Stand", 29, 79, (), ""),
        ('55" OLED 4K Smart TV', 999, 1799, (), ""),
        ("Robot Vacuum with Mapping", 249, 899, (), ""),
    ],
    "grocery": [
        ("Organic Dark Roast Whole Bean Coffee", 9, 18, (), "340 g"),
        ("Extra Virgin Olive Oil", 8, 22, (), "500 ml"),
        ("Sea Salt Sourdough Crackers", 3, 6, (), "200 g"),
        ("85% Dark Chocolate Bar", 2, 5, (), "100 g"),
        ("Old-Fashioned Rolled Oats", 3, 7, (), "1 kg"),
        ("Crunchy Almond Butter", 6, 12, (), "350 g"),
        ("Aged Basmati Rice", 5, 12, (), "2 kg"),
        ("Raw Wildflower Honey", 7, 15, (), "500 g"),
        ("Bronze-Cut Spaghetti", 2, 5, (), "500 g"),
        ("Sencha Green Tea", 5, 14, (), "100 g"),
        ("Smoked Paprika", 3, 8, (), "70 g"),
        ("Sparkling Mineral Water 6-Pack", 4, 9, (), "6 l"),
    ],
    "home": [
        ("Linen Duvet Cover Set", 129, 289, ("Twin", "Queen", "King"), ""),
        ("Memory Foam Pillow", 39, 99, (), ""),
        ("Waffle Bath Towel Set", 39, 89, (), ""),
        ("Soy Wax Candle", 18, 42, (), ""),
        ("Ceramic Table Lamp", 59, 189, (), ""),
        ("Wool Throw Blanket", 79, 199, (), ""),
        ("Round Wall Mirror", 69, 249, (), ""),
        ("Jute Area Rug 5x8", 99, 349, (), ""),
    ],
    "haushalt": [
        ("Kaffeevollautomat mit Milchsystem", 399, 1499, (), ""),
        ("Wasserkocher 1,7 l Edelstahl", 29, 89, (), ""),
        ("Saugroboter mit Wischfunktion", 199, 899, (), ""),
        ("Akku-Stielsauger", 149, 599, (), ""),
        ("Toaster für 2 Scheiben", 29, 79, (), ""),
        ("Stabmixer-Set 1000 W", 39, 119, (), ""),
        ("Waschmaschine 8 kg 1400 U/min", 449, 1199, (), ""),
        ("Geschirrspüler 60 cm vollintegriert", 399, 999, (), ""),
        ("Heißluftfritteuse 5,5 l", 69, 199, (), ""),
    ],
    "werkzeug": [
        ("Akku-Bohrschrauber 18 V", 79, 249, (), ""),
        ("Winkelschleifer 125 mm", 59, 179, (), ""),
        ("Werkzeugkoffer 108-teilig", 49, 149, (), ""),
        ("Laser-Entfernungsmesser 50 m", 39, 129, (), ""),
        ("Akku-Heckenschere 36 V", 129, 329, (), ""),
    ],
    "elektronik": [
        ("Kabellose Over-Ear-Kopfhörer", 79, 349, (), ""),
        ("Smart-TV 55 Zoll 4K UHD", 549, 1599, (), ""),
        ("Notebook 15,6 Zoll 16 GB RAM", 599, 1899, (), ""),
        ("Bluetooth-Lautsprecher wasserdicht", 39, 179, (), ""),
        ("Externe SSD 2 TB", 99, 229, (), ""),
    ],
    "maison": [
        ("Lampe de chevet en laiton", 49, 189, (), ""),
        ("Théière en fonte émaillée", 39, 89, (), ""),
        ("Coussin en lin lavé", 29, 59, (), ""),
        ("Bougie parfumée figue & cèdre", 19, 45, (), ""),
        ("Plaid en laine mérinos", 89, 229, (), ""),
        ("Vase en céramique émaillée", 25, 95, (), ""),
        ("Miroir rond doré", 79, 249, (), ""),
        ("Parure de lit en percale", 99, 219, ("140 x 200", "240 x 220"), ""),
        ("Carafe en verre soufflé", 29, 69, (), ""),
        ("Fauteuil en rotin tressé", 249, 790, (), ""),
    ],
}

BRANDS = {
    "en": ["Kestrel", "Northfield", "Brightline", "Acorn & Oak", "Halvard", "Lumio", "Terrafirm",
           "Copperline", "Bluewater", "Ridgeway", "Fernwood", "Sable & Stone"],
    "de": ["Hausmeister", "Nordlicht", "Stahlwerk", "Brennwald", "Feinkraft", "Elbstrom"],
    "fr": ["Atelier Sérac", "Côté Bohème", "Maison Célestine", "Les Ateliers d'Émile"],
}

MODIFIERS = {
    "en": ["", "", "", " Pro", " Plus", " Mini", " 2.0", " – Slate Blue", " – Forest Green",
           " – Charcoal", " – Sand", " – Matte Black", " (2nd Gen)"],
    "de": ["", "", "", " Pro", " Plus", " Kompakt", " – Schwarz", " – Weiß", " – Anthrazit"],
    "fr": ["", "", "", " – Ivoire", " – Terracotta", " – Vert sauge", " – Écru"],
    "grocery": ["", "", "", " – Value Pack", " – Family Size", " (Organic)", " – Limited Batch"],
}

DESCRIPTIONS = {
    "en": "Designed to last and built for everyday use. {name} pairs durable materials with a "
          "clean, modern finish. Backed by our 2-year warranty.",
    "de": "{name} überzeugt durch hochwertige Verarbeitung und einfache Bedienung. "
          "Mit 2 Jahren Herstellergarantie.",
    "grocery": "{name}. Small-batch quality from producers we know by name. Store in a cool, "
               "dry place; best within 12 months of packing.",
    "fr": "{name} : une pièce façonnée avec soin, pensée pour durer. Livraison offerte dès 60 €.",
}

STORE_NAMES = [
    ("Northwind Outfitters", "shopify", "USD", "en_US", ("outdoor", "apparel")),
    ("Copper Pot Kitchen", "woocommerce", "USD", "en_US", ("kitchen", "home")),
    ("Gadget Depot", "magento", "USD", "en_US", ("electronics",)),
    ("Brightside Home", "opengraph", "USD", "en_US", ("home", "kitchen")),
    ("Daily Basket", "plain", "USD", "en_US", ("grocery",)),
    ("VoltMarkt", "german", "EUR", "de_DE", ("haushalt", "elektronik", "werkzeug")),
    ("Summit Supply Co.", "shopify", "CAD", "en_CA", ("outdoor",)),
    ("The Kitchen Drawer", "woocommerce", "GBP", "en_GB", ("kitchen",)),
    ("Circuit City Outlet", "magento", "USD", "en_US", ("electronics",)),
    ("Maison Lumière", "opengraph", "EUR", "fr_FR", ("maison",)),
    ("Corner Pantry", "plain", "USD", "en_US", ("grocery",)),
    ("Hausrat Direkt", "german", "EUR", "de_DE", ("haushalt", "werkzeug")),
]

SHAPE_DEFAULTS = {
    "shopify": ("USD", "en_US", ("outdoor", "apparel")),
    "woocommerce": ("USD", "en_US", ("kitchen", "home")),
    "magento": ("USD", "en_US", ("electronics",)),
    "opengraph": ("USD", "en_US", ("home", "kitchen")),
    "plain": ("USD", "en_US", ("grocery",)),
    "german": ("EUR", "de_DE", ("haushalt", "elektronik", "werkzeug")),
}


def _charm(rng: random.Random, value: float, lang: str) -> Decimal:
    """Round a raw price to how shops price things: 19.99, 24.95, 1299.00."""
    whole = max(1, int(value))
    ending = rng.choice(("0.99", "0.99", "0.99", "0.95", "0.00", "0.49") if lang == "en"
                        else ("0.99", "0.99", "0.00", "0.00", "0.90"))
    if ending == "0.00":
        return Decimal(whole).quantize(CENT)
    return (Decimal(whole - 1) + Decimal(ending)).quantize(CENT) if whole > 1 else Decimal(ending)


def _make_products(rng: random.Random, store_prefix: str, lang: str, currency: str,
                   categories: tuple[str, ...], count: int, first_id: int,
                   fault_share: float, faults: tuple[str, ...]) -> list[Product]:
    products: list[Product] = []
    handles: set[str] = set()
    brands = BRANDS.get(lang, BRANDS["en"])
    for i in range(count):
        category = categories[i % len(categories)]
        noun, low, high, variants, pack = rng.choice(CATEGORIES[category])
        brand = rng.choice(brands)
        modifiers = MODIFIERS.get(category) or MODIFIERS.get(lang, MODIFIERS["en"])
        name = f"{brand} {noun}{rng.choice(modifiers)}"
        handle = slugify(name)
        base, n = handle, 2
        while handle in handles:
            handle, n = f"{base}-{n}", n + 1
        handles.add(handle)
        # skew towards the cheaper end like real catalogues
        raw = low + (high - low) * (rng.random() ** 1.6)
        price = _charm(rng, raw, lang)
        regular = None
        if rng.random() < 0.3:
            regular = _charm(rng, float(price) * rng.uniform(1.15, 1.5) + 1, lang)
            if regular <= price:
                regular = None
        roll = rng.random()
        availability = ("in_stock" if roll < 0.80 else "out_of_stock" if roll < 0.93
                        else "preorder" if roll < 0.98 else "unknown")
        status = "ok"
        if faults and rng.random() < fault_share:
            status = rng.choice(faults)
        pid = str(first_id + i)
        reviews = int(rng.random() ** 3 * 4000)
        products.append(Product(
            id=pid, handle=handle, name=name, price=price, regular_price=regular,
            currency=currency, availability=availability,
            sku=f"{store_prefix}-{pid}", gtin=ean13(rng, "40" if lang == "de" else "0"),
            status=status, brand=brand, category=slugify(category), variants=variants,
            description=(DESCRIPTIONS.get(category) or DESCRIPTIONS.get(lang, DESCRIPTIONS["en"])).format(name=name),
            rating=round(rng.uniform(3.6, 4.9), 1), review_count=reviews, pack_size=pack,
        ))
    return products


def make_catalogue(n_stores: int, products_per_store: int, seed: int = 0, *,
                   shapes: tuple[str, ...] | None = None, fault_share: float = 0.0,
                   faults: tuple[str, ...] = FAST_FAULTS) -> list[Store]:
    """A deterministic catalogue: the same arguments always give the same stores and products.

    Stores cycle through ``shapes`` (all six by default); ``fault_share`` of the products get a
    status drawn from ``faults`` (the others are "ok").
    """
    rng = random.Random(seed)
    shapes = tuple(shapes or SHAPES)
    stores: list[Store] = []
    slugs: set[str] = set()
    for i in range(n_stores):
        shape = shapes[i % len(shapes)]
        named = [s for s in STORE_NAMES if s[1] == shape]
        nth = i // len(shapes)
        if nth < len(named):
            name, _, currency, locale, categories = named[nth]
        else:
            currency, locale, categories = SHAPE_DEFAULTS[shape]
            name = f"{named[0][0] if named else shape.title()} {nth + 1}"
        slug = slugify(name)
        while slug in slugs:
            slug += "-x"
        slugs.add(slug)
        lang = locale.split("_")[0]
        prefix = "".join(w[0] for w in slug.split("-")).upper()[:3]
        products = _make_products(rng, prefix, lang, currency, categories, products_per_store,
                                  1000 + rng.randrange(9000) * 10, fault_share, faults)
        charset = "windows-1252" if lang == "fr" else "utf-8"
        stores.append(Store(slug=slug, name=name, currency=currency, locale=locale, shape=shape,
                            products=products, charset=charset))
    return stores


def _set(products: list[Product], index: int, **changes) -> None:
    products[index] = products[index].changed(**changes)


def demo_catalogue(faults: bool = True, *, script_shop: bool = False) -> list[Store]:
    """The bundled demo: six stores, one per shape, 160 products.

    Includes a German store in EUR (``1.299,00 €``), a French store served in windows-1252 and,
    unless ``faults=False``, a few products that are gone, redirect, fail or are challenged.
    ``script_shop`` adds a seventh store whose pages are app shells filled in by script
    (:func:`script_store`), read only by a crawl that renders.
    """
    rng = random.Random(20240611)
    spec = [
        # slug, name, shape, currency, locale, categories, count, charset
        ("northwind", "Northwind Outfitters", "shopify", "USD", "en_US",
         ("outdoor", "apparel"), 40, "utf-8"),
        ("copperpot", "Copper Pot Kitchen", "woocommerce", "USD", "en_US",
         ("kitchen", "home"), 30, "utf-8"),
        ("voltmarkt", "VoltMarkt", "german", "EUR", "de_DE",
         ("haushalt", "elektronik", "werkzeug"), 30, "utf-8"),
        ("gadgetdepot", "Gadget Depot", "magento", "USD", "en_US",
         ("electronics",), 25, "utf-8"),
        ("maison-lumiere", "Maison Lumière", "opengraph", "EUR", "fr_FR",
         ("maison",), 15, "windows-1252"),
        ("dailybasket", "Daily Basket", "plain", "USD", "en_US",
         ("grocery",), 20, "utf-8"),
    ]
    stores = []
    for n, (slug, name, shape, currency, locale, cats, count, charset) in enumerate(spec):
        prefix = "".join(w[0] for w in name.split()).upper()[:3]
        products = _make_products(rng, prefix, locale[:2], currency, cats, count,
                                  (n + 1) * 1000 + 1, 0.0, ())
        stores.append(Store(slug=slug, name=name, currency=currency, locale=locale, shape=shape,
                            products=products, charset=charset))
    by_slug = {s.slug: s for s in stores}
    # a product over 1000 EUR at the German store, on sale, in stock: "1.299,00 €"
    _set(by_slug["voltmarkt"].products, 0, name="Hausmeister Kaffeevollautomat Barista Pro",
         description=DESCRIPTIONS["de"].format(name="Hausmeister Kaffeevollautomat Barista Pro"),
         brand="Hausmeister", category="haushalt",
         handle="hausmeister-kaffeevollautomat-barista-pro", price=Decimal("1299.00"),
         regular_price=Decimal("1499.00"), availability="in_stock")
    # fixed availability examples in every store: [1] sold out, [2] pre-order
    for s in stores:
        _set(s.products, 1, availability="out_of_stock")
        _set(s.products, 2, availability="preorder")
        _set(s.products, 3, availability="in_stock", regular_price=None)
    # the grocery store shows struck-through prices on every other product
    basket = by_slug["dailybasket"].products
    for i in range(4, len(basket), 2):
        if basket[i].regular_price is None:
            _set(basket, i, regular_price=(basket[i].price * Decimal("1.25")).quantize(Decimal("1"))
                 - Decimal("0.01"))
    if faults:
        plan = {
            "northwind": ["gone404", "throttle429"],
            "copperpot": ["gone410", "no_availability"],
            "voltmarkt": ["redirect_home", "error500"],
            "gadgetdepot": ["malformed", "challenge"],
            "dailybasket": ["gone404"],
        }
        for slug, statuses in plan.items():
            products = by_slug[slug].products
            for k, status in enumerate(statuses):
                _set(products, len(products) - 1 - k, status=status)
    del rng
    if script_shop:
        stores.append(script_store(faults=faults))
    return stores


def script_store(faults: bool = True, count: int = 12) -> Store:
    """A shop built in the browser: each product page is an app shell whose script fetches the
    product (price, stock) from ``/api/products/HANDLE`` on the same host and renders it."""
    rng = random.Random(20261206)
    products = _make_products(rng, "LL", "en", "USD", ("electronics",), count, 7001, 0.0, ())
    _set(products, 1, availability="out_of_stock")
    _set(products, 2, availability="preorder")
    _set(products, 3, availability="in_stock", regular_price=None)
    if faults:
        _set(products, len(products) - 1, status="gone404")
    return Store(slug="lumenlabs", name="Lumen Labs", currency="USD", locale="en_US", shape="app",
                 products=products)
