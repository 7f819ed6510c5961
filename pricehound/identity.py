"""Product identity: which listings at which shops are one product.

Evidence first, then named rules (the words are in pricehound/identity_vocabulary.py):

    evidence   IdentityEvidence.from_listing(title, gtin, brand, mpn): the GTIN as GTIN-14 with
               a valid check digit, brand and part number as comparison keys, and what makes
               near-identical listings different products: size, colour, capacity (compared
               when both sides state one) and the offer's kind: pack count, condition, bundle,
               accessory (compared always: a listing that says nothing sells one new item alone)
    blocking   block.pack, block.condition, block.bundle, block.accessory, block.size,
               block.colour, block.capacity, block.gtin_differs: any one keeps two apart,
               whatever else agrees (a refurbished phone is sold under the new phone's GTIN)
    linking    gtin_match, then brand_mpn_match, then title_match_confirmed (a title match
               links only when a person confirmed it; unconfirmed it is title_match_unconfirmed,
               a suggestion)

``decide_link`` applies the rules to one pair in Python. ``link_listings`` applies the same
rules to many listings in SQL, one statement per batch, over the evidence the crawl's writer
keeps in ``listing_identity``; tests hold the two equal on a hostile set of near-identical
products. An operator's link or unlink (``link_source = 'operator'``) is never touched by it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import identity_vocabulary as V

log = logging.getLogger("pricehound.identity")

# ---------------------------------------------------------------------------------- GTIN


def _check_digit(body: str) -> str:
    """GS1 mod-10 check digit of the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _isbn10_to_13(raw: str) -> str | None:
    if not re.fullmatch(r"\d{9}[\dX]", raw):
        return None
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(raw))
    if total % 11:
        return None
    body = "978" + raw[:9]
    return body + _check_digit(body)


def gtin_restricted(gtin14: str) -> bool:
    """Whether a GTIN-14 is a number a shop or a region assigns itself (GS1 restricted
    circulation: in-store codes, variable-measure items, coupons). Two shops may give one such
    number to different things, so it is no identity across shops."""
    if gtin14.startswith("000000"):  # a GTIN-8: prefixes 0 and 2 are restricted (RCN-8)
        return gtin14[6] in "02"
    if gtin14[0] != "0":
        return False  # a GTIN-14 packaging level of a global item
    prefix = int(gtin14[1:4])  # the GS1 prefix of the GTIN-13 form
    return 20 <= prefix <= 29 or 40 <= prefix <= 59 or 200 <= prefix <= 299 or prefix >= 980


def normalise_gtin(raw: object) -> str | None:
    """A GTIN-8/12/13/14 (EAN, UPC, JAN) or ISBN-10/13 as GTIN-14, or None.

    None when it is no GTIN: wrong length, a bad check digit, all zeros, or a restricted-
    circulation number (``gtin_restricted``), none of which names one product across shops."""
    if raw is None:
        return None
    text = re.sub(r"[\s\-.]", "", str(raw)).upper()
    text = re.sub(r"^(?:GTIN|EAN|UPC|ISBN|JAN)(?:-?1[034]|-?8|-?12)?:?", "", text)
    if len(text) == 10:
        text = _isbn10_to_13(text) or ""
    if not text.isdigit() or len(text) not in (8, 12, 13, 14):
        return None
    g = text.zfill(14)
    if int(g) == 0 or _check_digit(g[:13]) != g[13] or gtin_restricted(g):
        return None
    return g


# ---------------------------------------------------------------------------------- text keys


