"""Money parsing: text -> Decimal amount + ISO 4217 currency, honouring locale.

Built on price-parser for the number itself; the currency and the decimal separator are decided
here, because a bare "$" or a "229.990" means different things in different countries.
Never float: every amount is a Decimal.

Rounding: an amount leaves extraction (parse_price, extract_product, parse_shopify_product_js)
rounded half-even to the currency's own minor units: cents for most currencies, three places
for BHD, KWD, OMR and the other three-decimal currencies (THREE_DECIMAL; store_prices.price is
numeric(15,3)), whole units for the currencies written without decimals (ZERO_DECIMAL: JPY,
KRW, CLP, ...).  Inside the chain amounts stay as written until the end, so a structured
19.999 and a visible "$20.00" are not mistaken for one price before the decision.

Structured data (JSON-LD, meta and microdata content attributes) writes machine numbers: in a
plain "19.999" the '.' is always the decimal point; strings written for people ("1,069.00",
"$729.95", "1.299,00 €") are read like page text.  Refused everywhere: a minus before the
number ("-5", "$-5", "€ −5"), exponent notation ("1e308"), absurd magnitudes.  Zero-width and
other invisible characters are dropped before a number is read.
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from price_parser import Price as _PPrice

# The codes and each currency's minor units are stated once, for parsing, storage and display.
from pricehound.currencies import ISO_CODES, THREE_DECIMAL, ZERO_DECIMAL, minor_unit

from .model import Price

__all__ = ["ISO_CODES", "THREE_DECIMAL", "ZERO_DECIMAL", "minor_unit"]  # re-exported for the readers here

DOLLAR_CURRENCIES = frozenset(
    "USD CAD AUD NZD CLP MXN ARS COP SGD HKD TWD BRL UYU JMD TTD BSD BBD BZD FJD NAD LRD".split()
)

# Unambiguous symbols and local abbreviations -> ISO code.  Longest first when matching.
SYMBOLS: dict[str, str] = {
    "US$": "USD", "USD$": "USD", "U$S": "USD", "C$": "CAD", "CA$": "CAD", "CAD$": "CAD",
    "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "HK$": "HKD", "S$": "SGD", "R$": "BRL",
    "MX$": "MXN", "NT$": "TWD", "CLP$": "CLP", "COL$": "COP", "ARS$": "ARS",
    "€": "EUR", "£": "GBP", "円": "JPY", "₹": "INR", "₩": "KRW", "₺": "TRY", "₽": "RUB",
    "руб": "RUB", "₪": "ILS", "₫": "VND", "฿": "THB", "zł": "PLN", "Kč": "CZK", "Ft": "HUF",
    "lei": "RON", "₴": "UAH", "₱": "PHP", "₦": "NGN", "Rp": "IDR", "RM": "MYR", "E£": "EGP", "£E": "EGP",
    "L.E.": "EGP", "L.E": "EGP", "LE": "EGP", "ج.م.": "EGP", "ج.م": "EGP", "جنيه": "EGP",
    "SR": "SAR", "ر.س.": "SAR", "ر.س": "SAR", "ريال": "SAR", "د.إ.": "AED", "د.إ": "AED",
    "درهم": "AED", "Dhs": "AED", "KD": "KWD", "د.ك": "KWD", "QR": "QAR", "ر.ق": "QAR",
    "KSh": "KES", "Fr.": "CHF", "SFr.": "CHF", "zl": "PLN",
    "৳": "BDT", "₸": "KZT", "₾": "GEL", "₼": "AZN", "₮": "MNT", "₭": "LAK", "៛": "KHR", "₲": "PYG",
    "₵": "GHS", "₡": "CRC", "лв.": "BGN", "лв": "BGN", "ден": "MKD", "S/": "PEN", "S/.": "PEN",
    "ر.ع.": "OMR", "ر.ع": "OMR", "د.ب.": "BHD", "د.ب": "BHD", "د.ك.": "KWD", "د.ا.": "JOD", "د.ا": "JOD",
    "د.م.": "MAD", "د.م": "MAD", "ل.ل.": "LBP", "ل.ل": "LBP", "د.ت": "TND", "د.ج": "DZD", "ر.ق.": "QAR",
    "BD": "BHD", "RO": "OMR", "JD": "JOD", "₨": "PKR", "Tk": "BDT",
}
# Symbols that need a hint to resolve; the value is the fallback.
AMBIGUOUS = {"$": "USD", "¥": "JPY", "￥": "JPY", "元": "CNY", "kr": "SEK", "kr.": "DKK", "Kr": "SEK",
             "Rs.": "INR", "Rs": "INR"}
AMBIGUOUS_CHOICES = {
    "$": DOLLAR_CURRENCIES,
    "¥": frozenset({"JPY", "CNY"}),
    "￥": frozenset({"JPY", "CNY"}),
    "元": frozenset({"CNY"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "kr.": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "Kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "Rs.": frozenset({"INR", "PKR", "LKR", "NPR", "MUR"}),
    "Rs": frozenset({"INR", "PKR", "LKR", "NPR", "MUR"}),
}

# Region part of a locale (es-CL, en_CA) or a country-code TLD -> currency.
REGION_CURRENCY = {
    "us": "USD", "ca": "CAD", "au": "AUD", "nz": "NZD", "gb": "GBP", "uk": "GBP", "ie": "EUR",
    "de": "EUR", "at": "EUR", "fr": "EUR", "es": "EUR", "it": "EUR", "nl": "EUR", "be": "EUR",
    "pt": "EUR", "fi": "EUR", "gr": "EUR", "sk": "EUR", "si": "EUR", "ee": "EUR", "lv": "EUR",
    "lt": "EUR", "lu": "EUR", "mt": "EUR", "cy": "EUR", "hr": "EUR", "ch": "CHF", "li": "CHF",
    "se": "SEK", "no": "NOK", "dk": "DKK", "is": "ISK", "pl": "PLN", "cz": "CZK", "hu": "HUF",
    "ro": "RON", "bg": "BGN", "ru": "RUB", "ua": "UAH", "tr": "TRY", "il": "ILS", "eg": "EGP",
    "sa": "SAR", "ae": "AED", "kw": "KWD", "qa": "QAR", "bh": "BHD", "om": "OMR", "jo": "JOD",
    "ma": "MAD", "za": "ZAR", "ng": "NGN", "ke": "KES", "in": "INR", "pk": "PKR", "jp": "JPY",
    "cn": "CNY", "kr": "KRW", "tw": "TWD", "hk": "HKD", "sg": "SGD", "my": "MYR", "th": "THB",
    "id": "IDR", "ph": "PHP", "vn": "VND", "mx": "MXN", "br": "BRL", "ar": "ARS", "cl": "CLP",
    "co": "COP", "pe": "PEN", "uy": "UYU", "lk": "LKR", "np": "NPR", "bd": "BDT", "mu": "MUR",
}
# Languages whose locales write a decimal comma ("1.299,00").
COMMA_DECIMAL_LANGS = frozenset(
    "de fr es it nl pt pl cs sk sl hr sr bg ro ru uk tr da sv nb nn no fi is et lv lt hu el id vi".split()
)
COMMA_DECIMAL_REGIONS = frozenset("cl ar co br uy py pe ve ec bo".split())

MAX_AMOUNT = Decimal("100000000")  # above this nothing is a consumer price (minor-unit-free too)
MAX_AMOUNT_ZERO_DECIMAL = Decimal("10000000000")

_SYMBOL_KEYS = sorted(set(SYMBOLS) | set(AMBIGUOUS), key=len, reverse=True)
_SYM_RE = "|".join(re.escape(s) for s in _SYMBOL_KEYS)
_ISO_RE = r"(?<![A-Za-z])(?:" + "|".join(sorted(ISO_CODES)) + r")(?![A-Za-z])"
CURRENCY_RE = rf"(?:{_ISO_RE}\s?\$?|{_SYM_RE})"
# Indian grouping first ("2,43,300", "1,00,000.00": lakhs and crores), then groups of three
# ("1.299.000", "1'299.00", "1 299,00"), then a plain number.
NUMBER_RE = (r"\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2})?(?!\d)"
             r"|\d{1,3}(?:(?:[.,'\u2019]|\s|\u00a0|\u202f)\d{3})+(?:[.,]\d{1,3})?(?!\d)|\d+(?:[.,]\d{1,4})?(?!\d)")
# A money mention: currency before or after a number ("$1,299.00", "1.299,00 €", "EGP 79").  A
# number inside a code of digits and letters ("Item #489021A55 $49.00") is no amount before a symbol,
# and a symbol that leads the next number is not the last one's ("Runner 5 $49.00").
MONEY_RE = re.compile(
    rf"(?P<pre>{CURRENCY_RE})\s?(?P<num1>{NUMBER_RE})(?:\s?(?:[.,]-|[.,]–))?"
    rf"|(?<![\d#])(?<![\d#][A-Za-z])(?P<num2>{NUMBER_RE})(?:[.,][-–])?\s?(?P<post>{CURRENCY_RE})(?!\s?(?:{NUMBER_RE})(?![\d.,'])(?!\s?(?:{CURRENCY_RE})))",
)
_WORDY = re.compile(r"[A-Za-z]{4,}")
# Characters a buyer never sees (zero-width spaces and joiners, direction marks, soft hyphens,
# combining marks): inside a number they would split it into fragments, so they go first.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u206f\ufeff\u0300-\u036f]")
_EXPONENT = re.compile(r"\d\s*[eE]\s*[-+]?\d")  # "1e308", "$2E5": no shop writes a price so
_MINUS_AFTER_SYMBOL = re.compile(rf"(?:{CURRENCY_RE})\s?[-−–]\s*\d")  # "$-5", "€ −5": negative
_MACHINE_NUMBER = re.compile(r"\s*\d+(?:\.\d+)?\s*")  # "19.999", "1135.00": '.' is the decimal point

# Minor units kept: a currency's own (store_prices.price is numeric(15,3)): none for currencies
# whose prices are written whole (JPY, KRW, CLP...), three for KWD, BHD, OMR..., else two.
CENT = Decimal("0.01")
MIL = Decimal("0.001")
WHOLE = Decimal("1")


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text) if _INVISIBLE.search(text) else text


def normalize_code(value) -> str | None:
    """An ISO 4217 code as given ("jpy", " usd "), upper-cased and checked; else None."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if len(code) == 3 and code.isascii() and code.isalpha() and code in ISO_CODES else None


