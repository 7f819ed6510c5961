"""Money formatting and the few UI strings the demo shops show, per locale."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "$", "AUD": "A$", "CHF": "CHF"}

NBSP = "\u00a0"


def _group(digits: str, sep: str) -> str:
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return sep.join(out)


def money_parts(amount: Decimal, currency: str, locale: str, cents: bool = True):
    """(prefix symbol, number, suffix symbol) as the locale writes them."""
    amount = Decimal(amount)
    negative = amount < 0
    q = abs(amount).quantize(Decimal("0.01") if cents else Decimal("1"), rounding=ROUND_HALF_UP)
    whole, _, frac = f"{q:f}".partition(".")
    symbol = SYMBOLS.get(currency.upper(), currency.upper())
    lang = locale.split("_")[0].lower()
    if lang == "de":
        number = _group(whole, ".") + ("," + frac if cents else "")
        prefix, suffix = "", " " + symbol
    elif lang == "fr":
        number = _group(whole, NBSP) + ("," + frac if cents else "")
        prefix, suffix = "", NBSP + symbol
    else:
        number = _group(whole, ",") + ("." + frac if cents else "")
        prefix, suffix = (symbol + " " if len(symbol) > 2 else symbol), ""
    if negative:
        number = "-" + number if suffix else number
        prefix = "-" + prefix if prefix else prefix
    return prefix, number, suffix


@lru_cache(maxsize=65536)
def format_money(amount: Decimal, currency: str, locale: str, cents: bool = True) -> str:
    """``$1,299.00`` (en), ``1.299,00 €`` (de), ``1 299,00 €`` (fr, non-breaking spaces)."""
    prefix, number, suffix = money_parts(amount, currency, locale, cents)
    return f"{prefix}{number}{suffix}"


def format_count(n: int, locale: str) -> str:
    lang = locale.split("_")[0].lower()
    return _group(str(int(n)), {"de": ".", "fr": NBSP}.get(lang, ","))


def format_decimal(value, locale: str, places: int = 1) -> str:
    text = f"{float(value):.{places}f}"
    return text.replace(".", ",") if locale.split("_")[0].lower() in ("de", "fr") else text


TEXT = {
    "en": {
        "home": "Home", "search": "Search", "search_placeholder": "Search our store",
        "cart": "Cart", "account": "Account", "new": "New arrivals", "deals": "Deals",
        "under": "Under {amount}", "sale": "Sale", "gift_cards": "Gift cards",
        "free_shipping": "Free shipping on orders over {amount}",
        "returns": "Free 30-day returns", "in_stock": "In stock",
        "out_of_stock": "Sold out", "preorder": "Pre-order",
        "add_to_cart": "Add to cart", "sold_out_button": "Sold out",
        "preorder_button": "Pre-order", "neutral_button": "Choose options",
        "preorder_note": "Ships from {date}. You won't be charged until it ships.",
        "in_stock_note": "In stock, ready to ship", "out_of_stock_note": "Currently unavailable",
        "you_may_like": "You may also like", "recently_viewed": "Customers also viewed",
        "reviews": "({count} reviews)", "regular_price": "Regular price",
        "sale_price": "Sale price", "save": "Save {amount} ({percent}%)",
        "installments": "or 4 interest-free payments of {amount} with Afterpay",
        "tax_note": "Taxes and shipping calculated at checkout",
        "newsletter": "Sign up and get 10% off your first order",
        "gift_range": "Gift cards from {low} to {high}",
        "description": "Description", "specs": "Specifications", "quantity": "Quantity",
        "not_found_title": "Page not found",
        "not_found": "Sorry, we couldn't find the page you were looking for.",
        "gone": "This product is no longer available.",
        "error_title": "Something went wrong",
        "error": "We're having trouble loading this page. Please try again in a few minutes.",
        "throttle": "Too many requests. Please slow down.",
        "results": "Search results for “{q}”", "no_results": "No products found",
        "featured": "Featured products", "shop_all": "Shop all", "sort": "Sort by: Featured",
        "showing": "Showing {n} products", "quick_add": "Quick add",
        "per_item": "each", "staff": "Staff area",
    },
    "de": {
        "home": "Startseite", "search": "Suche", "search_placeholder": "Suchbegriff eingeben",
        "cart": "Warenkorb", "account": "Mein Konto", "new": "Neuheiten", "deals": "Angebote",
        "under": "Unter {amount}", "sale": "Sale", "gift_cards": "Gutscheine",
        "free_shipping": "Versandkostenfrei ab {amount}",
        "returns": "30 Tage kostenlose Rücksendung", "in_stock": "Auf Lager",
        "out_of_stock": "Ausverkauft", "preorder": "Vorbestellbar",
        "add_to_cart": "In den Warenkorb", "sold_out_button": "Ausverkauft",
        "preorder_button": "Jetzt vorbestellen", "neutral_button": "Optionen wählen",
        "preorder_note": "Voraussichtlich lieferbar ab {date}.",
        "in_stock_note": "Auf Lager – Lieferzeit 1–3 Werktage",
        "out_of_stock_note": "Derzeit nicht lieferbar",
        "you_may_like": "Das könnte Ihnen auch gefallen",
        "recently_viewed": "Kunden kauften auch",
        "reviews": "({count} Bewertungen)", "regular_price": "UVP", "sale_price": "Jetzt nur",
        "save": "Sie sparen {amount} ({percent} %)",
        "installments": "Finanzierung ab {amount} mtl.",
        "tax_note": "inkl. 19 % MwSt., zzgl. Versandkosten",
        "newsletter": "Newsletter abonnieren und 10 % sparen",
        "gift_range": "Gutscheine von {low} bis {high}",
        "description": "Beschreibung", "specs": "Technische Daten", "quantity": "Menge",
        "not_found_title": "Seite nicht gefunden",
        "not_found": "Die angeforderte Seite konnte leider nicht gefunden werden.",
        "gone": "Dieser Artikel ist nicht mehr verfügbar.",
        "error_title": "Es ist ein Fehler aufgetreten",
        "error": "Bitte versuchen Sie es in einigen Minuten erneut.",
        "throttle": "Zu viele Anfragen. Bitte versuchen Sie es später erneut.",
        "results": "Suchergebnisse für „{q}“", "no_results": "Keine Artikel gefunden",
        "featured": "Unsere Bestseller", "shop_all": "Alle Artikel",
        "sort": "Sortieren nach: Beliebtheit", "showing": "{n} Artikel",
        "quick_add": "Schnellkauf", "per_item": "Stück", "staff": "Mitarbeiterbereich",
    },
    "fr": {
        "home": "Accueil", "search": "Rechercher", "search_placeholder": "Rechercher un article",
        "cart": "Panier", "account": "Mon compte", "new": "Nouveautés", "deals": "Promotions",
        "under": "Moins de {amount}", "sale": "Soldes", "gift_cards": "Cartes cadeaux",
        "free_shipping": "Livraison offerte dès {amount} d'achat",
        "returns": "Retours gratuits sous 30 jours", "in_stock": "En stock",
        "out_of_stock": "Épuisé", "preorder": "Précommande",
        "add_to_cart": "Ajouter au panier", "sold_out_button": "Épuisé",
        "preorder_button": "Précommander", "neutral_button": "Choisir les options",
        "preorder_note": "Expédition prévue à partir du {date}.",
        "in_stock_note": "En stock, expédié sous 48 h", "out_of_stock_note": "Momentanément indisponible",
        "you_may_like": "Vous aimerez aussi", "recently_viewed": "Vus récemment",
        "reviews": "({count} avis)", "regular_price": "Prix habituel", "sale_price": "Prix soldé",
        "save": "Économisez {amount} ({percent} %)",
        "installments": "ou 3 x {amount} sans frais",
        "tax_note": "TVA incluse. Frais de port calculés à l'étape suivante.",
        "newsletter": "Inscrivez-vous et recevez 10 % de réduction",
        "gift_range": "Cartes cadeaux de {low} à {high}",
        "description": "Description", "specs": "Caractéristiques", "quantity": "Quantité",
        "not_found_title": "Page introuvable",
        "not_found": "Désolé, cette page n'existe pas ou plus.",
        "gone": "Cet article n'est plus disponible.",
        "error_title": "Une erreur est survenue",
        "error": "Veuillez réessayer dans quelques minutes.",
        "throttle": "Trop de requêtes. Veuillez patienter.",
        "results": "Résultats pour « {q} »", "no_results": "Aucun article trouvé",
        "featured": "Nos coups de cœur", "shop_all": "Tout voir", "sort": "Trier par : Pertinence",
        "showing": "{n} articles", "quick_add": "Ajout rapide", "per_item": "pièce",
        "staff": "Espace équipe",
    },
}


@lru_cache(maxsize=64)
def text(locale: str) -> dict[str, str]:
    return TEXT.get(locale.split("_")[0].lower(), TEXT["en"])