def fold(text: str | None) -> str:
    """Lower case, accents removed, whitespace collapsed: how identity words are matched."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")
    return " ".join(plain.casefold().split())


def brand_key(raw: str | None) -> str | None:
    """A brand as a comparison key: "ACME Inc." and "Acme" are one brand."""
    words = [w for w in re.split(r"[^0-9a-z]+", fold(raw)) if w and w not in V.BRAND_NOISE]
    key = "".join(words)
    return key or None


def mpn_key(raw: str | None) -> str | None:
    """A manufacturer part number as a comparison key, or None when it names no item (too
    short, or no digit: a family name or a word)."""
    key = re.sub(r"[^0-9A-Z]", "", fold(raw).upper())
    if len(key) < V.MPN_MIN_LENGTH or not re.search(r"\d", key):
        return None
    return key


# ---------------------------------------------------------------------------------- evidence

_NUMBER = r"(?P<num>\d+(?:[.,]\d+)?)"


def _unit_regex(units: Iterable[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    return re.compile(_NUMBER + r"\s*(?P<unit>" + alts + r")(?![0-9a-z])")


_SIZE_RE = _unit_regex(V.SIZE_UNITS)
_CAPACITY_RE = _unit_regex(V.CAPACITY_UNITS)
_SIZE_LABEL_RE = re.compile(r"\b(?:" + "|".join(V.SIZE_LABEL_WORDS) + r")\s*:?\s*(?P<label>"
                            + "|".join(V.SIZE_LABELS) + r")\b")
_COLOUR_RE = re.compile(r"\b(?P<c>" + "|".join(re.escape(c) for c in sorted(V.COLOURS, key=len, reverse=True))
                        + r")\b")
_PACK_RES = [re.compile(p) for p in V.PACK_PATTERNS]
_PACK_WORD_RE = re.compile(r"\b(?P<w>" + "|".join(re.escape(w) for w in sorted(V.PACK_WORDS, key=len, reverse=True))
                           + r")\b")
_CONDITION_RE = re.compile(r"(?<![0-9a-z])(?P<c>" + "|".join(re.escape(c) for c in sorted(V.CONDITIONS, key=len, reverse=True))
                           + r")(?![0-9a-z])")
_BUNDLE_RE = re.compile("|".join(V.BUNDLE_PATTERNS))
_ACCESSORY_RE = re.compile(r"\b(?:" + "|".join(V.ACCESSORY_NOUNS) + r")\b")
_COMPAT_RE = re.compile("|".join(V.COMPATIBILITY_PHRASES))


def _measure(match: re.Match[str], table: dict[str, tuple[str, str, Decimal]]) -> str:
    dimension, unit, factor = table[match.group("unit")]
    amount = (Decimal(match.group("num").replace(",", ".")) * factor).normalize()
    if dimension in ("vol", "mass") and amount >= 10:
        amount = amount.quantize(Decimal(1))  # 16.9 fl oz = 500 ml, not 499.79
    return f"{dimension}:{format(amount, 'f')}{unit}"


def _joined(values: Iterable[str]) -> str | None:
    found = sorted(set(values))
    return "+".join(found) if found else None


@dataclass(frozen=True)
class IdentityEvidence:
    """What a listing (or a product) says about which product it is.

    ``size``, ``colour`` and ``capacity`` are compared only when both sides state one; ``kind``
    (pack count, condition, bundle, accessory) always, since a listing that says nothing sells
    one new item on its own."""

    gtins: frozenset[str] = frozenset()
    brand: str | None = None
    mpn: str | None = None
    size: str | None = None
    colour: str | None = None
    capacity: str | None = None
    pack: int = 1  # 0: a multipack of unstated count
    condition: str = "new"
    bundle: bool = False
    accessory: bool = False
    words: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def gtin(self) -> str | None:
        """The one GTIN-14 of a listing (the smallest, when a product carries several)."""
        return min(self.gtins) if self.gtins else None

    @property
    def kind(self) -> str:
        """The offer's kind as one key: '' for one new item alone."""
        parts = []
        if self.accessory:
            parts.append("accessory")
        if self.bundle:
            parts.append("bundle")
        if self.condition != "new":
            parts.append(f"condition={self.condition}")
        if self.pack != 1:
            parts.append(f"pack={self.pack}")
        return ";".join(parts)

    @classmethod
    def from_listing(cls, title: str | None, *, gtin: object = None, gtins: Iterable[object] = (),
                     brand: str | None = None, mpn: str | None = None) -> IdentityEvidence:
        """Read the evidence of a listing or a product from its title and identifiers."""
        found = {g for g in (normalise_gtin(x) for x in [gtin, *gtins]) if g}
        text = fold(title)
        b = brand_key(brand)
        if brand:  # the brand's own words are no colour or size ("Black+Decker", "Red Bull")
            for word in sorted(set(re.split(r"[^0-9a-z]+", fold(brand))) - {""}, key=len, reverse=True):
                text = re.sub(r"\b" + re.escape(word) + r"\b", " ", text)
        return cls(
            gtins=frozenset(found), brand=b, mpn=mpn_key(mpn),
            size=_joined([_measure(m, V.SIZE_UNITS) for m in _SIZE_RE.finditer(text)]
                         + [f"label:{m.group('label')}" for m in _SIZE_LABEL_RE.finditer(text)]),
            colour=_joined(V.COLOURS[m.group("c")] for m in _COLOUR_RE.finditer(text)),
            capacity=_joined(_measure(m, V.CAPACITY_UNITS) for m in _CAPACITY_RE.finditer(text)),
            pack=_pack(text), condition=_condition(text),
            bundle=bool(_BUNDLE_RE.search(text)),
            accessory=bool(_ACCESSORY_RE.search(text) or _COMPAT_RE.search(text)),
            words=frozenset(w for w in re.split(r"[^0-9a-z]+", fold(title)) if w and w not in V.TITLE_STOPWORDS),
        )


