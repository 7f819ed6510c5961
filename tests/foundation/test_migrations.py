"""The migration runner: a database of the last release before numbered migrations (schema
version 7, tests/foundation/fixtures/schema_v7.sql) upgrades to the schema of a fresh install
losing nothing, only what is missing is applied, and an older release refuses a newer database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from pricehound import db as dbmod
from pricehound.db import SchemaTooNew, check_schema, migrate, normalise_url, schema_version

V7_SCHEMA = Path(__file__).resolve().parent / "fixtures" / "schema_v7.sql"
SCHEMAS: dict[sa.Engine, str] = {}  # the schema an engine's connections work in, when not public

# One row (or two) in every table of the version 7 schema, written as a user's data would be:
# stores, products, listings with prices and history, users with lists and watches, the outbox,
# disputes, sessions, keys, tokens, observations, suppressions, activity.
V7_DATA = """
INSERT INTO stores (slug, name, allowed_domains, default_currency, extraction_hints)
VALUES ('acme', 'Acme', '{acme.example}', 'EUR', '{"price": ".p"}'),
       ('kw', 'Kuwait Shop', '{kw.example}', 'KWD', '{}');
INSERT INTO branded_products (name, brand, gtin) VALUES ('Kettle', 'Brew', '04006381333931');
INSERT INTO store_listings (store_id, product_id, url, title)
SELECT s.id, (SELECT id FROM branded_products), 'https://' || s.allowed_domains[1] || '/p/kettle', 'Kettle at ' || s.name
  FROM stores s;
INSERT INTO store_prices (listing_id, price, currency, regular_price, availability, observed_at, changed_at)
SELECT l.id, CASE s.slug WHEN 'kw' THEN 2.345 ELSE 49.99 END, s.default_currency, 59.99, 'in_stock',
       pricehound_now(), pricehound_now() - interval '1 day'
  FROM store_listings l JOIN stores s ON s.id = l.store_id;
INSERT INTO price_history_log (listing_id, observed_at, price, currency, availability)
SELECT l.id, pricehound_now() - make_interval(days => d), 40 + d + 0.125, 'KWD', 'in_stock'
  FROM store_listings l CROSS JOIN generate_series(0, 70, 35) AS d;
INSERT INTO crawl_runs (store_id, status, requested, ok) SELECT id, 'succeeded', 3, 3 FROM stores;
INSERT INTO price_events (listing_id, kind, old_price, new_price, currency, occurred_at)
SELECT id, 'price_drop', 59.99, 49.99, 'EUR', pricehound_now() FROM store_listings;
INSERT INTO users (email, name, account_type, verified_at)
VALUES ('ann@example.com', 'Ann', 'premium', pricehound_now()), ('bob@example.com', NULL, 'free', NULL);
INSERT INTO shopping_lists (user_id, name) SELECT id, 'Watching' FROM users;
INSERT INTO api_keys (name, prefix, key_hash) VALUES ('partner', 'abcd1234', decode(repeat('ab', 32), 'hex'));
INSERT INTO shopping_list_items (list_id, listing_id, target_price, min_drop_percent, notify_kinds, partner_key_id)
SELECT sl.id, l.id, 45.50, 10, '{sale,removed}', (SELECT id FROM api_keys)
  FROM shopping_lists sl CROSS JOIN store_listings l;
INSERT INTO user_activity (user_id, kind) SELECT id, 'search' FROM users;
INSERT INTO notifications (user_id, kind, dedupe_key, status, payload)
SELECT id, 'price_drop', 'drop:' || id, 'pending', '{"price": "49.99"}' FROM users;
INSERT INTO event_disputes (notification_id) SELECT min(id) FROM notifications;
INSERT INTO alert_state (item_id, kind, last_alerted_at, last_price)
SELECT id, 'price_drop', pricehound_now(), 49.99 FROM shopping_list_items;
INSERT INTO email_suppressions (email, reason) VALUES ('gone@example.com', 'bounce');
INSERT INTO listing_observations (listing_id, slot, observed_at, kind, price, currency)
SELECT id, 0, pricehound_now(), 'ok', 49.99, 'EUR' FROM store_listings;
INSERT INTO web_sessions (token_hash, user_id, expires_at)
SELECT decode(repeat(to_hex(10 + id::int), 64), 'hex'), id, pricehound_now() + interval '1 day' FROM users;
INSERT INTO used_link_tokens (jti, purpose, expires_at) VALUES ('jti-1', 'login', pricehound_now() + interval '1 hour');
"""


@pytest.fixture(scope="module")
def v7(pg_admin_url: str) -> Iterator[sa.Engine]:
    """A database exactly as the version 7 release left it, full of data. A database of its own,
    not a schema beside the test schema: migrations look objects up by name in the catalogue."""
    name = f"pricehound_v7_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(pg_admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    old = sa.create_engine(sa.engine.make_url(normalise_url(pg_admin_url)).set(database=name))
    raw = old.raw_connection()
    with raw.cursor() as cur:
        cur.execute(V7_SCHEMA.read_text())
        cur.execute(V7_DATA)
    raw.commit()
    raw.close()
    yield old
    old.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(conn: sa.Connection) -> list[str]:
    return dbmod.data_tables(conn)


def _snapshot(conn: sa.Connection, tables: list[str], columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of every table, the columns the old schema had, in a stable order."""
    out = {}
    for table in tables:
        cols = ", ".join(f'"{c}"' for c in columns[table])
        out[table] = [tuple(r) for r in conn.execute(sa.text(f'SELECT {cols} FROM "{table}" ORDER BY {cols}'))]
    return out


