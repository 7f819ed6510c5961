"""schema.sql applies cleanly, twice, and its constraints make bad rows impossible."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError

from pricehound.db import apply_schema, migration_paths, schema_path, schema_version

EXPECTED_TABLES = {
    "schema_version", "stores", "branded_products", "store_listings", "store_prices",
    "price_history_log", "price_events", "users", "shopping_lists", "shopping_list_items",
    "user_crawler_priorities", "user_activity", "notifications", "email_suppressions", "crawl_runs",
    "listing_observations",
}


def test_schema_applies_twice_and_records_its_version(db):
    assert apply_schema(db) == schema_version()
    assert apply_schema(db) == schema_version()
    with db.connect() as conn:
        versions = set(conn.execute(sa.text("SELECT version FROM schema_version")).scalars())
        tables = set(conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        views = set(conn.execute(sa.text(
            "SELECT viewname FROM pg_views WHERE schemaname = 'public'")).scalars())
        matviews = set(conn.execute(sa.text("SELECT matviewname FROM pg_matviews")).scalars())
    # every version schema.sql and the migrations record, whether or not each number is used
    texts = [schema_path().read_text()] + [p.read_text() for p in migration_paths()]
    assert versions == {int(v) for t in texts for v in re.findall(r"VALUES \((\d+), '", t)}
    assert max(versions) == schema_version()
    assert EXPECTED_TABLES <= tables | {"price_history_log"}
    assert {"price_daily_stats", "listing_lowest_prices"} <= views
    assert "price_comparison" in matviews


def test_each_migration_is_numbered_by_the_schema_version_it_records():
    for path in migration_paths():
        number = int(path.name[:4])
        recorded = {int(v) for v in re.findall(r"VALUES \((\d+), '", path.read_text())}
        assert recorded == {number}, path.name
    numbers = [int(p.name[:4]) for p in migration_paths()]
    assert numbers == sorted(set(numbers))
    assert all(n > 7 for n in numbers), "schema.sql holds versions 1-7"


def test_a_database_of_an_earlier_version_loses_its_old_columns_and_gets_the_frontier_room(db):
    with db.begin() as conn:
        conn.execute(sa.text("ALTER TABLE user_crawler_priorities ADD COLUMN lease_until timestamptz, "
                             "ADD COLUMN leased_by text, ADD COLUMN crawl_run_id bigint"))
        conn.execute(sa.text("ALTER TABLE store_listings ADD COLUMN last_seen_at timestamptz"))
        conn.execute(sa.text("ALTER TABLE user_crawler_priorities SET (fillfactor = 70)"))
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 2"))  # as version 1 left it

    apply_schema(db)

    with db.connect() as conn:
        old = conn.execute(sa.text(
            "SELECT attrelid::regclass::text || '.' || attname FROM pg_attribute "
            "WHERE attrelid IN ('user_crawler_priorities'::regclass, 'store_listings'::regclass) "
            "AND NOT attisdropped AND attname IN ('lease_until', 'leased_by', 'crawl_run_id', "
            "'last_seen_at', 'last_crawled_at')")).scalars().all()
        options = conn.execute(sa.text(
            "SELECT reloptions FROM pg_class WHERE oid = 'user_crawler_priorities'::regclass")).scalar_one()
    assert old == ["user_crawler_priorities.last_crawled_at"]  # the frontier's own column stays
    assert options == ["fillfactor=40"]


def test_every_analyst_table_and_its_columns_carry_comments(db):
    with db.connect() as conn:
        missing = conn.execute(sa.text(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
               AND c.relname NOT LIKE 'price_history_log\\_%'
               AND obj_description(c.oid, 'pg_class') IS NULL
            """)).scalars().all()
    assert missing == []


