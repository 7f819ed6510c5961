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


# -- watching a product ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreStatus:
    """One store of a product watch: its listing and price, or that none is known yet."""

    store: str
    store_id: int
    listing_id: int | None
    price: Decimal | None
    currency: str | None
    availability: str | None
    url: str | None
    status: str  # found | not found at <store> yet | gone at <store> | found at <store>, not read yet


@dataclass(frozen=True)
class ProductWatch:
    id: int
    user_id: int
    product_id: int
    product_name: str
    store_slugs: tuple[str, ...] | None  # None: any store
    created_product: bool = False


def parse_store_slugs(conn: Connection, raw: str | Sequence[str] | None) -> list[int] | None:
    """Store slugs (comma-separated) -> ids; None or empty means any store."""
    if raw is None:
        return None
    slugs = [s.strip() for s in (raw.split(",") if isinstance(raw, str) else raw) if s and s.strip()]
    if not slugs:
        return None
    found = dict(conn.execute(sa.text("SELECT slug, id FROM stores WHERE slug = ANY (:s)"), {"s": slugs}).all())
    missing = [s for s in slugs if s not in found]
    if missing:
        raise InputError(f"no store {', '.join(missing)}; `pricehound stores list` shows the slugs")
    return sorted({int(found[s]) for s in slugs})


def resolve_product(conn: Connection, *, product: str | None = None, gtin: str | None = None,
                    create: bool = True) -> tuple[int, bool]:
    """The product a watch means: "#ID", a GTIN, or a name. A name that fits no product makes a
    new one (discovery then looks for it); one that fits several is refused with the candidates.
    Returns (product id, whether it was made now)."""
    if gtin is not None:
        codes = parse_gtins([gtin])
        pid = conn.execute(sa.text("""
            SELECT product_id FROM product_gtins WHERE gtin = :g
            UNION ALL
            SELECT l.product_id FROM listing_identity i JOIN store_listings l ON l.id = i.listing_id
             WHERE i.gtin = :g AND l.product_id IS NOT NULL
             LIMIT 1"""), {"g": codes[0]}).scalar()
        if pid is not None:
            return int(pid), False
        if not create:
            raise InputError(f"no product has GTIN {codes[0]}")
        name = (check_text(product, "product name") or "").strip() or f"GTIN {codes[0]}"
        return create_product(conn, name=name, gtins=codes), True
    text = (check_text(product, "product") or "").strip()
    if not text:
        raise InputError("say which product: --product 'name' (or '#ID'), or --gtin CODE")
    if text.startswith("#") and text[1:].isdigit():
        return _require_product(conn, text[1:]), False
    if normalise_gtin(text):
        return resolve_product(conn, gtin=text, create=create)
    matches = search(conn, text, limit=6)
    exact = [p for p in matches if p.name.casefold() == text.casefold()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0].id, False
    if matches:
        shown = "; ".join(f"#{p.id} {p.name}" for p in matches[:5])
        raise InputError(f"several products match {text!r}: {shown}. Name one as --product '#ID'")
    if not create:
        raise InputError(f"no product matches {text!r}")
    return create_product(conn, name=text), True


def add_product_watch(conn: Connection, *, email: str | None = None, user_id: int | None = None,
                      product: str | None = None, gtin: str | None = None,
                      stores: str | Sequence[str] | None = None, target_price: str | Decimal | None = None,
                      min_drop_percent: str | Decimal | None = None, notify: str | Iterable[str] | None = None,
                      list_name: str | None = None) -> ProductWatch:
    """Watch a product at the given stores (None: any store). The watch follows every listing
    linked to the product at those stores, now and as they are found (the frontier trigger on
    shopping_list_items brings the linked listings in; the linker brings later ones)."""
    from pricehound import catalog

    target = catalog.parse_money(target_price, "target price")
    drop = catalog.parse_percent(min_drop_percent)
    kinds = catalog.parse_notify(notify if notify is not None else [*catalog.DEFAULT_NOTIFY, "cheapest_store"])
    if user_id is None:
        user_id = catalog.user_id_for_email(conn, email or "")
    store_ids = parse_store_slugs(conn, stores)
    pid, made = resolve_product(conn, product=product, gtin=gtin)
    list_id = catalog.ensure_list(conn, user_id, list_name or catalog.DEFAULT_LIST_NAME)
    item_id = conn.execute(sa.text("""
        INSERT INTO shopping_list_items (list_id, product_id, preferred_store_ids, target_price, min_drop_percent,
                                         notify_kinds)
        VALUES (:list_id, :pid, :stores, :target, :drop, :kinds)
        ON CONFLICT (list_id, product_id) WHERE product_id IS NOT NULL DO UPDATE
           SET preferred_store_ids = excluded.preferred_store_ids, target_price = excluded.target_price,
               min_drop_percent = excluded.min_drop_percent, notify_kinds = excluded.notify_kinds,
               active = true, updated_at = pricehound_now()
        RETURNING id"""),
        {"list_id": list_id, "pid": pid, "stores": store_ids, "target": target, "drop": drop, "kinds": kinds},
    ).scalar_one()
    name = conn.execute(sa.text("SELECT name FROM branded_products WHERE id = :p"), {"p": pid}).scalar_one()
    slugs = None
    if store_ids is not None:
        slugs = tuple(conn.execute(sa.text("SELECT slug FROM stores WHERE id = ANY (:i) ORDER BY slug"),
                                   {"i": store_ids}).scalars())
    return ProductWatch(id=int(item_id), user_id=int(user_id), product_id=pid, product_name=name,
                        store_slugs=slugs, created_product=made)


_WATCH_STORES = sa.text("""
    SELECT s.slug AS store, s.id AS store_id, l.id AS listing_id, sp.price, sp.currency, sp.availability, l.url,
           CASE WHEN l.id IS NULL THEN 'not found at ' || s.slug || ' yet'
                WHEN l.status <> 'active' THEN 'gone at ' || s.slug
                WHEN sp.listing_id IS NULL THEN 'found at ' || s.slug || ', not read yet'
                ELSE 'found' END AS status
      FROM shopping_list_items i
      JOIN stores s ON (i.preferred_store_ids IS NULL AND s.active) OR s.id = ANY (i.preferred_store_ids)
      LEFT JOIN LATERAL (
            -- the store's best listing of the product: an active one, the cheapest in stock first
            SELECT l.* FROM store_listings l LEFT JOIN store_prices p ON p.listing_id = l.id
             WHERE l.product_id = i.product_id AND l.store_id = s.id
             ORDER BY l.status = 'active' DESC, p.availability IN ('in_stock', 'preorder') DESC, p.price NULLS LAST, l.id
             LIMIT 1) l ON true
      LEFT JOIN store_prices sp ON sp.listing_id = l.id
     WHERE i.id = :item AND i.product_id IS NOT NULL
       -- "any store": the stores that have the product, or all when none has it yet
       AND (i.preferred_store_ids IS NOT NULL OR l.id IS NOT NULL
            OR NOT EXISTS (SELECT 1 FROM store_listings x WHERE x.product_id = i.product_id))
     ORDER BY s.slug
""")


def watch_stores(conn: Connection, item_id: int) -> list[StoreStatus]:
    """Each store of a product watch with its listing and price, or "not found at <store> yet":
    a store where the product is not known yet is a status, never an error."""
    return [StoreStatus(**dict(r._mapping)) for r in conn.execute(_WATCH_STORES, {"item": int(item_id)})]
