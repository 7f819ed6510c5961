"""Linking listings to products, set-based: the identity linker against a bare join, and its
precision and recall on hard cases.

Speed. A throwaway database gets --rows listings at 10 stores with their identity evidence
(listing_identity), and products for them: most listings carry a GTIN some product has, some only
a brand + part number, some a GTIN no product has yet (the linker makes the product), some
nothing; one in twenty is another kind of offer (a two-pack, a refurbished item, a bundle) under
the product's GTIN, which the blocking rules keep apart. Each round unlinks everything and links
it again:
    linker     pricehound.identity.link_listings (GTIN, then brand + MPN, blocking rules,
               ambiguity, new products, method/rule/confidence recorded), --batch per statement
    bare join  the same batches through UPDATE ... FROM listing_identity JOIN product_gtins:
               GTIN equality only, nothing checked, nothing recorded but the product id
Rounds alternate; medians are reported; ratio = linker rows/s over bare-join rows/s.

Quality. The hard cases of tests/identity/hostile.py (near-identical different products that
share a GTIN or a brand + part number, and one product under other titles) are linked by the same
SQL: precision = linked pairs that are one product / linked pairs; recall = linked pairs that are
one product / pairs that are one product.

Usage:
    .venv/bin/python bench/catalogue_linking.py [--rows 1000000] [--batch 50000] [--repeat 3]

PostgreSQL: 127.0.0.1:5432 (user postgres); the database is created and dropped here. The last
line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricehound import identity  # noqa: E402
from pricehound.db import apply_schema, normalise_url  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
STORES = 10


def gtin14(n: int) -> str:
    """What pg_temp.gtin(n) makes (checked once against it at set-up)."""
    body = "0400" + str(n).zfill(9)
    return body + identity._check_digit(body)


SETUP = [
    # GTIN-14 of number k (prefix 0400, GS1 check digit), made in SQL: a million rows looking
    # their GTIN up in a bound array would walk the array for every row
    """CREATE FUNCTION pg_temp.gtin(k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
       SELECT b || ((10 - (SELECT sum(substr(b, 14 - i, 1)::int * CASE WHEN i % 2 = 1 THEN 3 ELSE 1 END)
                           FROM generate_series(1, 13) i) % 10) % 10)
         FROM (SELECT '0400' || lpad(k::text, 9, '0') AS b) x $$""",
    """INSERT INTO stores (slug, name, allowed_domains)
       SELECT 's' || g, 'Store ' || g, ARRAY['s' || g || '.example'] FROM generate_series(1, :stores) g""",
    # products: one per five listings; product k has GTIN gtin(k), brand 'b<k%97>' and part number 'MP<k>'
    """INSERT INTO branded_products (id, name, brand, mpn, id_brand, id_mpn, id_kind)
       SELECT k, 'Product ' || k, 'Brand ' || (k % 97), 'MP-' || k, 'brand' || (k % 97), 'MP' || k, ''
         FROM generate_series(1, :products) k""",
    "SELECT setval(pg_get_serial_sequence('branded_products', 'id'), :products)",
    "INSERT INTO product_gtins (gtin, product_id) SELECT pg_temp.gtin(k), k FROM generate_series(1, :products) k",
    # listings: listing n is product (n / 5) + 1 at store n % 10
    """INSERT INTO store_listings (id, store_id, url, title)
       SELECT n, (n % :stores) + 1, 'https://s' || ((n % :stores) + 1) || '.example/p/' || n, 'Product ' || (n / 5 + 1)
         FROM generate_series(1, :rows) n""",
    "SELECT setval(pg_get_serial_sequence('store_listings', 'id'), :rows)",
    # evidence: n % 20 decides the case
    #   0      another kind of offer under the product's GTIN (blocked)
    #   1..2   brand + part number only
    #   3      a GTIN no product has (the linker makes a product; the next listing of it joins)
    #   4      no evidence
    #   else   the product's GTIN
    """INSERT INTO listing_identity (listing_id, gtin, brand, mpn, kind)
       SELECT n,
              CASE WHEN n % 20 IN (1, 2, 4) THEN NULL
                   WHEN n % 20 = 3 THEN pg_temp.gtin(100000000 + n / 40)
                   ELSE pg_temp.gtin(n / 5 + 1) END,
              CASE WHEN n % 20 IN (1, 2) THEN 'brand' || ((n / 5 + 1) % 97) END,
              CASE WHEN n % 20 IN (1, 2) THEN 'MP' || (n / 5 + 1) END,
              CASE WHEN n % 20 = 0 THEN (ARRAY['pack=2', 'condition=refurbished', 'bundle'])[n % 3 + 1] ELSE '' END
         FROM generate_series(1, :rows) n""",
    "ANALYZE",
]

RESET = [
    "UPDATE store_listings SET product_id = NULL, link_method = NULL, link_rule = NULL, link_confidence = NULL, "
    "link_source = NULL, linked_at = NULL WHERE product_id IS NOT NULL OR link_source IS NOT NULL",
    "DELETE FROM branded_products WHERE created_from_listing_id IS NOT NULL",
    "VACUUM ANALYZE store_listings",
]

BARE = sa.text("""
    UPDATE store_listings l SET product_id = g.product_id
      FROM listing_identity i JOIN product_gtins g ON g.gtin = i.gtin
     WHERE i.listing_id = l.id AND l.id = ANY (CAST(:ids AS bigint[]))
""")


def reset(engine) -> None:
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for sql in RESET:
            conn.execute(sa.text(sql))


def linker_round(engine, rows: int, batch: int) -> tuple[float, identity.LinkSummary]:
    reset(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        summary = identity.link_listings(conn, batch_size=batch)
    return rows / (time.perf_counter() - started), summary


def bare_round(engine, rows: int, batch: int) -> float:
    reset(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        for start in range(1, rows + 1, batch):
            conn.execute(BARE, {"ids": list(range(start, min(start + batch, rows + 1)))})
    return rows / (time.perf_counter() - started)


def quality(engine) -> dict:
    """Precision and recall of the SQL linker on the hard cases."""
    from tests.identity.hostile import HOSTILE, SAME

    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE branded_products, store_listings, stores RESTART IDENTITY CASCADE"))
        a, b = (conn.execute(sa.text(
            "INSERT INTO stores (slug, name, allowed_domains) VALUES (:s, :s, ARRAY[:d]) RETURNING id"),
            {"s": s, "d": f"{s}.example"}).scalar_one() for s in ("qa", "qb"))
        pairs = []
        for n, (_name, product, listing) in enumerate(HOSTILE + SAME):
            ids = []
            for store, side, tag in ((a, product, "p"), (b, listing, "l")):
                ids.append(conn.execute(sa.text(
                    "INSERT INTO store_listings (store_id, url, title, gtin, brand, mpn) "
                    "VALUES (:s, :u, :t, :g, :b, :m) RETURNING id"),
                    {"s": store, "u": f"https://x{store}.example/{tag}{n}", "t": side.title,
                     "g": side.gtin, "b": side.brand, "m": side.mpn}).scalar_one())
            pairs.append((ids[0], ids[1], n >= len(HOSTILE)))
        seeds, others = [p[0] for p in pairs], [p[1] for p in pairs]
        identity.refresh_evidence(conn, seeds + others)
        identity.link_listings(conn, seeds)
        identity.link_listings(conn, others)
        product_of = dict(conn.execute(sa.text("SELECT id, product_id FROM store_listings")).all())
    linked = [(x, y, same) for x, y, same in pairs if product_of[x] is not None and product_of[x] == product_of[y]]
    true_links = sum(1 for *_, same in linked if same)
    same_pairs = sum(1 for *_, same in pairs if same)
    return {"cases": len(pairs), "different": len(pairs) - same_pairs, "same": same_pairs,
            "linked": len(linked), "false_merges": len(linked) - true_links,
            "precision": round(true_links / len(linked), 4) if linked else 1.0,
            "recall": round(true_links / same_pairs, 4) if same_pairs else 1.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    products = args.rows // 5 + 1
    name = f"pricehound_bench_link_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(normalise_url(ADMIN.rsplit("/", 1)[0] + f"/{name}"))
    try:
        apply_schema(engine)
        started = time.perf_counter()
        params = {"stores": STORES, "products": products, "rows": args.rows}
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for sql in SETUP:
                conn.execute(sa.text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
            made = conn.execute(sa.text("SELECT gtin FROM product_gtins WHERE product_id = 7")).scalar_one()
            assert made == gtin14(7) == identity.normalise_gtin(made), made
        print(f"set up {args.rows} listings, {products} products in {time.perf_counter() - started:.1f}s",
              file=sys.stderr)
        linker, bare, last = [], [], None
        for r in range(args.repeat):
            rate, last = linker_round(engine, args.rows, args.batch)
            linker.append(rate)
            bare.append(bare_round(engine, args.rows, args.batch))
            print(f"round {r + 1}: linker {linker[-1]:,.0f} rows/s ({last.linked} linked, {last.created} "
                  f"products made), bare join {bare[-1]:,.0f} rows/s", file=sys.stderr)
        q = quality(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    result = {
        "bench": "catalogue_linking", "rows": args.rows, "batch": args.batch, "rounds": args.repeat,
        "linker_rows_per_s": round(statistics.median(linker)), "bare_join_rows_per_s": round(statistics.median(bare)),
        "ratio": round(statistics.median(linker) / statistics.median(bare), 3),
        "linked": last.linked if last else None, "products_made": last.created if last else None,
        "quality": q,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