def _pack(text: str) -> int:
    counts = {int(m.group("n")) for r in _PACK_RES for m in r.finditer(text)}
    counts |= {V.PACK_WORDS[m.group("w")] for m in _PACK_WORD_RE.finditer(text)}
    counts.discard(1)
    if not counts:
        return 1
    return max(counts) if 0 not in counts or len(counts) > 1 else 0


def _condition(text: str) -> str:
    found = {V.CONDITIONS[m.group("c")] for m in _CONDITION_RE.finditer(text)}
    for condition in ("used", "refurbished", "open_box"):  # the furthest from new wins
        if condition in found:
            return condition
    return "new"


# ---------------------------------------------------------------------------------- rules

BLOCKING_RULES = ("block.gtin_differs", "block.accessory", "block.bundle", "block.pack", "block.condition",
                  "block.capacity", "block.size", "block.colour")
LINKING_RULES = ("gtin_match", "brand_mpn_match", "title_match_confirmed")


@dataclass(frozen=True)
class LinkDecision:
    """Whether a listing is this product, by which rule, and how sure: every decision names the
    rule that made it."""

    linked: bool
    method: str | None  # gtin | brand_mpn | title | None
    confidence: Decimal
    rule: str


def blocking_rule(listing: IdentityEvidence, product: IdentityEvidence) -> str | None:
    """The first rule that keeps two apart, or None. Each is true of shops in general:
    - gtin_differs: both carry GTINs and share none (two trade items, whatever the titles say);
    - accessory, bundle, pack, condition: a case for a phone, a phone with a case, a two-pack
      and a used phone are other offers than the phone; a listing that says nothing is one new
      item alone, so these compare even when one side is silent;
    - capacity, size, colour: compared when both sides state one (a title that leaves the colour
      out says nothing against it)."""
    if listing.gtins and product.gtins and not (listing.gtins & product.gtins):
        return "block.gtin_differs"
    if listing.accessory != product.accessory:
        return "block.accessory"
    if listing.bundle != product.bundle:
        return "block.bundle"
    if listing.pack != product.pack:
        return "block.pack"
    if listing.condition != product.condition:
        return "block.condition"
    for dimension in ("capacity", "size", "colour"):
        a, b = getattr(listing, dimension), getattr(product, dimension)
        if a is not None and b is not None and a != b:
            return f"block.{dimension}"
    return None


def title_similarity(a: IdentityEvidence, b: IdentityEvidence) -> Decimal:
    """Shared title words over the smaller title's words (0..1)."""
    if not a.words or not b.words:
        return Decimal(0)
    return (Decimal(len(a.words & b.words)) / min(len(a.words), len(b.words))).quantize(Decimal("0.01"))


