"""Every word, unit and threshold product identity decides with, in one place.

Listings at different shops are the same product only on evidence (pricehound/identity.py). The
words here find what makes two near-identical listings different products: a size, a colour, a
storage capacity, a pack count, a bundle, an accessory for the product, or a used or refurbished
item. Lists are regex fragments matched case-insensitively on accent-folded, whitespace-
normalised text, in the languages shops commonly write (English, German, French, Spanish,
Italian, Dutch, Portuguese, the Nordic languages, Polish). A rule in identity.py says how a list
is used and why; this module only says what the words are.

Finding one of these words where it means something else only costs a link (the listing stays
unlinked until an operator links it): every list here errs towards finding too much.
"""

from __future__ import annotations

from decimal import Decimal

# ---------------------------------------------------------------- measures: size and capacity
# unit spelling -> (dimension, canonical unit, factor to the canonical unit). Sizes of one
# dimension compare after conversion: "0,5 l" and "500 ml" are one size, "1 l" another.
SIZE_UNITS: dict[str, tuple[str, str, Decimal]] = {
    "ml": ("vol", "ml", Decimal(1)), "millilitre": ("vol", "ml", Decimal(1)), "milliliter": ("vol", "ml", Decimal(1)),
    "cl": ("vol", "ml", Decimal(10)), "dl": ("vol", "ml", Decimal(100)),
    "l": ("vol", "ml", Decimal(1000)), "ltr": ("vol", "ml", Decimal(1000)), "litre": ("vol", "ml", Decimal(1000)),
    "litres": ("vol", "ml", Decimal(1000)), "liter": ("vol", "ml", Decimal(1000)), "liters": ("vol", "ml", Decimal(1000)),
    "fl oz": ("vol", "ml", Decimal("29.5735")), "floz": ("vol", "ml", Decimal("29.5735")),
    "mg": ("mass", "g", Decimal("0.001")), "g": ("mass", "g", Decimal(1)), "gr": ("mass", "g", Decimal(1)),
    "kg": ("mass", "g", Decimal(1000)), "oz": ("mass", "g", Decimal("28.3495")), "lb": ("mass", "g", Decimal("453.592")),
    "lbs": ("mass", "g", Decimal("453.592")),
    "mm": ("len", "mm", Decimal(1)), "cm": ("len", "mm", Decimal(10)), "m": ("len", "mm", Decimal(1000)),
    "inch": ("len", "mm", Decimal("25.4")), "inches": ("len", "mm", Decimal("25.4")), "in": ("len", "mm", Decimal("25.4")),
    "zoll": ("len", "mm", Decimal("25.4")), "pouces": ("len", "mm", Decimal("25.4")), '"': ("len", "mm", Decimal("25.4")),
    "w": ("power", "w", Decimal(1)), "watt": ("power", "w", Decimal(1)), "kw": ("power", "w", Decimal(1000)),
    "v": ("volt", "v", Decimal(1)),
}
# Storage and charge: the capacity of a device. 128 GB and 256 GB phones are two products.
CAPACITY_UNITS: dict[str, tuple[str, str, Decimal]] = {
    "mb": ("storage", "gb", Decimal("0.001")), "gb": ("storage", "gb", Decimal(1)), "go": ("storage", "gb", Decimal(1)),
    "tb": ("storage", "gb", Decimal(1000)), "to": ("storage", "gb", Decimal(1000)),
    "mah": ("charge", "mah", Decimal(1)), "ah": ("charge", "mah", Decimal(1000)),
}
# Clothing and shoe sizes written as "size M", "Größe 42", "taille XL", "EU 42".
SIZE_LABEL_WORDS = [r"size", r"gr(?:o|oe)sse", r"gr\.", r"taille", r"talla", r"taglia", r"maat", r"storlek",
                    r"storrelse", r"rozmiar", r"eu", r"uk", r"us"]
SIZE_LABELS = [r"xxs", r"xs", r"s", r"m", r"l", r"xl", r"xxl", r"xxxl", r"[2-6]xl", r"\d{1,2}(?:[.,]5)?"]

