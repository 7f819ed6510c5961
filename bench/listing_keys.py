"""Cost of keying listings (one URL, one listing): inserting listings through the url_key
trigger (pricehound_url_key per row) against the same inserts with the trigger disabled.

Each round inserts --rows listings of one store in one INSERT ... SELECT, half plain paths
(the fast path) and half with escapes, dot segments and a query to sort (the slow path), into
a throwaway database; the baseline round inserts the same rows with the trigger disabled (keys
left empty). Rounds alternate; medians are reported.

Usage:
    .venv/bin/python bench/listing_keys.py [--rows 20000] [--repeat 5]

PostgreSQL: 127.0.0.1:5432 (user postgres); the database is created and dropped here. The last
line printed is one JSON object; ``ratio`` is keyed rows/s over baseline rows/s.
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

from pricehound.db import apply_schema, normalise_url  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROWS_SQL = """
INSERT INTO store_listings (store_id, url)
SELECT :store, CASE WHEN g % 2 = 0 THEN 'https://shop.example/p/' || g || '/kettle'
                    ELSE 'https://shop.example/c/./p/%6B' || g || '/caf%c3%a9/?b=2&utm_source=x&a=' || g END
  FROM generate_series(1, :rows) AS g
"""


def one_round(engine, store: int, rows: int, keyed: bool, seen: list[int]) -> float:
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM store_listings"))
    with engine.begin() as conn:
        if not keyed:
            conn.execute(sa.text("ALTER TABLE store_listings DISABLE TRIGGER store_listings_url_key"))
            conn.execute(sa.text("DROP INDEX IF EXISTS store_listings_store_url_key"))
        started = time.perf_counter()
        conn.execute(sa.text(ROWS_SQL), {"store": store, "rows": rows})
        elapsed = time.perf_counter() - started
        if keyed:
            seen.append(conn.execute(sa.text("SELECT count(DISTINCT url_key) FROM store_listings")).scalar_one())
        if not keyed:
            conn.execute(sa.text("DELETE FROM store_listings"))
            conn.execute(sa.text("ALTER TABLE store_listings ENABLE TRIGGER store_listings_url_key"))
            conn.execute(sa.text(
                "CREATE UNIQUE INDEX store_listings_store_url_key ON store_listings (store_id, url_key)"))
    return rows / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    name = f"pricehound_bench_keys_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(normalise_url(ADMIN.rsplit("/", 1)[0] + f"/{name}"))
    try:
        apply_schema(engine)
        with engine.begin() as conn:
            store = conn.execute(sa.text(
                "INSERT INTO stores (slug, name, allowed_domains) VALUES ('shop', 'Shop', '{shop.example}') "
                "RETURNING id")).scalar_one()
        keyed, plain, seen = [], [], []
        for _ in range(args.repeat):
            keyed.append(one_round(engine, store, args.rows, True, seen))
            plain.append(one_round(engine, store, args.rows, False, seen))
        distinct = seen[-1]
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    result = {"rows": args.rows, "keyed_rows_per_s": round(statistics.median(keyed)),
              "baseline_rows_per_s": round(statistics.median(plain)),
              "ratio": round(statistics.median(keyed) / statistics.median(plain), 3),
              "every_round": [round(k / p, 3) for k, p in zip(keyed, plain, strict=True)],
              "distinct_keys": distinct}
    print(f"keyed inserts {result['keyed_rows_per_s']:,} rows/s, baseline {result['baseline_rows_per_s']:,} rows/s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
