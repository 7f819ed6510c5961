"""Shared fixtures: a real PostgreSQL database and a real Redis database for the test session.

PostgreSQL: the server at 127.0.0.1:5432 when one answers (PRICEHOUND_TEST_PG_ADMIN_URL
overrides), else the embedded one. Each test session creates its own database with a unique
name, applies schema.sql, and drops it at the end; each test starts from empty tables
(TRUNCATE after the test), so code that commits its own transactions (CLI, pipelines, Celery
workers in subprocesses) is tested as it runs in production.

Redis: 127.0.0.1:6379 when it answers (PRICEHOUND_TEST_REDIS_URL overrides), else the embedded
one. A session claims one of the logical databases 1-15 with a lock key, so parallel test runs
on one machine never share a database; it is flushed between tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parent.parent


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pricehound-data")


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a maintenance database on a real PostgreSQL server."""
    explicit = os.environ.get("PRICEHOUND_TEST_PG_ADMIN_URL")
    if explicit:
        return explicit
    if _port_open("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    from pricehound import embedded

    return embedded.postgres_url(tmp_path_factory.mktemp("embedded-pg"))


@pytest.fixture(scope="session")
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with the schema applied, dropped when the session ends."""
    from pricehound.db import apply_schema, normalise_url

    name = f"pricehound_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(normalise_url(pg_admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(normalise_url(pg_admin_url)).set(database=name)
    plain = url.render_as_string(hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    engine = sa.create_engine(normalise_url(plain))
    apply_schema(engine)
    engine.dispose()
    yield plain
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
        ), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    explicit = os.environ.get("PRICEHOUND_TEST_REDIS_URL")
    if explicit:
        return explicit
    if _port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379"
    from pricehound import embedded

    return embedded.redis_url(tmp_path_factory.mktemp("embedded-redis")).split("?")[0]


@pytest.fixture(scope="session")
def redis_url(redis_server_url: str) -> Iterator[str]:
    """A Redis logical database this session holds alone (claimed with a lock key in db 0)."""
    import redis

    base = redis_server_url.rstrip("/")
    control = redis.Redis.from_url(base if base.startswith("unix://") else f"{base}/0")
    token = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    claimed = None
    for db in range(1, 16):
        if control.set(f"pricehound:test-db-claim:{db}", token, nx=True, ex=3600):
            claimed = db
            break
    if claimed is None:
        pytest.fail("every Redis test database 1-15 is claimed; stale claims expire within an hour")
    url = f"{base}?db={claimed}" if base.startswith("unix://") else f"{base}/{claimed}"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()
    control.delete(f"pricehound:test-db-claim:{claimed}")


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, data_dir: Path):
    from pricehound.config import Settings

    return Settings(
        database_url=database_url, redis_url=redis_url, data_dir=data_dir,
        secret_key="Zq8vX2pLmR9rW4yB7nC1dF6gH0jT5sQeUaKo3Ni", download_delay=0.0,
        alert_batch_window=0.0,
    )


@pytest.fixture(scope="session")
def engine(settings) -> Iterator[sa.engine.Engine]:
    from pricehound.db import get_engine

    eng = get_engine(settings)
    yield eng
    eng.dispose()




@pytest.fixture()
def db(engine) -> Iterator[sa.engine.Engine]:
    """The test database, emptied after the test whatever the test committed."""
    from pricehound.db import empty_all_tables

    yield engine
    with engine.begin() as conn:
        empty_all_tables(conn)


@pytest.fixture()
def redis_client(redis_url: str):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.flushdb()


@pytest.fixture(scope="session")
def session_env(settings) -> dict[str, str]:
    """Environment for subprocesses (the CLI, workers): same servers, no embedded start-up."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PRICEHOUND_", "DATABASE_URL", "REDIS_URL"))}
    base.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        PRICEHOUND_DATA_DIR=str(settings.data_dir),
        PRICEHOUND_SECRET_KEY=settings.secret_key,
        PRICEHOUND_DOWNLOAD_DELAY="0",
        PYTHONPATH=str(REPO_ROOT),
    )
    return base


@pytest.fixture()
def env(session_env) -> dict[str, str]:
    return dict(session_env)


@pytest.fixture(scope="session", autouse=True)
def _this_process_uses_the_test_servers(session_env, redis_url) -> Iterator[None]:
    """In-process code reads get_settings() and publishes through the one Celery app, as a
    deployed process does: point both at the test servers once, for the whole session, so no
    test depends on which module happened to configure them first."""
    from pricehound.config import get_settings

    patch = pytest.MonkeyPatch()
    for key in [k for k in os.environ if k.startswith("PRICEHOUND_") or k in ("DATABASE_URL", "REDIS_URL")]:
        patch.delenv(key)
    for key, value in session_env.items():
        if key.startswith("PRICEHOUND_") or key in ("DATABASE_URL", "REDIS_URL"):
            patch.setenv(key, value)
    get_settings.cache_clear()
    from workers import app, broker_url

    app.conf.broker_url = broker_url(redis_url)
    yield
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _empty_redis_after_each_test(redis_url) -> Iterator[None]:
    """Queues, locks and rate-limit counters never leak from one test into the next."""
    yield
    import redis

    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture()
def run_cli(env):
    """Run `pricehound ARGS...` in a subprocess as a user would; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 120, extra_env: dict[str, str] | None = None):
        return subprocess.run(
            [sys.executable, "-m", "pricehound.cli", *args],
            cwd=REPO_ROOT, env={**env, **(extra_env or {})}, capture_output=True, text=True,
            timeout=timeout,
        )

    return run
