"""The database engine and the schema: one engine per URL per process; the migration runner.

SQLAlchemy Core only (no ORM): the stages write set-based SQL and read rows. ``pool_pre_ping``
makes a connection that PostgreSQL dropped (restart, pg_terminate_backend) get replaced on
checkout instead of failing the next statement.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pricehound import clock
from pricehound.config import Settings, get_settings

log = logging.getLogger(__name__)

SCHEMA_LOCK_KEY = 0x70726963  # advisory lock taken while the schema is migrated ("pric")


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


@functools.lru_cache(maxsize=1)
def schema_version() -> int:
    """The newest version schema.sql and the migrations record (what this code expects)."""
    return max(v for step in migrations() for v in step.versions)


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


# What after_commit deferred inside the current transaction() (None outside one).
_AFTER_COMMIT: contextvars.ContextVar[list[Callable[[], object]] | None] = contextvars.ContextVar(
    "pricehound_after_commit", default=None)


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Connection]:
    """One transaction: commits on success, rolls back on any exception. What ``after_commit``
    was given inside it runs once it has committed, and never if it rolled back."""
    pending: list[Callable[[], object]] = []
    token = _AFTER_COMMIT.set(pending)
    try:
        with (engine or get_engine()).begin() as conn:
            yield conn
    finally:
        _AFTER_COMMIT.reset(token)
    for action in pending:
        action()


def after_commit(action: Callable[[], object]) -> None:
    """Run ``action`` (enqueueing a task) once the current ``transaction()`` commits; at once
    outside one, where whatever the caller wrote has committed already. A worker can then never
    receive work for rows it cannot see yet, or for rows a rollback took back."""
    pending = _AFTER_COMMIT.get()
    if pending is None:
        action()
    else:
        pending.append(action)


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer pricehound than this one: running this code against
    it could write rows the newer schema forbids, or miss columns it now needs."""


class MigrationError(RuntimeError):
    """A migration file did not apply, or did not record its own version."""


@dataclasses.dataclass(frozen=True)
class Migration:
    """One step of the schema's history: schema.sql (the baseline, versions 1-7) or one file."""

    versions: frozenset[int]
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


@dataclasses.dataclass(frozen=True)
class MigrationResult:
    version: int
    applied: tuple[str, ...]


def _recorded_versions(sql: str) -> frozenset[int]:
    import re

    return frozenset(int(v) for v in re.findall(r"VALUES \((\d+), '", sql))


def migrations() -> list[Migration]:
    """The baseline, then each numbered file in number order."""
    steps = [Migration(_recorded_versions(schema_path().read_text()), schema_path())]
    for path in migration_paths():
        steps.append(Migration(frozenset({int(path.name[:4])}), path))
    return steps


def _applied_versions(cur) -> set[int]:
    cur.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    if not cur.fetchone()[0]:
        return set()
    cur.execute("SELECT version FROM schema_version")
    return {int(row[0]) for row in cur.fetchall()}


def _too_new(applied: set[int], known: int) -> str | None:
    newer = sorted(v for v in applied if v > known)
    if not newer:
        return None
    return (f"the database is at schema version {max(newer)}, newer than this pricehound knows "
            f"(up to {known}): a newer release has migrated it. Upgrade pricehound to that "
            f"release (or newer) on this machine; nothing was changed")


def migrate(engine: Engine) -> MigrationResult:
    """Bring the database up to this code's schema: apply, in order, only the steps whose
    versions it lacks, each in its own transaction that records its version, all under the
    schema advisory lock (a second process waits, then finds nothing to do).

    The baseline (schema.sql) is applied only while one of its versions is missing: applying it
    again later would put back functions and views that a later file replaced, and that file
    would not run again. Refuses with SchemaTooNew, changing nothing, when the database records
    a version newer than any this code knows.
    """
    known = schema_version()
    applied_now: list[str] = []
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
            raw.commit()
            try:
                applied = _applied_versions(cur)
                raw.commit()
                problem = _too_new(applied, known)
                if problem:
                    raise SchemaTooNew(problem)
                for step in migrations():
                    if step.versions <= applied:
                        continue
                    try:
                        cur.execute(step.path.read_text())
                        recorded = _applied_versions(cur)
                    except Exception as exc:
                        raw.rollback()
                        raise MigrationError(f"{step.name} did not apply: {exc}".strip()) from exc
                    if not step.versions <= recorded:
                        raw.rollback()
                        raise MigrationError(f"{step.name} did not record schema version(s) "
                                             f"{sorted(step.versions - recorded)}; nothing of it was kept")
                    raw.commit()
                    log.info("schema: applied %s", step.name)
                    applied = recorded
                    applied_now.append(step.name)
                version = max(applied)
            finally:
                raw.rollback()
                cur.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
                raw.commit()
    finally:
        raw.close()
    return MigrationResult(version, tuple(applied_now))


def apply_schema(engine: Engine) -> int:
    """Apply what is missing of schema.sql and the numbered migrations (see ``migrate``);
    return the schema version. Running it again on an up-to-date database changes nothing."""
    return migrate(engine).version


def check_schema(engine: Engine) -> int | None:
    """The cheap check each long-running process makes at start: one query. Raises SchemaTooNew
    when a newer release migrated the database; logs (and carries on) when the database is behind
    or has no schema yet, since `pricehound initdb` fixes that. Returns the database's version."""
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT to_regclass('schema_version') IS NOT NULL")).scalar_one()
        versions = set(conn.execute(sa.text("SELECT version FROM schema_version")).scalars()) if exists else set()
    known = schema_version()
    problem = _too_new(versions, known)
    if problem:
        raise SchemaTooNew(problem)
    if not versions or max(versions) < known:
        log.warning("the database schema is at version %s, this pricehound expects %s: run "
                    "`pricehound initdb`", max(versions) if versions else "none", known)
        return max(versions) if versions else None
    return max(versions)


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
