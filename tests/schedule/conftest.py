"""Fixtures for the schedule stage: stores and watches made through the real write paths, the
Celery app pointed at the session's Redis, and real Celery workers/beat in subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pricehound import catalog

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_store(conn, slug: str, *, port: int, min_interval: timedelta = timedelta(minutes=5),
               max_interval: timedelta = timedelta(hours=6), delay: str = "0") -> catalog.Store:
    """A local store on 127.0.0.1:port (nothing needs to listen there for dispatch tests)."""
    return catalog.add_store(conn, slug=slug, name=slug.title(), domains=[f"127.0.0.1:{port}"],
                             delay=delay, min_interval=min_interval, max_interval=max_interval,
                             is_local=True)


def watch_many(conn, store: catalog.Store, paths: list[str], *, email: str = "ann@example.com",
               premium: bool = False) -> list[int]:
    """One user watching many pages of a store, in two set-based statements (the frontier rows
    come from the watch trigger, as in production). Returns the listing ids in path order."""
    user_id = catalog.add_user(conn, email=email, premium=premium, verified=True)
    list_id = catalog.ensure_list(conn, user_id)
    base = f"http://{store.allowed_domains[0]}"
    ids = conn.execute(sa.text(
        """
        INSERT INTO store_listings (store_id, url)
        SELECT :store_id, :base || p FROM unnest(CAST(:paths AS text[])) WITH ORDINALITY AS t(p, n)
        ON CONFLICT (store_id, url) DO UPDATE SET url = excluded.url
        RETURNING id, url
        """), {"store_id": store.id, "base": base, "paths": paths}).all()
    by_url = {r.url: r.id for r in ids}
    listing_ids = [by_url[base + p] for p in paths]
    conn.execute(sa.text(
        """
        INSERT INTO shopping_list_items (list_id, listing_id)
        SELECT :list_id, unnest(CAST(:ids AS bigint[]))
        ON CONFLICT DO NOTHING
        """), {"list_id": list_id, "ids": listing_ids})
    return listing_ids


@pytest.fixture()
def stores(db) -> Callable[..., catalog.Store]:
    """make_store with unique ports per test."""
    counter = iter(range(9100, 9999))

    def make(slug: str, **options) -> catalog.Store:
        with db.begin() as conn:
            return make_store(conn, slug, port=next(counter), **options)

    return make


@pytest.fixture()
def test_settings(settings):
    """The session settings with a lease long enough that nothing expires by accident."""
    return settings.with_overrides(lease_seconds=600, beat_interval=0.5)


# -- real Celery processes ------------------------------------------------------------------------

class Processes:
    """Celery workers and beat started by a test; killed (whole process group) at the end."""

    def __init__(self, env: dict[str, str], tmp_path: Path):
        self.env = env
        self.tmp_path = tmp_path
        self.procs: list[tuple[subprocess.Popen, Path]] = []

    def _start(self, args: list[str], name: str, extra_env: dict[str, str] | None) -> subprocess.Popen:
        log_path = self.tmp_path / f"{name}.log"
        log_file = open(log_path, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers", *args], cwd=REPO_ROOT,
            env={**self.env, **(extra_env or {})}, stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self.procs.append((proc, log_path))
        return proc

    def worker(self, *, queues: str = "schedule,crawl", pool: str = "prefork", concurrency: int = 1,
               extra_env: dict[str, str] | None = None, name: str = "worker") -> subprocess.Popen:
        unique = f"{name}-{uuid.uuid4().hex[:6]}"
        return self._start(
            ["worker", f"--pool={pool}", f"--concurrency={concurrency}", f"--hostname={unique}@%h",
             f"--queues={queues}", "--loglevel=INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], unique, extra_env)

    def beat(self, *, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        schedule = self.tmp_path / f"beat-{uuid.uuid4().hex[:6]}"
        return self._start(["beat", f"--schedule={schedule}", "--loglevel=INFO"], "beat", extra_env)

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(f"===== {path.name}\n{path.read_text(errors='replace')[-6000:]}"
                         for _, path in self.procs if path.exists())

    def stop_all(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGKILL)


@pytest.fixture()
def celery_procs(env, tmp_path, redis_client) -> Iterator[Processes]:
    procs = Processes(env, tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.2,
             message: str = "condition", on_fail: Callable[[], str] | None = None):
    """Poll until predicate() is truthy; fail with the message (and extra detail) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = on_fail() if on_fail else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {message}\n{detail}")
        time.sleep(interval)
