"""Near-identical listings of different products, and different listings of one product.

Each case is (product, listing, same): the product as the catalogue knows it and a listing as a
shop shows it. ``same`` False pairs must never be linked, whatever else they share (here they
share brand and part number or GTIN, the evidence that would otherwise link them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Side:
    title: str
    gtin: str | None = None
    brand: str | None = None
    mpn: str | None = None


KETTLE = Side("Acme Kettle KW-1700 1.7 l stainless steel", gtin="4006381333931", brand="Acme", mpn="KW-1700")
PHONE = Side("Fonix Phone 15 128GB Black", gtin="0194253397984", brand="Fonix", mpn="FX15-128-BK")
SHAMPOO = Side("Lumo Shampoo 500ml", gtin="5012345678900", brand="Lumo", mpn="LS-500")
TSHIRT = Side("Nordic basic T-shirt size M navy", brand="Nordic", mpn="NB-TS-01")

HOSTILE: list[tuple[str, Side, Side]] = [
    ("size 500ml vs 1l", SHAMPOO, Side("Lumo Shampoo 1l", gtin="5012345678900", brand="Lumo", mpn="LS-500")),
    ("size 500ml vs 1 litre, no gtin", SHAMPOO, Side("Lumo Shampoo 1 Liter", brand="Lumo", mpn="LS500")),
    ("colour black vs white", PHONE, Side("Fonix Phone 15 128GB White", brand="Fonix", mpn="FX15-128-BK")),
    ("colour in another language", PHONE, Side("Fonix Phone 15 128 GB Weiß", brand="Fonix", mpn="FX15128BK")),
    ("capacity 128GB vs 256GB", PHONE, Side("Fonix Phone 15 256GB Black", gtin="0194253397984", brand="Fonix")),
    ("capacity 128 Go vs 256 Go", PHONE, Side("Fonix Phone 15 256 Go noir", brand="Fonix", mpn="FX15-128-BK")),
    ("2-pack vs single", KETTLE, Side("Acme Kettle KW-1700 1.7 l 2-pack", gtin="4006381333931")),
    ("pack of 2", KETTLE, Side("Acme Kettle KW-1700 (Pack of 2)", brand="Acme", mpn="KW-1700")),
    ("twin pack", KETTLE, Side("Acme KW-1700 Kettle Twin Pack", brand="Acme", mpn="KW1700")),
    ("6 x 500ml multipack", SHAMPOO, Side("Lumo Shampoo 6 x 500ml", gtin="5012345678900")),
    ("multipack without count", SHAMPOO, Side("Lumo Shampoo 500ml multipack", brand="Lumo", mpn="LS-500")),
    ("bundle with a mug", KETTLE, Side("Acme Kettle KW-1700 + 2 mugs bundle", gtin="4006381333931")),
    ("bundle incl.", KETTLE, Side("Acme Wasserkocher KW-1700 inkl. Entkalker", brand="Acme", mpn="KW-1700")),
    ("refurbished", PHONE, Side("Fonix Phone 15 128GB Black (Refurbished)", gtin="0194253397984")),
    ("renewed", PHONE, Side("Fonix Phone 15 128GB Black - Renewed", brand="Fonix", mpn="FX15-128-BK")),
    ("used", PHONE, Side("Fonix Phone 15 128GB Black used, good condition", gtin="0194253397984")),
    ("generalüberholt", PHONE, Side("Fonix Phone 15 128GB Schwarz generalüberholt", brand="Fonix", mpn="FX15-128-BK")),
    ("open box", PHONE, Side("Fonix Phone 15 128GB Black open box", gtin="0194253397984")),
    ("case for the phone", PHONE, Side("Silicone case for Fonix Phone 15 black", brand="Fonix", mpn="FX15-128-BK")),
    ("charger compatible with", PHONE, Side("USB-C charger compatible with Fonix Phone 15", brand="Fonix",
                                            mpn="FX15-128-BK")),
    ("screen protector", PHONE, Side("Fonix Phone 15 tempered glass screen protector", gtin="0194253397984")),
    ("coque pour", PHONE, Side("Coque pour Fonix Phone 15 noir", brand="Fonix", mpn="FX15-128-BK")),
    ("different gtin, same mpn", KETTLE, Side("Acme Kettle KW-1700 1.7 l", gtin="4006381333948", brand="Acme",
                                              mpn="KW-1700")),
    ("replacement filter", KETTLE, Side("Acme Kettle KW-1700 replacement filter", brand="Acme", mpn="KW-1700")),
    ("clothing size M vs L", TSHIRT, Side("Nordic basic T-shirt size L navy", brand="Nordic", mpn="NB-TS-01")),
    ("mpn of another brand", KETTLE, Side("Zenit Kettle KW-1700", brand="Zenit", mpn="KW-1700")),
    ("title alike, no evidence", KETTLE, Side("Acme Kettle KW-1700 1.7 l stainless steel")),
    ("restricted-circulation gtin", Side("Store brand apples 1kg", gtin="2001234567893"),
     Side("Store brand apples 1kg", gtin="2001234567893")),
    ("mpn is a word", Side("Acme Kettle classic", brand="Acme", mpn="CLASSIC"),
     Side("Acme Kettle classic", brand="Acme", mpn="CLASSIC")),
]

SAME: list[tuple[str, Side, Side]] = [
    ("gtin, other title", KETTLE, Side("Wasserkocher KW1700 Edelstahl 1,7 L", gtin="04006381333931")),
    ("gtin as UPC vs EAN", PHONE, Side("Fonix 15 (128 GB) - black", gtin="194253397984")),
    ("brand + mpn, no gtin", KETTLE, Side("ACME kettle kw 1700, 1700 ml", brand="ACME Inc.", mpn="kw 1700")),
    ("brand + mpn, colour left out", PHONE, Side("Fonix Phone 15 128GB", brand="Fonix", mpn="FX15128BK")),
    ("gtin, size in fluid ounces", SHAMPOO, Side("Lumo Shampoo 16.9 fl oz", gtin="05012345678900")),
    ("colour in German", PHONE, Side("Fonix Phone 15 128 GB schwarz", gtin="0194253397984")),
]