def decide_link(listing: IdentityEvidence, product: IdentityEvidence, *, confirmed: bool = False) -> LinkDecision:
    """Is this listing that product? Blocking rules first, then gtin_match, brand_mpn_match and a
    title match, which links only when ``confirmed`` (a user or operator said so)."""
    blocked = blocking_rule(listing, product)
    if blocked:
        return LinkDecision(False, None, Decimal(0), blocked)
    if listing.gtins & product.gtins:
        return LinkDecision(True, "gtin", V.CONFIDENCE["gtin_match"], "gtin_match")
    if listing.brand and listing.mpn and (listing.brand, listing.mpn) == (product.brand, product.mpn):
        return LinkDecision(True, "brand_mpn", V.CONFIDENCE["brand_mpn_match"], "brand_mpn_match")
    similarity = title_similarity(listing, product)
    strict = all(getattr(listing, d) == getattr(product, d) for d in ("capacity", "size", "colour"))
    brands_agree = listing.brand is None or product.brand is None or listing.brand == product.brand
    if similarity >= V.TITLE_MIN_SIMILARITY and strict and brands_agree:
        if confirmed:
            return LinkDecision(True, "title", V.CONFIDENCE["title_match_confirmed"], "title_match_confirmed")
        return LinkDecision(False, "title", similarity, "title_match_unconfirmed")
    return LinkDecision(False, None, Decimal(0), "no_evidence")


# ---------------------------------------------------------------------------------- SQL

def evidence_row(listing_id: int, ev: IdentityEvidence) -> dict:
    """The listing_identity row of one listing's evidence."""
    return {"listing_id": listing_id, "gtin": ev.gtin, "brand": ev.brand, "mpn": ev.mpn, "size": ev.size,
            "colour": ev.colour, "capacity": ev.capacity, "kind": ev.kind}


# What the evidence of a listing is read from, as one value: evidence is read again only when it
# changed (a steady crawl reads no evidence at all).
FACTS = "md5(concat_ws(chr(31), l.title, l.gtin, l.brand, l.mpn))"

_RECORD_EVIDENCE = sa.text("""
    WITH input AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:gtins AS text[]), CAST(:brands AS text[]),
                             CAST(:mpns AS text[]), CAST(:sizes AS text[]), CAST(:colours AS text[]),
                             CAST(:capacities AS text[]), CAST(:kinds AS text[]))
            AS t(listing_id, gtin, brand, mpn, size, colour, capacity, kind)
    )
    INSERT INTO listing_identity AS li (listing_id, gtin, brand, mpn, size, colour, capacity, kind, facts, updated_at)
    SELECT i.*, {FACTS}, pricehound_now() FROM input i JOIN store_listings l ON l.id = i.listing_id
    ON CONFLICT (listing_id) DO UPDATE
       SET gtin = excluded.gtin, brand = excluded.brand, mpn = excluded.mpn, size = excluded.size,
           colour = excluded.colour, capacity = excluded.capacity, kind = excluded.kind,
           facts = excluded.facts, updated_at = excluded.updated_at
     WHERE li.facts IS DISTINCT FROM excluded.facts
        OR (li.gtin, li.brand, li.mpn, li.size, li.colour, li.capacity, li.kind)
           IS DISTINCT FROM (excluded.gtin, excluded.brand, excluded.mpn, excluded.size, excluded.colour,
                             excluded.capacity, excluded.kind)
    RETURNING li.listing_id, (li.gtin, li.brand, li.mpn, li.size, li.colour, li.capacity, li.kind)
              IS DISTINCT FROM (SELECT (o.gtin, o.brand, o.mpn, o.size, o.colour, o.capacity, o.kind)
                                  FROM listing_identity o WHERE o.listing_id = li.listing_id) AS evidence_changed
""".replace("{FACTS}", FACTS))