def _columns(conn: sa.Connection) -> dict[str, list[str]]:
    rows = conn.execute(sa.text(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND data_type NOT IN ('json', 'tsvector') ORDER BY table_name, ordinal_position")).all()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def _shape(engine: sa.Engine) -> dict[str, set]:
    """The schema as information_schema and the catalogue describe it, partitions left out
    (their names follow the calendar), with the schema's own name taken out of definitions."""
    schema = SCHEMAS.get(engine, "public")

    def plain(rows) -> set:
        return {tuple(v.replace(f"{schema}.", "") if isinstance(v, str) else v for v in row) for row in rows}

    not_partition = ("AND table_name NOT IN (SELECT c.relname FROM pg_class c WHERE c.relispartition)")
    with engine.connect() as conn:
        return {
            "columns": plain(conn.execute(sa.text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default, "
                "numeric_precision, numeric_scale, character_maximum_length FROM information_schema.columns "
                f"WHERE table_schema = current_schema() {not_partition}")).all()),
            "constraints": plain(conn.execute(sa.text(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = current_schema() AND NOT t.relispartition")).all()),
            "indexes": plain(conn.execute(sa.text(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename NOT IN (SELECT c.relname FROM pg_class c WHERE c.relispartition)")).all()),
            "views": plain(conn.execute(sa.text(
                "SELECT c.relname, c.relkind, pg_get_viewdef(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')")).all()),
            "functions": plain(conn.execute(sa.text(
                "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) "
                "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema() AND p.prokind IN ('f', 'p')")).all()),
            "triggers": plain(conn.execute(sa.text(
                "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND NOT c.relispartition "
                "AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())")).all()),
            "versions": plain(conn.execute(sa.text("SELECT version, description FROM schema_version")).all()),
        }


def test_an_upgrade_from_version_7_keeps_every_row_and_matches_a_fresh_install(v7, engine):
    with v7.connect() as conn:
        tables = _tables(conn)
        columns = _columns(conn)
        before = _snapshot(conn, tables, columns)
    assert [t for t in tables if not before[t]] == [], "the fixture data leaves a table empty"

    result = migrate(v7)

    assert result.version == schema_version()
    assert list(result.applied) == [p.name for p in dbmod.migration_paths()]
    with v7.connect() as conn:
        after = _snapshot(conn, tables, columns)
    for table in tables:
        assert len(after[table]) == len(before[table]), table
        assert after[table] == before[table], table
    upgraded, fresh = _shape(v7), _shape(engine)
    for part in upgraded:
        assert upgraded[part] - fresh[part] == set() and fresh[part] - upgraded[part] == set(), part
    assert migrate(v7).applied == ()  # nothing left to do


def test_an_older_release_refuses_a_database_a_newer_one_migrated(db, monkeypatch, run_cli):
    newer = schema_version() + 1
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO schema_version (version, description) VALUES (:v, 'from the future')"),
                     {"v": newer})
    try:
        with pytest.raises(SchemaTooNew, match="Upgrade pricehound"):
            migrate(db)
        with pytest.raises(SchemaTooNew, match=str(newer)):
            check_schema(db)
        done = run_cli("initdb")
        assert done.returncode == 1
        assert "newer than this pricehound knows" in done.stderr and "Upgrade pricehound" in done.stderr
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("DELETE FROM schema_version WHERE version = :v"), {"v": newer})
    assert migrate(db).applied == ()


def test_only_missing_steps_apply_and_the_baseline_is_not_applied_again(db):
    """A function a later step replaced would be put back if schema.sql ran again each time."""
    with db.begin() as conn:
        conn.execute(sa.text("COMMENT ON TABLE stores IS 'changed after the baseline'"))
    migrate(db)
    with db.connect() as conn:
        comment = conn.execute(sa.text("SELECT obj_description('stores'::regclass, 'pg_class')")).scalar_one()
    assert comment == "changed after the baseline"
    with db.begin() as conn:
        original = conn.execute(sa.text("SELECT description FROM schema_version WHERE version = 7")).scalar_one()
        conn.execute(sa.text("DELETE FROM schema_version WHERE version = 7"))
    try:
        assert migrate(db).applied[0] == "schema.sql"
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE schema_version SET description = :d WHERE version = 7"), {"d": original})
    with db.connect() as conn:
        comment = conn.execute(sa.text("SELECT obj_description('stores'::regclass, 'pg_class')")).scalar_one()
    assert comment != "changed after the baseline"


def test_a_migration_that_does_not_record_its_version_is_refused_and_rolled_back(db, tmp_path, monkeypatch):
    bad = tmp_path / "9999_forgets.sql"
    bad.write_text("CREATE TABLE forgotten_by_its_migration (id int);")
    monkeypatch.setattr(dbmod, "migration_paths", lambda: [bad])
    monkeypatch.setattr(dbmod, "schema_version", lambda: 9999)
    with pytest.raises(dbmod.MigrationError, match="did not record"):
        migrate(db)
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('forgotten_by_its_migration')")).scalar_one() is None