def round_amount(amount: Decimal | None, currency: str | None) -> Decimal | None:
    """Round half-even to the currency's minor units (minor_unit: whole JPY, KRW, CLP; three
    places for KWD, BHD, OMR; else cents).  Done once, at the end of extraction, so that amounts
    are compared unrounded while the page is read."""
    if amount is None:
        return None
    unit = minor_unit(currency)
    if amount.as_tuple().exponent >= unit.as_tuple().exponent:
        return amount
    return amount.quantize(unit, rounding=ROUND_HALF_EVEN)


def normalize_currency(value, hint: str | None = None) -> str | None:
    """An ISO 4217 code from a structured-data value ("usd", "$", "EUR", "€")."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    up = text.upper()
    if up in ISO_CODES:
        return up
    return currency_from_symbol(text, hint)


def currency_from_symbol(symbol: str | None, hint: str | None = None) -> str | None:
    if not symbol:
        return None
    s = symbol.strip()
    if not s:
        return None
    up = s.upper().rstrip("$").strip()
    if up in ISO_CODES:
        return up
    if s in SYMBOLS:
        return SYMBOLS[s]
    if s in AMBIGUOUS:
        choices = AMBIGUOUS_CHOICES[s]
        if hint and hint in choices:
            return hint
        if s == "$" and hint and hint in ISO_CODES and hint not in DOLLAR_CURRENCIES:
            return "USD"
        return AMBIGUOUS[s]
    for key in _SYMBOL_KEYS:  # e.g. "SR1,550" leaves "SR" plus noise
        if key in s:
            return currency_from_symbol(key, hint)
    return None


def currency_from_locale(locale: str | None) -> str | None:
    """'es-CL' -> CLP, 'de_DE' -> EUR; None when the locale names no region."""
    if not locale:
        return None
    parts = re.split(r"[-_]", locale.strip().lower())
    if len(parts) >= 2 and parts[1] in REGION_CURRENCY:
        return REGION_CURRENCY[parts[1]]
    return None


def currency_from_url(url: str | None) -> str | None:
    """The currency of a country-code top-level domain (shop.cl -> CLP), else None."""
    if not url:
        return None
    m = re.match(r"^[a-z]+://([^/:?#]+)", url.strip().lower())
    if not m:
        return None
    host = m.group(1).rstrip(".")
    tld = host.rsplit(".", 1)[-1]
    if tld in ("com", "net", "org", "shop", "store", "io", "co") and "." in host:
        # a second-level country domain: shop.com.eg, tienda.com.ar
        parts = host.split(".")
        if len(parts) >= 3 and parts[-2] in ("com", "co", "net", "org") and parts[-1] in REGION_CURRENCY:
            return REGION_CURRENCY[parts[-1]]
        return None
    return REGION_CURRENCY.get(tld)


def decimal_comma(locale_hint: str | None, currency: str | None = None) -> bool:
    if locale_hint:
        parts = re.split(r"[-_]", locale_hint.strip().lower())
        if len(parts) >= 2 and parts[1] in COMMA_DECIMAL_REGIONS:
            return True
        if parts[0] in COMMA_DECIMAL_LANGS:
            return True
    return False


def _compact_number(num: str) -> str | None:
    """The number without spaces, apostrophes and grouping spaces ("1 299" -> "1299"), or None
    when anything but digits, '.' and ',' is left."""
    s = num.strip().replace("\u00a0", " ").replace("\u202f", " ").replace("'", "").replace("\u2019", "")
    s = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", "", s)  # "1 299" -> "1299"
    s = s.replace(" ", "")
    if not s or not re.fullmatch(r"[\d.,]+", s) or not re.search(r"\d", s):
        return None
    return s


def _lone_separator_role(s: str, sep: str, three_decimal: bool) -> str | None:
    """`sep` when the only kind of separator in `s` is a decimal point, None when it groups."""
    if s.count(sep) > 1:
        return None  # "1.299.000" -> grouping
    head, _, tail = s.rpartition(sep)
    if len(tail) == 3 and three_decimal:
        return sep  # "2.500" KWD: two dinars and 500 fils
    if len(tail) == 3 and head and len(head) <= 3 and head != "0":
        # "229.990", "1,299": grouping (a consumer price never has three decimals)
        return None
    return sep  # "12.99", "0.990", "69.990000000000"


def _decimal_separator(s: str, three_decimal: bool) -> str | None:
    """Which of '.' and ',' is the decimal point in `s`; None when there is none."""
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        return "." if s.rfind(".") > s.rfind(",") else ","
    if dots or commas:
        return _lone_separator_role(s, "." if dots else ",", three_decimal)
    return None


def _plain_digits(s: str, dec_sep: str | None) -> str:
    """`s` written the way Decimal reads it: grouping dropped, '.' as the decimal point."""
    if dec_sep is None:
        return s.replace(".", "").replace(",", "")
    other = "," if dec_sep == "." else "."
    intpart, _, frac = s.replace(other, "").rpartition(dec_sep)
    return (intpart or "0") + "." + frac


def _to_decimal(num: str, *, comma_decimal: bool = False, zero_decimal: bool = False,
                three_decimal: bool = False) -> Decimal | None:
    """A number as written on a page -> Decimal, deciding what '.' and ',' mean.

    "2.500" is 2500 in most currencies and 2.5 in a three-decimal one (KWD, BHD, OMR: the
    caller says so with `three_decimal`)."""
    s = _compact_number(num)
    if s is None:
        return None
    try:
        value = Decimal(_plain_digits(s, _decimal_separator(s, three_decimal)))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class PageText(str):
    """A structured-data value read from an element's text (microdata without a content
    attribute): written for people, so "1.299" may group thousands."""


def amount_from_value(value, *, locale_hint: str | None = None, currency: str | None = None) -> Decimal | None:
    """A structured-data price (number or string such as "1,069.00", "$729.95", "LE 79")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _check(Decimal(value), currency)
    if isinstance(value, float):
        return _check(Decimal(repr(value)), currency)
    if isinstance(value, Decimal):
        return _check(value, currency)
    text = strip_invisible(str(value)).strip()
    if not text or len(text) > 64:
        return None
    if re.search(r"[-−–]\s*\d", text) and not re.search(r"\d\s*[-−–]\s*\d", text):
        return None  # negative
    if _EXPONENT.search(text):
        return None
    if _MACHINE_NUMBER.fullmatch(text) and not isinstance(value, PageText):
        # a structured-data price is a machine number: '.' is the decimal point, never grouping
        try:
            return _check(Decimal(text.strip()), currency)
        except InvalidOperation:
            return None
    nums = re.findall(NUMBER_RE, text)
    if not nums:
        return None
    if len(nums) > 1:
        return None  # "$ 79. 99 $ 39. 99" and similar garbage: let the page decide
    amount = _to_decimal(nums[0], comma_decimal=decimal_comma(locale_hint, currency),
                         zero_decimal=(currency in ZERO_DECIMAL), three_decimal=currency in THREE_DECIMAL)
    return _check(amount, currency)