def record_evidence(conn: Connection, evidence: Sequence[tuple[int, IdentityEvidence]]) -> list[int]:
    """Keep each listing's identity evidence (one statement); return the listings whose evidence
    changed, which are the ones worth linking again."""
    if not evidence:
        return []
    rows = [evidence_row(i, ev) for i, ev in evidence]
    params = {k: [r[k2] for r in rows] for k, k2 in (
        ("ids", "listing_id"), ("gtins", "gtin"), ("brands", "brand"), ("mpns", "mpn"), ("sizes", "size"),
        ("colours", "colour"), ("capacities", "capacity"), ("kinds", "kind"))}
    return [int(r[0]) for r in conn.execute(_RECORD_EVIDENCE, params) if r[1]]


_LISTING_FACTS = sa.text("""
    SELECT l.id, l.title, l.gtin, l.brand, l.mpn
      FROM store_listings l LEFT JOIN listing_identity li ON li.listing_id = l.id
     WHERE l.id = ANY (CAST(:ids AS bigint[]))
       AND (CAST(:all AS boolean) OR li.facts IS DISTINCT FROM {FACTS})
""".replace("{FACTS}", FACTS))

# The brand and part number a page states, kept on the listing (a page that leaves them out this
# time takes nothing away).
_STORE_BRAND_MPN = sa.text("""
    UPDATE store_listings l SET brand = coalesce(i.brand, l.brand), mpn = coalesce(i.mpn, l.mpn)
      FROM unnest(CAST(:ids AS bigint[]), CAST(:brands AS text[]), CAST(:mpns AS text[])) AS i(id, brand, mpn)
     WHERE l.id = i.id AND (i.brand IS NOT NULL OR i.mpn IS NOT NULL)
       AND (l.brand, l.mpn) IS DISTINCT FROM (coalesce(i.brand, l.brand), coalesce(i.mpn, l.mpn))
""")


def refresh_evidence(conn: Connection, listing_ids: Sequence[int], *, force: bool = False) -> list[int]:
    """Read the evidence of listings from what the crawl stored on them (title, GTIN, brand,
    part number) and keep it; return the listings whose evidence changed. Listings whose facts
    are unchanged since their evidence was read are skipped unless ``force``."""
    rows = conn.execute(_LISTING_FACTS, {"ids": [int(i) for i in listing_ids], "all": force}).all()
    return record_evidence(conn, [(r.id, IdentityEvidence.from_listing(r.title, gtin=r.gtin, brand=r.brand, mpn=r.mpn))
                                  for r in rows])