# ---------------------------------------------------------------- colours
# spelling (any language) -> canonical colour. Compound names come first so "space grey" is one
# colour, not grey.
COLOURS: dict[str, str] = {
    "space grey": "space grey", "space gray": "space grey", "rose gold": "rose gold", "midnight blue": "midnight blue",
    "sky blue": "sky blue", "navy blue": "navy", "dark blue": "dark blue", "light blue": "light blue",
    "dark grey": "dark grey", "dark gray": "dark grey", "light grey": "light grey", "light gray": "light grey",
    "black": "black", "schwarz": "black", "noir": "black", "noire": "black", "negro": "black", "negra": "black",
    "nero": "black", "zwart": "black", "preto": "black", "svart": "black", "sort": "black", "czarny": "black",
    "white": "white", "weiss": "white", "blanc": "white", "blanche": "white", "blanco": "white", "blanca": "white",
    "bianco": "white", "wit": "white", "branco": "white", "vit": "white", "hvid": "white", "bialy": "white",
    "silver": "silver", "silber": "silver", "argent": "silver", "plata": "silver", "argento": "silver", "zilver": "silver",
    "grey": "grey", "gray": "grey", "grau": "grey", "gris": "grey", "grigio": "grey", "grijs": "grey", "cinza": "grey",
    "blue": "blue", "blau": "blue", "bleu": "blue", "azul": "blue", "blu": "blue", "blauw": "blue", "bla": "blue",
    "red": "red", "rot": "red", "rouge": "red", "rojo": "red", "roja": "red", "rosso": "red", "rood": "red",
    "vermelho": "red", "rod": "red",
    "green": "green", "grun": "green", "gruen": "green", "vert": "green", "verte": "green", "verde": "green",
    "groen": "green", "gron": "green",
    "yellow": "yellow", "gelb": "yellow", "jaune": "yellow", "amarillo": "yellow", "giallo": "yellow", "geel": "yellow",
    "pink": "pink", "rosa": "pink", "rose": "pink", "roze": "pink",
    "purple": "purple", "lila": "purple", "violet": "purple", "violett": "purple", "morado": "purple", "viola": "purple",
    "paars": "purple",
    "orange": "orange", "naranja": "orange", "arancione": "orange", "oranje": "orange",
    "brown": "brown", "braun": "brown", "marron": "brown", "marrone": "brown", "bruin": "brown",
    "beige": "beige", "gold": "gold", "golden": "gold", "dore": "gold", "oro": "gold", "goud": "gold",
    "navy": "navy", "graphite": "graphite", "midnight": "midnight", "starlight": "starlight", "titanium": "titanium",
    "turquoise": "turquoise", "teal": "teal", "cream": "cream", "creme": "cream", "ivory": "ivory",
    "copper": "copper", "bronze": "bronze", "chrome": "chrome", "anthracite": "anthracite", "anthrazit": "anthracite",
    "burgundy": "burgundy", "mint": "mint", "olive": "olive", "khaki": "khaki", "charcoal": "charcoal",
    "stainless steel": "stainless steel", "edelstahl": "stainless steel", "inox": "stainless steel",
}

# ---------------------------------------------------------------- pack counts
# "2-pack", "pack of 2", "2er Pack", "lot de 2", "set of 3", "3 x 330 ml", "x6", "6 Stück".
PACK_PATTERNS = [
    r"(?P<n>\d{1,3})\s*-?\s*(?:pack|pk|pcs|pieces|piece|count|ct|stuck|stueck|stk|er[\s-]?pack|er[\s-]?set|teilig)\b",
    r"\b(?:pack|set|lot|box|case|bundle|paquete|confezione|lote|pak|zestaw)\s+(?:of|de|da|di|van|med|mit|z)\s+(?P<n>\d{1,3})\b",
    r"\blot\s+de\s+(?P<n>\d{1,3})\b",
    r"(?:^|\s)(?P<n>\d{1,3})\s*[x×]\s*\d",            # 6 x 330 ml
    r"(?:^|\s)[x×]\s*(?P<n>\d{1,3})\b(?!\s*(?:mm|cm|m)\b)",  # x6
    r"\b(?:pack|paquete|confezione)\s*(?:x\s*)?(?P<n>\d{1,3})\b",
]
# Word numbers for packs: "twin pack", "triple pack", "duo".
PACK_WORDS: dict[str, int] = {"single": 1, "twin pack": 2, "twin-pack": 2, "twinpack": 2, "duo pack": 2, "duopack": 2,
                              "double pack": 2, "doppelpack": 2, "triple pack": 3, "3er": 3, "2er": 2,
                              "multipack": 0, "multi-pack": 0, "multi pack": 0, "value pack": 0, "family pack": 0}