def test_history_partitions_exist_around_now_and_default_rows_move_into_new_month(db):
    with db.connect() as conn:
        store = conn.execute(sa.text(
            "INSERT INTO stores (slug, name, allowed_domains) VALUES ('s', 'S', '{s.example}') RETURNING id")).scalar_one()
        listing = conn.execute(sa.text(
            "INSERT INTO store_listings (store_id, url) VALUES (:s, 'https://s.example/p') RETURNING id"),
            {"s": store}).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) "
            "VALUES (:l, pricehound_now() + interval '8 months', 1.00, 'USD', 'in_stock')"), {"l": listing})
        assert conn.execute(sa.text("SELECT count(*) FROM price_history_log_default")).scalar_one() == 1
        created = conn.execute(sa.text("SELECT ensure_price_history_partitions(9, 0)")).scalar_one()
        assert created >= 1
        assert conn.execute(sa.text("SELECT count(*) FROM price_history_log_default")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM price_history_log")).scalar_one() == 1
        conn.rollback()  # DDL is transactional: the extra partitions vanish with the rows


@pytest.fixture()
def base_rows(db):
    with db.begin() as conn:
        store = conn.execute(sa.text(
            "INSERT INTO stores (slug, name, allowed_domains) VALUES ('acme', 'Acme', '{acme.example}') RETURNING id"
        )).scalar_one()
        listing = conn.execute(sa.text(
            "INSERT INTO store_listings (store_id, url) VALUES (:s, 'https://acme.example/p/1') RETURNING id"
        ), {"s": store}).scalar_one()
        user = conn.execute(sa.text("INSERT INTO users (email) VALUES ('Ann@Example.com') RETURNING id")).scalar_one()
        lst = conn.execute(sa.text("INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'w') RETURNING id"),
                           {"u": user}).scalar_one()
    return {"store": store, "listing": listing, "user": user, "list": lst}


BAD_ROWS = {
    "negative price": "INSERT INTO store_prices (listing_id, price, currency, observed_at, changed_at) VALUES (:listing, -1, 'USD', pricehound_now(), pricehound_now())",
    "price beyond 15 digits": "INSERT INTO store_prices (listing_id, price, currency, observed_at, changed_at) VALUES (:listing, 1234567890123, 'USD', pricehound_now(), pricehound_now())",
    "lower-case currency": "INSERT INTO store_prices (listing_id, price, currency, observed_at, changed_at) VALUES (:listing, 1, 'usd', pricehound_now(), pricehound_now())",
    "price without currency": "INSERT INTO store_prices (listing_id, price, observed_at, changed_at) VALUES (:listing, 1, pricehound_now(), pricehound_now())",
    "availability outside the set": "INSERT INTO store_prices (listing_id, availability, observed_at, changed_at) VALUES (:listing, 'maybe', pricehound_now(), pricehound_now())",
    "second listing with the same URL at a store": "INSERT INTO store_listings (store_id, url) VALUES (:store, 'https://acme.example/p/1')",
    "listing URL that is not http(s)": "INSERT INTO store_listings (store_id, url) VALUES (:store, 'javascript:alert(1)')",
    "listing status outside the set": "INSERT INTO store_listings (store_id, url, status) VALUES (:store, 'https://acme.example/x', 'gone')",
    "same email in another case": "INSERT INTO users (email) VALUES ('ann@example.COM')",
    "malformed email": "INSERT INTO users (email) VALUES ('not an email')",
    "account type outside the set": "INSERT INTO users (email, account_type) VALUES ('b@example.com', 'gold')",
    "duplicate notification dedupe key": "INSERT INTO notifications (user_id, kind, dedupe_key) VALUES (:user, 'sold_out', 'k'), (:user, 'sold_out', 'k')",
    "notification status outside the set": "INSERT INTO notifications (user_id, kind, dedupe_key, status) VALUES (:user, 'sold_out', 'k2', 'lost')",
    "watch on nothing": "INSERT INTO shopping_list_items (list_id) VALUES (:list)",
    "watch with unknown alert kind": "INSERT INTO shopping_list_items (list_id, listing_id, notify_kinds) VALUES (:list, :listing, '{sale,telepathy}')",
    "negative target price": "INSERT INTO shopping_list_items (list_id, listing_id, target_price) VALUES (:list, :listing, -5)",
    "drop percent above 100": "INSERT INTO shopping_list_items (list_id, listing_id, min_drop_percent) VALUES (:list, :listing, 150)",
    "price event kind outside the set": "INSERT INTO price_events (listing_id, kind, occurred_at) VALUES (:listing, 'teleported', pricehound_now())",
    "store slug with spaces": "INSERT INTO stores (slug, name, allowed_domains) VALUES ('a b', 'x', '{x.example}')",
    "store with no domains": "INSERT INTO stores (slug, name, allowed_domains) VALUES ('nodomain', 'x', '{}')",
    "store with upper-case domain": "INSERT INTO stores (slug, name, allowed_domains) VALUES ('upper', 'x', '{X.example}')",
    "suppression not lower-case": "INSERT INTO email_suppressions (email, reason) VALUES ('A@x.com', 'bounce')",
    "suppression reason outside the set": "INSERT INTO email_suppressions (email, reason) VALUES ('a@x.com', 'dislike')",
    "crawl run status outside the set": "INSERT INTO crawl_runs (store_id, status) VALUES (:store, 'sleeping')",
    "history row for a missing listing": "INSERT INTO price_history_log (listing_id, observed_at, availability) VALUES (999999, pricehound_now(), 'in_stock')",
    "gtin with letters": "INSERT INTO branded_products (name, gtin) VALUES ('x', 'ABC12345')",
}


@pytest.mark.parametrize("sql", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_constraint_rejects_bad_row(db, base_rows, sql):
    with pytest.raises((IntegrityError, DataError)), db.begin() as conn:
        conn.execute(sa.text(sql), base_rows)


def test_deleting_a_store_cascades_to_its_listings_but_keeps_users(db, base_rows):
    with db.begin() as conn:
        conn.execute(sa.text("DELETE FROM stores WHERE id = :store"), base_rows)
        assert conn.execute(sa.text("SELECT count(*) FROM store_listings")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 1


def test_adding_a_watch_creates_then_bumps_the_frontier_row(db, base_rows):
    with db.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO shopping_list_items (list_id, listing_id) VALUES (:list, :listing)"), base_rows)
        row = conn.execute(sa.text("SELECT * FROM user_crawler_priorities")).one()
        assert row.watchers == 1 and row.store_id == base_rows["store"]
        first_priority = row.priority
        # push it into the future, then a second watcher arrives: more priority, due now
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '1 day'"))
        other = conn.execute(sa.text("INSERT INTO users (email, account_type) VALUES ('p@example.com', 'premium') RETURNING id")).scalar_one()
        other_list = conn.execute(sa.text("INSERT INTO shopping_lists (user_id, name) VALUES (:u, 'w') RETURNING id"), {"u": other}).scalar_one()
        conn.execute(sa.text("INSERT INTO shopping_list_items (list_id, listing_id) VALUES (:l, :listing)"),
                     {"l": other_list, "listing": base_rows["listing"]})
        row = conn.execute(sa.text("SELECT *, next_due_at <= pricehound_now() AS due FROM user_crawler_priorities")).one()
        assert (row.watchers, row.premium_watchers) == (2, 1)
        assert row.priority > first_priority
        assert row.due
        # a watch switched off lowers demand without making the row due
        conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() + interval '1 day'"))
        conn.execute(sa.text("UPDATE shopping_list_items SET active = false WHERE list_id = :l"), {"l": other_list})
        row = conn.execute(sa.text("SELECT * FROM user_crawler_priorities")).one()
        assert (row.watchers, row.premium_watchers) == (1, 0)
        conn.execute(sa.text("DELETE FROM shopping_list_items"))
        assert conn.execute(sa.text("SELECT watchers FROM user_crawler_priorities")).scalar_one() == 0


def test_analyst_views_answer_on_real_rows(db, base_rows):
    with db.begin() as conn:
        params = dict(base_rows)
        conn.execute(sa.text(
            """
            INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability) VALUES
              (:listing, pricehound_now() - interval '40 days', 120.00, 'USD', 'in_stock'),
              (:listing, pricehound_now() - interval '20 days', 90.00, 'USD', 'in_stock'),
              (:listing, pricehound_now() - interval '1 hour', 100.00, 'USD', 'in_stock');
            INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, changed_at)
              VALUES (:listing, 100.00, 'USD', 'in_stock', pricehound_now(), pricehound_now() - interval '1 hour');
            """), params)
        low = conn.execute(sa.text("SELECT * FROM listing_lowest_prices")).one()
        assert (str(low.lowest_30d), str(low.lowest_90d), str(low.current_price)) == ("90.00", "90.00", "100.00")
        days = conn.execute(sa.text("SELECT * FROM price_daily_stats ORDER BY day")).all()
        assert [str(d.close_price) for d in days] == ["120.00", "90.00", "100.00"]
        assert str(days[-1].open_price) == "90.00"
        product = conn.execute(sa.text("INSERT INTO branded_products (name) VALUES ('Thing') RETURNING id")).scalar_one()
        conn.execute(sa.text("UPDATE store_listings SET product_id = :p"), {"p": product})
    with db.begin() as conn:
        conn.execute(sa.text("REFRESH MATERIALIZED VIEW price_comparison"))
        row = conn.execute(sa.text("SELECT * FROM price_comparison")).one()
        assert row.is_cheapest and str(row.spread) == "0.00"


MONEY_COLUMNS = {
    ("store_prices", "price"), ("store_prices", "regular_price"),
    ("price_history_log", "price"), ("price_history_log", "regular_price"),
    ("price_events", "old_price"), ("price_events", "new_price"),
    ("store_listings", "suspect_price"), ("shopping_list_items", "target_price"),
    ("store_listings", "pending_price"), ("alert_state", "last_price"), ("listing_observations", "price"),
}


def _money_types(conn) -> dict:
    got = conn.execute(sa.text(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND NOT a.attisdropped AND a.attnum > 0 "
        "AND format_type(a.atttypid, a.atttypmod) LIKE 'numeric%'")).all()
    return {(t, c): typ for t, c, typ in got}


def test_every_money_column_keeps_three_decimals(db):
    with db.connect() as conn:
        types = _money_types(conn)
    assert {k: types.get(k) for k in MONEY_COLUMNS} == dict.fromkeys(MONEY_COLUMNS, "numeric")
    assert "numeric(12,2)" not in {v for (t, _), v in types.items() if not t.startswith("price_history_log_")}


@pytest.mark.parametrize("amount", ["2.3456", "1000000000000"])
def test_a_money_column_refuses_a_fourth_decimal_and_fifteen_digits(db, base_rows, amount):
    with pytest.raises(IntegrityError), db.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO store_prices (listing_id, price, currency, observed_at, changed_at) "
                             f"VALUES (:l, {amount}, 'KWD', pricehound_now(), pricehound_now())"),
                     {"l": base_rows["listing"]})


def test_each_amount_keeps_its_own_minor_units(db, base_rows):
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO store_prices (listing_id, price, regular_price, currency, observed_at, changed_at) "
                             "VALUES (:l, 2.500, 19.99, 'KWD', pricehound_now(), pricehound_now())"), {"l": base_rows["listing"]})
        got = conn.execute(sa.text("SELECT price, regular_price FROM store_prices WHERE listing_id = :l"),
                           {"l": base_rows["listing"]}).one()
    assert (str(got.price), str(got.regular_price)) == ("2.500", "19.99")