# The linker: one statement per batch. Candidates are the batch's listings that no operator has
# decided (link_source is NULL or 'linker'). Each finds products through its GTIN (product_gtins)
# and through brand + part number; a product the blocking rules keep apart is no candidate;
# gtin_match outranks brand_mpn_match, and a listing whose best rule finds more than one product
# is left alone (ambiguous: a person decides). A listing with a GTIN or a brand + part number that
# no product has yet makes a new product from the first such listing of the batch; listings of
# the batch that agree with it join it in the same statement.
LINK_BATCH = sa.text("""
    WITH cand AS MATERIALIZED (
        -- each listing of the batch with its evidence, the product that has its GTIN, and whether
        -- the blocking rules allow that link (gtin_match)
        SELECT l.id, l.title, l.image_url, l.brand AS brand_raw, l.mpn AS mpn_raw,
               i.gtin, i.brand, i.mpn, i.size, i.colour, i.capacity, i.kind, g.product_id AS gtin_product,
               coalesce(i.kind = p.id_kind
                        AND (i.size IS NULL OR p.id_size IS NULL OR i.size = p.id_size)
                        AND (i.colour IS NULL OR p.id_colour IS NULL OR i.colour = p.id_colour)
                        AND (i.capacity IS NULL OR p.id_capacity IS NULL OR i.capacity = p.id_capacity), false)
                   AS gtin_allowed
          FROM unnest(CAST(:ids AS bigint[])) AS b(id)
          JOIN store_listings l ON l.id = b.id
          JOIN listing_identity i ON i.listing_id = l.id
          LEFT JOIN product_gtins g ON g.gtin = i.gtin
          LEFT JOIN branded_products p ON p.id = g.product_id
         WHERE l.link_source IS DISTINCT FROM 'operator'
           AND (i.gtin IS NOT NULL OR (i.brand IS NOT NULL AND i.mpn IS NOT NULL))
    ), by_mpn AS MATERIALIZED (
        -- listings no GTIN links: the products with their brand + part number, and whether the
        -- blocking rules allow the link (brand_mpn_match)
        SELECT c.id AS listing_id, p.id AS product_id,
               c.kind = p.id_kind
               AND (c.size IS NULL OR p.id_size IS NULL OR c.size = p.id_size)
               AND (c.colour IS NULL OR p.id_colour IS NULL OR c.colour = p.id_colour)
               AND (c.capacity IS NULL OR p.id_capacity IS NULL OR c.capacity = p.id_capacity)
               -- block.gtin_differs: both carry GTINs and share none
               AND NOT (c.gtin IS NOT NULL AND c.gtin_product IS DISTINCT FROM p.id
                        AND EXISTS (SELECT 1 FROM product_gtins x WHERE x.product_id = p.id)) AS allowed
          FROM cand c
          JOIN branded_products p ON p.id_brand = c.brand AND p.id_mpn = c.mpn
         WHERE NOT c.gtin_allowed
    ), mpn_pick AS (
        -- more than one product allowed: ambiguous, a person decides
        SELECT listing_id, min(product_id) AS product_id, count(*) AS choices
          FROM by_mpn WHERE allowed GROUP BY listing_id
    ), fresh AS MATERIALIZED (
        -- no product has the listing's GTIN or brand + part number (linked or blocked alike)
        SELECT c.* FROM cand c
         WHERE CAST(:create AS boolean) AND c.gtin_product IS NULL
           AND NOT EXISTS (SELECT 1 FROM by_mpn m WHERE m.listing_id = c.id)
    ), seeds AS (
        SELECT DISTINCT ON (coalesce(f.gtin, f.brand || '/' || f.mpn)) f.*
          FROM fresh f
         -- a plain offer (one new item alone) makes the product rather than a bundle or a used one
         ORDER BY coalesce(f.gtin, f.brand || '/' || f.mpn), f.kind <> '', f.id
    ), made AS (
        INSERT INTO branded_products (name, brand, mpn, gtin, image_url, id_brand, id_mpn, id_size, id_colour,
                                      id_capacity, id_kind, created_from_listing_id)
        SELECT coalesce(nullif(btrim(s.title), ''), 'product ' || coalesce(s.gtin, s.mpn)), s.brand_raw,
               s.mpn_raw, s.gtin, s.image_url, s.brand, s.mpn, s.size, s.colour, s.capacity, s.kind, s.id
          FROM seeds s
        ON CONFLICT DO NOTHING
        RETURNING id, gtin, id_brand, id_mpn, id_size, id_colour, id_capacity, id_kind
    ), made_gtins AS (
        INSERT INTO product_gtins (gtin, product_id)
        SELECT m.gtin, m.id FROM made m WHERE m.gtin IS NOT NULL
        ON CONFLICT DO NOTHING
    ), joined AS (
        -- the batch's listings that agree with a product made here (its seed among them)
        SELECT j.* FROM (
            SELECT f.id AS listing_id, m.id AS product_id, 1 AS rank, f.kind, f.size, f.colour, f.capacity, m.id_kind,
                   m.id_size, m.id_colour, m.id_capacity
              FROM fresh f JOIN made m ON m.gtin = f.gtin
            UNION ALL
            SELECT f.id, m.id, 2, f.kind, f.size, f.colour, f.capacity, m.id_kind, m.id_size, m.id_colour, m.id_capacity
              FROM fresh f JOIN made m ON m.id_brand = f.brand AND m.id_mpn = f.mpn
             WHERE f.gtin IS NULL OR m.gtin IS NULL) j
         WHERE j.kind = j.id_kind
           AND (j.size IS NULL OR j.id_size IS NULL OR j.size = j.id_size)
           AND (j.colour IS NULL OR j.id_colour IS NULL OR j.colour = j.id_colour)
           AND (j.capacity IS NULL OR j.id_capacity IS NULL OR j.capacity = j.id_capacity)
    ), decided AS (
        SELECT id AS listing_id, gtin_product AS product_id, 1 AS rank FROM cand WHERE gtin_allowed
        UNION ALL
        SELECT listing_id, product_id, 2 FROM mpn_pick WHERE choices = 1
        UNION ALL
        SELECT DISTINCT ON (listing_id) listing_id, product_id, rank FROM joined ORDER BY listing_id, rank, product_id
    ), linked AS (
        UPDATE store_listings l
           SET product_id = d.product_id,
               link_method = CASE d.rank WHEN 1 THEN 'gtin' ELSE 'brand_mpn' END,
               link_rule = CASE d.rank WHEN 1 THEN 'gtin_match' ELSE 'brand_mpn_match' END,
               link_confidence = CASE d.rank WHEN 1 THEN CAST(:gtin_confidence AS numeric)
                                 ELSE CAST(:mpn_confidence AS numeric) END,
               link_source = 'linker',
               linked_at = CAST(:now AS timestamptz)
          -- decided as arrays in listing order: the planner then reaches each listing through
          -- its primary key, where joined to the CTE it hashed the whole listings table per batch
          FROM unnest(ARRAY(SELECT listing_id FROM decided ORDER BY listing_id),
                      ARRAY(SELECT product_id FROM decided ORDER BY listing_id),
                      ARRAY(SELECT rank FROM decided ORDER BY listing_id)) AS d(listing_id, product_id, rank)
         WHERE l.id = d.listing_id
           AND (l.product_id, l.link_rule) IS DISTINCT FROM (d.product_id,
                CASE d.rank WHEN 1 THEN 'gtin_match' ELSE 'brand_mpn_match' END)
        RETURNING l.id
    ), was_linked AS MATERIALIZED (
        -- the batch's listings the linker had linked before this statement
        SELECT l.id, l.product_id
          FROM unnest(CAST(:ids AS bigint[])) AS b(id)
          JOIN store_listings l ON l.id = b.id
         WHERE l.link_source = 'linker' AND l.product_id IS NOT NULL
    ), unlinked AS (
        -- a listing the linker linked whose evidence no longer supports that product (an
        -- ambiguous listing keeps a product that is still among its choices)
        UPDATE store_listings l
           SET product_id = NULL, link_method = NULL, link_rule = NULL, link_confidence = NULL,
               link_source = NULL, linked_at = CAST(:now AS timestamptz)
          FROM unnest(ARRAY(
                SELECT w.id FROM was_linked w
                 WHERE NOT EXISTS (SELECT 1 FROM decided d WHERE d.listing_id = w.id)
                   AND NOT EXISTS (SELECT 1 FROM by_mpn m WHERE m.listing_id = w.id AND m.product_id = w.product_id
                                      AND m.allowed))) AS u(id)
         WHERE l.id = u.id
        RETURNING l.id
    )
    SELECT (SELECT count(*) FROM linked) AS linked, (SELECT count(*) FROM made) AS created,
           (SELECT count(*) FROM unlinked) AS unlinked,
           (SELECT count(*) FROM mpn_pick WHERE choices > 1) AS ambiguous,
           (SELECT coalesce(array_agg(id), '{}') FROM linked) AS linked_ids,
           (SELECT coalesce(array_agg(id), '{}') FROM unlinked) AS unlinked_ids
""")

