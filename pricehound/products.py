"""The product catalogue: products, their GTINs, and the operator's corrections of links.

Every correction here is recorded on the listing as ``link_source = 'operator'`` (with its
rule), and the linker (pricehound/identity.py) never changes such a listing again: a later crawl
or link run cannot undo what an operator decided. Each function validates before it writes and
raises ``InputError`` with a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound.catalog import InputError, check_text, parse_id
from pricehound.identity import IdentityEvidence, normalise_gtin
from pricehound.identity_vocabulary import CONFIDENCE


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    brand: str | None
    category: str | None
    mpn: str | None
    image_url: str | None
    gtins: tuple[str, ...] = ()
    listings: int = 0


@dataclass
class ProductDetail:
    product: Product
    offers: list[dict[str, Any]] = field(default_factory=list)


def parse_gtins(raw: str | Iterable[str] | None) -> list[str]:
    """GTINs given by a person: each must be a valid GTIN (its check digit right)."""
    if raw is None:
        return []
    items = [g for g in (raw.split(",") if isinstance(raw, str) else raw) if str(g).strip()]
    out = []
    for g in items:
        n = normalise_gtin(g)
        if n is None:
            raise InputError(f"{str(g).strip()!r} is no valid GTIN/EAN/UPC/ISBN (check its digits and check digit)")
        out.append(n)
    return sorted(set(out))


_SET_EVIDENCE = sa.text("UPDATE branded_products SET id_brand = :b, id_mpn = :m, id_size = :s, id_colour = :c, "
                        "id_capacity = :cap, id_kind = :k WHERE id = :id")


def _evidence_params(name: str, brand: str | None, mpn: str | None, gtins: Sequence[str]) -> dict[str, Any]:
    ev = IdentityEvidence.from_listing(name, gtins=gtins, brand=brand, mpn=mpn)
    return {"b": ev.brand, "m": ev.mpn, "s": ev.size, "c": ev.colour, "cap": ev.capacity, "k": ev.kind}


def create_product(conn: Connection, *, name: str, brand: str | None = None, category: str | None = None,
                   mpn: str | None = None, gtins: str | Iterable[str] | None = None,
                   image_url: str | None = None) -> int:
    """Add a product; its identity evidence is read from its name and identifiers."""
    name = (check_text(name, "product name") or "").strip()
    if not name:
        raise InputError("a product needs a name, e.g. --name 'Acme Kettle KW-1700 1.7 l'")
    brand, category, mpn = (check_text(x, what) for x, what in ((brand, "brand"), (category, "category"), (mpn, "MPN")))
    codes = parse_gtins(gtins)
    taken = conn.execute(sa.text("SELECT gtin, product_id FROM product_gtins WHERE gtin = ANY (:g)"),
                         {"g": codes}).first()
    if taken:
        raise InputError(f"GTIN {taken.gtin} already belongs to product {taken.product_id}; "
                         f"see `pricehound products show {taken.product_id}`")
    pid = conn.execute(sa.text("""
        INSERT INTO branded_products (name, brand, category, mpn, gtin, image_url)
        VALUES (:name, :brand, :category, :mpn, :gtin, :image) RETURNING id"""),
        {"name": name, "brand": brand, "category": category, "mpn": mpn, "gtin": codes[0] if codes else None,
         "image": image_url}).scalar_one()
    conn.execute(_SET_EVIDENCE,
                 {"id": pid, **_evidence_params(name, brand, mpn, codes)})
    if codes:
        conn.execute(sa.text("INSERT INTO product_gtins (gtin, product_id) SELECT unnest(CAST(:g AS text[])), :p"),
                     {"g": codes, "p": pid})
    return int(pid)


def _require_product(conn: Connection, product_id: int | str) -> int:
    pid = parse_id(product_id, "product id")
    if conn.execute(sa.text("SELECT 1 FROM branded_products WHERE id = :p"), {"p": pid}).first() is None:
        raise InputError(f"no product {pid}; `pricehound products list` shows them")
    return pid


def _require_listing(conn: Connection, listing_id: int | str) -> int:
    lid = parse_id(listing_id, "listing id")
    if conn.execute(sa.text("SELECT 1 FROM store_listings WHERE id = :l"), {"l": lid}).first() is None:
        raise InputError(f"no listing {lid}")
    return lid


_REFRESH = sa.text("SELECT refresh_crawl_priorities(CAST(:ids AS bigint[]), true)")


def link(conn: Connection, listing_id: int | str, product_id: int | str, *, source: str = "operator") -> None:
    """Link a listing to a product by a person's decision (an operator, or a user confirming a
    title match): recorded as such, never changed by the linker."""
    lid, pid = _require_listing(conn, listing_id), _require_product(conn, product_id)
    method, rule = ("operator", "operator_link") if source == "operator" else ("title", "title_match_confirmed")
    confidence = CONFIDENCE["operator"] if source == "operator" else CONFIDENCE["title_match_confirmed"]
    conn.execute(sa.text("""
        UPDATE store_listings SET product_id = :p, link_method = :m, link_rule = :r, link_confidence = :c,
               link_source = :s, linked_at = pricehound_now() WHERE id = :l"""),
        {"p": pid, "m": method, "r": rule, "c": confidence, "s": source, "l": lid})
    conn.execute(_REFRESH, {"ids": [lid]})


def unlink(conn: Connection, listing_id: int | str) -> int | None:
    """Take a listing off its product and keep it off: the linker will not link it again."""
    lid = _require_listing(conn, listing_id)
    old = conn.execute(sa.text("SELECT product_id FROM store_listings WHERE id = :l"), {"l": lid}).scalar()
    conn.execute(sa.text("""
        UPDATE store_listings SET product_id = NULL, link_method = NULL, link_rule = 'operator_unlink',
               link_confidence = NULL, link_source = 'operator', linked_at = pricehound_now() WHERE id = :l"""),
        {"l": lid})
    conn.execute(_REFRESH, {"ids": [lid]})
    return None if old is None else int(old)


def release(conn: Connection, listing_id: int | str) -> None:
    """Hand a listing back to the linker (undo an operator's link or unlink)."""
    lid = _require_listing(conn, listing_id)
    conn.execute(sa.text("""
        UPDATE store_listings SET link_source = 'linker', link_rule = NULL
         WHERE id = :l AND link_source IN ('operator', 'user')"""), {"l": lid})


def merge(conn: Connection, keep_id: int | str, dup_id: int | str) -> int:
    """Merge product dup into keep: its listings, GTINs, watches and activity move over; dup goes.
    Returns how many listings moved. The listings keep how they were linked."""
    keep, dup = _require_product(conn, keep_id), _require_product(conn, dup_id)
    if keep == dup:
        raise InputError("a product cannot be merged into itself")
    moved = conn.execute(sa.text("UPDATE store_listings SET product_id = :k WHERE product_id = :d RETURNING id"),
                         {"k": keep, "d": dup}).scalars().all()
    conn.execute(sa.text("UPDATE product_gtins SET product_id = :k WHERE product_id = :d"), {"k": keep, "d": dup})
    # a list watching both keeps its watch of keep
    conn.execute(sa.text("""
        DELETE FROM shopping_list_items d USING shopping_list_items k
         WHERE d.product_id = :d AND k.product_id = :k AND k.list_id = d.list_id"""), {"k": keep, "d": dup})
    conn.execute(sa.text("UPDATE shopping_list_items SET product_id = :k WHERE product_id = :d"), {"k": keep, "d": dup})
    conn.execute(sa.text("UPDATE user_activity SET product_id = :k WHERE product_id = :d"), {"k": keep, "d": dup})
    conn.execute(sa.text("""
        UPDATE branded_products k SET brand = coalesce(k.brand, d.brand), category = coalesce(k.category, d.category),
               mpn = coalesce(k.mpn, d.mpn), image_url = coalesce(k.image_url, d.image_url)
          FROM branded_products d WHERE k.id = :k AND d.id = :d"""), {"k": keep, "d": dup})
    conn.execute(sa.text("DELETE FROM branded_products WHERE id = :d"), {"d": dup})
    conn.execute(_REFRESH, {"ids": list(moved)})
    return len(moved)


def split(conn: Connection, product_id: int | str, listing_ids: Sequence[int | str], *, name: str | None = None) -> int:
    """Move some listings of a product to a new product of their own (two products had been
    taken for one). The moved listings are linked by the operator; returns the new product id."""
    pid = _require_product(conn, product_id)
    ids = [_require_listing(conn, i) for i in listing_ids]
    if not ids:
        raise InputError("name the listings to split off, e.g. --listings 12,13")
    wrong = conn.execute(sa.text("SELECT id FROM store_listings WHERE id = ANY (:i) AND product_id IS DISTINCT FROM :p"),
                         {"i": ids, "p": pid}).scalars().all()
    if wrong:
        raise InputError(f"listing(s) {', '.join(map(str, wrong))} are not linked to product {pid}")
    first = conn.execute(sa.text("SELECT title, gtin, brand, mpn, image_url FROM store_listings WHERE id = :i"),
                         {"i": ids[0]}).one()
    title = name or first.title or f"split of product {pid}"
    moved_gtins = [g for g in (normalise_gtin(r) for r in conn.execute(sa.text(
        "SELECT DISTINCT gtin FROM store_listings WHERE id = ANY (:i) AND gtin IS NOT NULL"), {"i": ids}).scalars()) if g]
    new_id = conn.execute(sa.text("""
        INSERT INTO branded_products (name, brand, mpn, image_url) VALUES (:n, :b, :m, :img) RETURNING id"""),
        {"n": title, "b": first.brand, "m": first.mpn, "img": first.image_url}).scalar_one()
    conn.execute(_SET_EVIDENCE,
                 {"id": new_id, **_evidence_params(title, first.brand, first.mpn, moved_gtins)})
    # a GTIN only the split-off listings carry goes with them
    conn.execute(sa.text("""
        UPDATE product_gtins g SET product_id = :n
         WHERE g.product_id = :p AND g.gtin = ANY (:g)
           AND NOT EXISTS (SELECT 1 FROM store_listings l JOIN listing_identity i ON i.listing_id = l.id
                            WHERE l.product_id = :p AND NOT (l.id = ANY (:ids)) AND i.gtin = g.gtin)"""),
        {"n": new_id, "p": pid, "g": moved_gtins, "ids": ids})
    for lid in ids:
        link(conn, lid, new_id)
    return int(new_id)


def add_gtins(conn: Connection, product_id: int | str, gtins: str | Iterable[str]) -> list[str]:
    pid = _require_product(conn, product_id)
    codes = parse_gtins(gtins)
    taken = conn.execute(sa.text("SELECT gtin, product_id FROM product_gtins WHERE gtin = ANY (:g) AND product_id <> :p"),
                         {"g": codes, "p": pid}).first()
    if taken:
        raise InputError(f"GTIN {taken.gtin} already belongs to product {taken.product_id}")
    conn.execute(sa.text("INSERT INTO product_gtins (gtin, product_id) SELECT unnest(CAST(:g AS text[])), :p "
                         "ON CONFLICT DO NOTHING"), {"g": codes, "p": pid})
    return codes


_PRODUCT_SELECT = """
    SELECT p.id, p.name, p.brand, p.category, p.mpn, p.image_url,
           coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM product_gtins g WHERE g.product_id = p.id), '{}') AS gtins,
           (SELECT count(*) FROM store_listings l WHERE l.product_id = p.id) AS listings
      FROM branded_products p
"""


def _product(row: Any) -> Product:
    return Product(id=int(row.id), name=row.name, brand=row.brand, category=row.category, mpn=row.mpn,
                   image_url=row.image_url, gtins=tuple(row.gtins), listings=int(row.listings))


def search(conn: Connection, query: str | None = None, *, limit: int = 50) -> list[Product]:
    """Products whose name or brand has every word of the query (full text, 'simple'
    configuration: see the migration), best match first; a GTIN finds its product."""
    query = (check_text(query, "query") or "").strip()
    if not query:
        rows = conn.execute(sa.text(_PRODUCT_SELECT + " ORDER BY p.id LIMIT :n"), {"n": limit}).all()
        return [_product(r) for r in rows]
    gtin = normalise_gtin(query)
    if gtin:
        rows = conn.execute(sa.text(_PRODUCT_SELECT + " JOIN product_gtins g ON g.product_id = p.id WHERE g.gtin = :g"),
                            {"g": gtin}).all()
        return [_product(r) for r in rows]
    rows = conn.execute(sa.text(_PRODUCT_SELECT + """
         WHERE p.search @@ plainto_tsquery('simple', :q)
         ORDER BY ts_rank(p.search, plainto_tsquery('simple', :q)) DESC, p.id LIMIT :n"""),
        {"q": query, "n": limit}).all()
    return [_product(r) for r in rows]


def get(conn: Connection, product_id: int | str) -> Product:
    pid = _require_product(conn, product_id)
    return _product(conn.execute(sa.text(_PRODUCT_SELECT + " WHERE p.id = :p"), {"p": pid}).one())


def listings_of(conn: Connection, product_id: int | str) -> list[dict[str, Any]]:
    """The listings linked to a product and how each was linked."""
    pid = _require_product(conn, product_id)
    rows = conn.execute(sa.text("""
        SELECT l.id, s.slug AS store, l.url, l.title, l.link_method, l.link_rule, l.link_confidence, l.link_source
          FROM store_listings l JOIN stores s ON s.id = l.store_id
         WHERE l.product_id = :p ORDER BY s.slug, l.id"""), {"p": pid}).all()
    return [dict(r._mapping) for r in rows]


def confidence_text(value: Decimal | None) -> str:
    return "-" if value is None else format(value, "f")
