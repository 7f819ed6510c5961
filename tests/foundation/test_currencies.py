"""One currency table: a price is parsed, stored and shown to its currency's own minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alerts.render import money
from pipelines.validate import places
from pricehound import currencies
from spiders.extraction import prices


@pytest.mark.parametrize("code", sorted(currencies.ISO_CODES))
def test_parsing_storage_and_display_agree_on_every_currency(code):
    units = currencies.minor_units(code)
    assert prices.minor_unit(code) == currencies.minor_unit(code) == Decimal(1).scaleb(-units)
    shown = money(Decimal("1234.5678"), code).replace(",", "")
    decimals = len(shown.rsplit(".", 1)[1]) if "." in shown.split()[-1] else 0
    assert decimals == units, shown
    assert places(code) == min(currencies.minor_unit(code), Decimal("0.01"))  # stored never coarser than cents


def test_the_table_names_only_iso_codes():
    assert set(currencies.MINOR_UNITS) <= currencies.ISO_CODES
    assert {"JPY", "HUF", "IDR"} <= currencies.ZERO_DECIMAL and {"KWD", "BHD", "OMR"} <= currencies.THREE_DECIMAL