# A listing linked to a product someone watches gains that demand (the watch follows every
# listing of its product); one unlinked loses it. Only such listings go to the frontier refresh,
# so linking a million unwatched listings adds no frontier rows. (A listing moved from one
# watched product to another by new evidence gains the new demand at once and sheds the old at
# the periodic priority refresh.)
_REFRESH_DEMAND = sa.text("""
    SELECT refresh_crawl_priorities(array(
        SELECT l.id FROM unnest(CAST(:linked AS bigint[])) AS b(id) JOIN store_listings l ON l.id = b.id
         WHERE EXISTS (SELECT 1 FROM shopping_list_items w WHERE w.product_id = l.product_id AND w.active)
        UNION
        SELECT f.listing_id FROM unnest(CAST(:unlinked AS bigint[])) AS b(id)
          JOIN user_crawler_priorities f ON f.listing_id = b.id),
        true)
""")
_ANY_PRODUCT_WATCH = sa.text(
    "SELECT EXISTS (SELECT 1 FROM shopping_list_items WHERE product_id IS NOT NULL AND active)")

# every listing with evidence, a page at a time (operators' listings are skipped by the batch)
_UNLINKED_IDS = sa.text("""
    SELECT i.listing_id FROM listing_identity i WHERE i.listing_id > :after ORDER BY i.listing_id LIMIT :limit
""")


