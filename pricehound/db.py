"""The database engine and the schema: one engine per URL per process, schema.sql applied whole.

SQLAlchemy Core only (no ORM): the stages write set-based SQL and read rows. ``pool_pre_ping``
makes a connection that PostgreSQL dropped (restart, pg_terminate_backend) get replaced on
checkout instead of failing the next statement.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pricehound import clock
from pricehound.config import Settings, get_settings

SCHEMA_LOCK_KEY = 0x70726963  # advisory lock taken while schema.sql is applied ("pric")


def schema_path() -> Path:
    """schema.sql at the repository root (also installed beside the package in a wheel)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "schema.sql", here / "schema.sql"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("schema.sql not found beside the pricehound package")


def migration_paths() -> list[Path]:
    """Numbered migrations (``pricehound/migrations/NNNN_name.sql``) applied after schema.sql, in
    the order of their numbers. Each records its own ``schema_version`` row."""
    folder = Path(__file__).resolve().parent / "migrations"
    return sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def schema_version() -> int:
    """The newest version schema.sql and the migrations record."""
    import re

    texts = [schema_path().read_text()] + [p.read_text() for p in migration_paths()]
    versions = [int(v) for t in texts for v in re.findall(r"VALUES \((\d+), '", t)]
    return max(versions)


def normalise_url(url: str) -> str:
    """postgres:// and postgresql:// both mean psycopg2 to SQLAlchemy."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


@functools.lru_cache(maxsize=8)
def _engine_for(url: str, pid: int) -> Engine:
    engine = sa.create_engine(
        normalise_url(url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_recycle=1800,
        connect_args={"application_name": "pricehound", "connect_timeout": 10},
    )
    clock.install(engine)
    return engine


def get_engine(settings: Settings | None = None) -> Engine:
    """The engine for the configured database, starting the embedded one if none is configured
    (only PostgreSQL: a command that needs no broker does not wait for the embedded Redis).

    Keyed by pid as well as URL: a forked worker child must not share its parent's sockets.
    """
    settings = settings or get_settings()
    url = settings.database_url
    if url is None:
        from pricehound import embedded

        url = embedded.postgres_url(settings.data_dir)
    assert url is not None
    return _engine_for(url, os.getpid())


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Connection]:
    """One transaction: commits on success, rolls back on any exception."""
    with (engine or get_engine()).begin() as conn:
        yield conn


def apply_schema(engine: Engine) -> int:
    """Apply schema.sql and the numbered migrations in one transaction under an advisory lock; return the schema version.

    Idempotent: running it again on an up-to-date database changes nothing.
    """
    scripts = [schema_path().read_text()] + [p.read_text() for p in migration_paths()]
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            for sql in scripts:
                cur.execute(sql)
            cur.execute("SELECT max(version) FROM schema_version")
            version = cur.fetchone()[0]
        raw.commit()
    except Exception:
        raw.rollback()
        raise
    finally:
        raw.close()
    return int(version)


def data_tables(conn: Connection) -> list[str]:
    """Every table that holds data (partitions and schema_version excluded), from the catalogue
    itself, so code that empties a database never misses a table added later."""
    return list(conn.execute(sa.text(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND c.relname <> 'schema_version'
         ORDER BY c.relname
        """)).scalars())


def empty_all_tables(conn: Connection) -> None:
    """TRUNCATE every data table in one statement (tests and the demo start from nothing)."""
    tables = data_tables(conn)
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(t) for t in tables)
    conn.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
