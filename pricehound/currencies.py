"""Currencies, stated once: which codes are ISO 4217 currencies, and how many minor units each
one's prices are written with. Parsing (spiders/extraction/prices.py), storage
(pipelines/validate.py; money columns keep up to three places) and display (alerts/render.py)
all read this table, so a price is read, stored and shown to the same places.
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 codes that show up on shop pages (a whitelist, so "NEW" or "SKU" are not currencies).
ISO_CODES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLL SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES
    VND VUV WST XAF XCD XOF XPF YER ZAR ZMW""".split()
)

# Minor units as shops write prices: ISO 4217's, except that a few currencies with two minor
# units in ISO (HUF, IDR, COP, TWD...) are written whole in practice, because their cents are
# worth nothing. Every code not listed has two.
MINOR_UNITS: dict[str, int] = {
    **{code: 0 for code in "CLP JPY KRW VND ISK PYG UGX IDR HUF COP TWD XAF XOF KMF GNF RWF".split()},
    # three places: "2.500" KWD is two and a half dinars
    **{code: 3 for code in "BHD IQD JOD KWD LYD OMR TND".split()},
}
DEFAULT_MINOR_UNITS = 2

ZERO_DECIMAL = frozenset(code for code, units in MINOR_UNITS.items() if units == 0)
THREE_DECIMAL = frozenset(code for code, units in MINOR_UNITS.items() if units == 3)


def minor_units(currency: str | None) -> int:
    """How many decimal places a price in ``currency`` is written with: 0, 2 or 3."""
    return MINOR_UNITS.get((currency or "").strip().upper(), DEFAULT_MINOR_UNITS)


def minor_unit(currency: str | None) -> Decimal:
    """The smallest amount a price in this currency is written with: 1, 0.01 or 0.001."""
    return Decimal(1).scaleb(-minor_units(currency))