@dataclass
class LinkSummary:
    linked: int = 0
    created: int = 0
    unlinked: int = 0
    ambiguous: int = 0
    batches: int = 0
    linked_ids: list[int] = field(default_factory=list)


def link_listings(conn: Connection, listing_ids: Sequence[int] | None = None, *, batch_size: int = 5000,
                  create_products: bool = True, progress=None) -> LinkSummary:
    """Link listings to products on their evidence, ``batch_size`` listings per statement.

    ``listing_ids`` None means every listing with evidence. Listings an operator linked or
    unlinked are never changed. A listing linked by the linker whose evidence changed is relinked
    or unlinked. New products are made from listings whose GTIN or brand + part number no product
    has (``create_products``)."""
    summary = LinkSummary()
    # two linkers making products from the same new GTIN at once would make it twice
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended('pricehound.link', 0))"))
    params = {"create": create_products, "gtin_confidence": V.CONFIDENCE["gtin_match"],
              "mpn_confidence": V.CONFIDENCE["brand_mpn_match"]}

    # the one clock, read once: every link of the run says when it was made
    params["now"] = conn.execute(sa.text("SELECT pricehound_now()")).scalar_one()
    watched = bool(conn.execute(_ANY_PRODUCT_WATCH).scalar())

    def run(ids: list[int]) -> None:
        r = conn.execute(LINK_BATCH, {**params, "ids": ids}).one()
        summary.linked += int(r.linked)
        summary.created += int(r.created)
        summary.unlinked += int(r.unlinked)
        summary.ambiguous += int(r.ambiguous)
        summary.linked_ids.extend(int(i) for i in r.linked_ids)
        if (r.linked_ids and watched) or r.unlinked_ids:
            conn.execute(_REFRESH_DEMAND, {"linked": list(r.linked_ids) if watched else [],
                                           "unlinked": list(r.unlinked_ids)})
        summary.batches += 1
        if progress:
            progress(summary)

    if listing_ids is not None:
        ids = sorted({int(i) for i in listing_ids})
        for start in range(0, len(ids), batch_size):
            run(ids[start:start + batch_size])
        return summary
    after = 0
    while True:
        ids = [int(r[0]) for r in conn.execute(_UNLINKED_IDS, {"after": after, "limit": batch_size})]
        if not ids:
            return summary
        run(ids)
        after = ids[-1]


def observe_rows(conn: Connection, rows: Sequence) -> LinkSummary | None:
    """After a crawl's flush, in its transaction: keep the brand and part number read, read the
    evidence of listings whose facts changed, and link those. Rows are pipelines.flush.Row of ok
    observations. A failure to link is logged and leaves the flush whole (the evidence waits for
    ``pricehound products relink``)."""
    if not rows:
        return None
    ids = [int(r.listing_id) for r in rows]
    conn.execute(_STORE_BRAND_MPN, {"ids": ids, "brands": [r.brand for r in rows], "mpns": [r.mpn for r in rows]})
    changed = refresh_evidence(conn, ids)
    if not changed:
        return None
    try:
        with conn.begin_nested():
            return link_listings(conn, changed)
    except sa.exc.DBAPIError as exc:
        log.warning("linking %d listings to products failed; they wait for the next link run: %s", len(changed), exc)
        return None


def product_evidence(name: str, *, brand: str | None = None, mpn: str | None = None,
                     gtins: Iterable[object] = ()) -> IdentityEvidence:
    """The evidence of a product from its name and identifiers (as stored in its id_* columns)."""
    return IdentityEvidence.from_listing(name, gtins=gtins, brand=brand, mpn=mpn)