# ---------------------------------------------------------------- condition
# phrase -> condition. New is what a listing that says nothing sells.
CONDITIONS: dict[str, str] = {
    "refurbished": "refurbished", "renewed": "refurbished", "reconditioned": "refurbished", "remanufactured": "refurbished",
    "certified pre-owned": "refurbished", "generaluberholt": "refurbished", "generalueberholt": "refurbished",
    "aufbereitet": "refurbished", "reconditionne": "refurbished", "reconditionnee": "refurbished",
    "reacondicionado": "refurbished", "ricondizionato": "refurbished", "gereviseerd": "refurbished",
    "refurbished grade": "refurbished", "recondicionado": "refurbished", "odnowiony": "refurbished",
    "used": "used", "pre-owned": "used", "preowned": "used", "second hand": "used", "second-hand": "used",
    "secondhand": "used", "gebraucht": "used", "occasion": "used", "d'occasion": "used", "usado": "used",
    "usada": "used", "usato": "used", "tweedehands": "used", "gebruikt": "used", "begagnad": "used", "brugt": "used",
    "uzywany": "used", "seminuevo": "used",
    "open box": "open_box", "open-box": "open_box", "b-ware": "open_box", "b ware": "open_box",
    "ex-display": "open_box", "ex display": "open_box", "demo unit": "open_box", "vorfuhrgerat": "open_box",
    "damaged box": "open_box", "emballage abime": "open_box",
}

# ---------------------------------------------------------------- bundles
# A listing that sells the product with something else is another offer: its price says nothing
# about the product alone.
BUNDLE_PATTERNS = [
    r"\bbundle\b", r"\bcombo\b", r"\bstarter\s*(?:kit|set)\b", r"\bkit\b", r"\s\+\s", r"\bplus\s+free\b",
    r"\bwith\s+free\b", r"\bfree\s+gift\b", r"\bincl(?:\.|uding|udes)?\s", r"\binkl(?:\.|usive)?\s", r"\bmit\s+gratis\b",
    r"\bavec\s+(?:un|une|des)?\s*\w+\s+offerte?s?\b", r"\boffert\b", r"\bincluye\b", r"\bcon\s+regalo\b",
    r"\bw/\s", r"\bset\s+mit\b", r"\bpaket\b", r"\bcoffret\b",
]

# ---------------------------------------------------------------- accessories
# A case, charger or strap "for iPhone 15" is not the iPhone 15. The nouns and the compatibility
# phrases shops write for things sold to go with another product.
ACCESSORY_NOUNS = [
    r"case", r"cases", r"cover", r"covers", r"sleeve", r"pouch", r"skin", r"screen\s*protector", r"tempered\s*glass",
    r"protector", r"charger", r"charging\s*(?:cable|stand|pad|dock)", r"cable", r"adapter", r"adaptor", r"strap",
    r"band", r"mount", r"holder", r"stand", r"dock", r"replacement", r"spare", r"refill", r"refills", r"cartridge",
    r"filter", r"filters", r"lid", r"bag", r"stylus", r"keyboard\s*cover", r"huelle", r"hulle", r"schutzhulle",
    r"ladegerat", r"ladekabel", r"kabel", r"halterung", r"ersatz", r"etui", r"coque", r"housse", r"chargeur",
    r"cable", r"funda", r"cargador", r"custodia", r"cover", r"hoesje", r"oplader", r"skal", r"deksel", r"etui",
]
COMPATIBILITY_PHRASES = [
    r"\bfor\s+(?:use\s+with\s+)?(?:the\s+)?[a-z]*\s*[a-z]+\s*\d", r"\bcompatible\s+(?:with|avec|con)\b",
    r"\bkompatibel\b", r"\bfits\b", r"\bdesigned\s+for\b", r"\bfur\s+\w+", r"\bpour\s+\w+\s*\d",
    r"\bpara\s+\w+\s*\d", r"\bper\s+\w+\s*\d", r"\bvoor\s+\w+\s*\d", r"\bcompatibile\b", r"\bcompativel\b",
]

# ---------------------------------------------------------------- brands and part numbers
# Legal-form words that say nothing about which brand it is ("Acme Inc." is Acme).
BRAND_NOISE = ["inc", "incorporated", "ltd", "limited", "llc", "gmbh", "ag", "sa", "sas", "srl", "spa", "bv", "nv",
               "co", "corp", "corporation", "company", "plc", "ab", "as", "oy", "kg", "the"]
# A part number shorter than this, or with no digit in it, names a family or a word, not an item.
MPN_MIN_LENGTH = 4

# ---------------------------------------------------------------- titles
# Words that carry no identity in a title (so "the Acme kettle - buy now" and "Acme kettle" are
# compared on what matters).
TITLE_STOPWORDS = frozenset(
    "a an and the of with for in on at by to from new buy now online shop sale best price free shipping "
    "und der die das mit fur le la les de des du et avec el los las y con il lo gli e di da het een en van".split())
# Shares of a title's words two titles must have in common before a title match is even proposed,
# and the confidence a confirmed title match records (it is a person's word, not the page's).
TITLE_MIN_SIMILARITY = Decimal("0.8")

# ---------------------------------------------------------------- confidences recorded with a link
CONFIDENCE = {
    "gtin_match": Decimal("0.99"),
    "brand_mpn_match": Decimal("0.95"),
    "title_match_confirmed": Decimal("0.90"),
    "operator": Decimal("1.00"),
}