def _check(amount: Decimal | None, currency: str | None) -> Decimal | None:
    if amount is None or not amount.is_finite() or amount < 0:
        return None
    limit = MAX_AMOUNT_ZERO_DECIMAL if currency in ZERO_DECIMAL else MAX_AMOUNT
    if amount > limit:
        return None
    if amount.as_tuple().exponent < -4:
        amount = amount.quantize(Decimal("0.0001")).normalize()
        if amount.as_tuple().exponent > 0:
            amount = amount.quantize(Decimal(1))
    return amount


def _price_from_number(value, currency_hint: str | None) -> Price | None:
    """A price given as a number: the amount as it is, in the hinted currency."""
    code = normalize_code(currency_hint)
    amount = amount_from_value(value, currency=code)
    return Price(round_amount(amount, code), code) if amount is not None else None


def _price_text_or_none(text) -> str | None:
    """The text with whitespace collapsed, or None when it cannot be a price (no digit, too
    long, an exponent, a minus after the symbol)."""
    s = " ".join(strip_invisible(str(text)).split())
    if not s or len(s) > 200 or not re.search(r"\d", s):
        return None
    if _EXPONENT.search(s) or _MINUS_AFTER_SYMBOL.search(s):
        return None
    return s


def _symbol_amount(s: str, m, hint: str | None) -> tuple[str, str | None] | None:
    """Number and currency of a money mention with its symbol; None when it is negative."""
    before = s[: m.start()]
    if re.search(r"[-−–]\s*$", before) and not re.search(r"\d\s*[-−–]\s*$", before):
        return None
    if m.group("num2") and re.search(r"[-−]\s*$", s[: m.start("num2")]):
        return None
    num = m.group("num1") or m.group("num2")
    return num, currency_from_symbol(m.group("pre") or m.group("post"), hint)