def test_a_database_with_two_decimal_money_is_brought_to_three_keeping_rows_and_views(db):
    with db.begin() as conn:
        conn.execute(sa.text("DROP MATERIALIZED VIEW price_comparison CASCADE"))
        conn.execute(sa.text("DROP VIEW price_daily_stats, listing_lowest_prices CASCADE"))
        for table, column in sorted(MONEY_COLUMNS):
            conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE numeric(12,2)"))
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 7"))  # as version 6 left it
        store = conn.execute(sa.text(
            "INSERT INTO stores (slug, name, allowed_domains) VALUES ('k', 'K', '{k.example}') RETURNING id")).scalar_one()
        listing = conn.execute(sa.text(
            "INSERT INTO store_listings (store_id, url) VALUES (:s, 'https://k.example/p') RETURNING id"),
            {"s": store}).scalar_one()
        conn.execute(sa.text("INSERT INTO store_prices (listing_id, price, currency, availability, observed_at, "
                             "changed_at) VALUES (:l, 12.34, 'USD', 'in_stock', pricehound_now(), pricehound_now())"),
                     {"l": listing})

    apply_schema(db)  # recreates the views at two decimals, then version 7 brings everything to three
    apply_schema(db)  # and again: nothing left to do

    with db.begin() as conn:
        types = _money_types(conn)
        conn.execute(sa.text("UPDATE store_prices SET price = 2.345, currency = 'KWD' WHERE listing_id = :l"),
                     {"l": listing})
        lowest = conn.execute(sa.text(
            "SELECT current_price FROM listing_lowest_prices WHERE listing_id = :l"), {"l": listing}).scalar_one()
        comment = conn.execute(sa.text("SELECT obj_description('listing_lowest_prices'::regclass, 'pg_class')")).scalar_one()
        index = conn.execute(sa.text(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'price_comparison_listing_key'")).scalar_one()
        conn.execute(sa.text("REFRESH MATERIALIZED VIEW price_comparison"))
        view_type = conn.execute(sa.text(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = 'price_comparison'::regclass AND a.attname = 'price'")).scalar_one()
    assert {k: types.get(k) for k in MONEY_COLUMNS} == dict.fromkeys(MONEY_COLUMNS, "numeric")
    assert str(lowest) == "2.345"
    assert comment and index == 1 and view_type == "numeric"