def _bare_amount(s: str, hint: str | None) -> tuple[str, str | None] | None:
    """Number and currency of a short text without a known money pattern; None when it is
    negative, has no number, or is words around a number ("Call for price 555")."""
    if re.search(r"(?:^|\s)[-−]\s*\d", s):
        return None
    pp = _PPrice.fromstring(s)
    if pp.amount_text is None:
        return None
    num = pp.amount_text
    rest = s.replace(num, " ")
    if pp.currency:
        rest = rest.replace(pp.currency, " ")
    if _WORDY.search(rest) and not re.search(r"price|preis|prix|precio", rest, re.I):
        return None
    return num, currency_from_symbol(pp.currency, hint) if pp.currency else hint


def parse_price(text, *, currency_hint: str | None = None, locale_hint: str | None = None) -> Price | None:
    """Parse a price as a buyer reads it: "$229.990" (es-CL) -> 229990 CLP, "1.299,00 €" -> 1299.00 EUR.

    Returns None for words, negative numbers, ranges of garbage and absurd magnitudes.
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float, Decimal)):
        return _price_from_number(text, currency_hint)
    s = _price_text_or_none(text)
    if s is None:
        return None
    hint = normalize_code(currency_hint) or currency_from_locale(locale_hint)
    m = MONEY_RE.search(s)
    found = _symbol_amount(s, m, hint) if m else _bare_amount(s, hint)
    if found is None:
        return None
    num, currency = found
    currency = currency or hint
    amount = _to_decimal(num, comma_decimal=decimal_comma(locale_hint, currency),
                         zero_decimal=currency in ZERO_DECIMAL, three_decimal=currency in THREE_DECIMAL)
    amount = _check(amount, currency)
    if amount is None:
        return None
    return Price(round_amount(amount, currency), currency)


def find_money(text: str, *, currency_hint: str | None = None, locale_hint: str | None = None):
    """Every money mention in a short text: list of (start, end, Price)."""
    if not text or len(text) > 300:
        return _find_money(text, currency_hint, locale_hint) if text else []
    return list(_find_money_cached(text, currency_hint, locale_hint))


@functools.lru_cache(maxsize=8192)
def _find_money_cached(text, currency_hint, locale_hint) -> tuple:
    # the same short texts come back many times per page (an element, its wrappers, its rivals)
    # and across pages of one store; Price is immutable, so the answers can be shared
    return tuple(_find_money(text, currency_hint, locale_hint))


def _find_money(text, currency_hint, locale_hint) -> list:
    out = []
    for m in MONEY_RE.finditer(text):
        num = m.group("num1") or m.group("num2")
        sym = m.group("pre") or m.group("post")
        currency = currency_from_symbol(sym, currency_hint)
        amount = _to_decimal(num, comma_decimal=decimal_comma(locale_hint, currency),
                             zero_decimal=currency in ZERO_DECIMAL, three_decimal=currency in THREE_DECIMAL)
        amount = _check(amount, currency)
        if amount is None:
            continue
        out.append((m.start(), m.end(), Price(amount, currency)))
    return out


def number_variants(text: str, *, locale_hint: str | None = None) -> set[Decimal]:
    """All amounts a text could show, read both ways (for 'is this price visible anywhere')."""
    out: set[Decimal] = set()
    for num in re.findall(NUMBER_RE, text):
        for comma in (False, True):
            v = _to_decimal(num, comma_decimal=comma)
            if v is not None:
                out.add(v)
    return out
