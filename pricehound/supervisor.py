"""Child processes for `pricehound run` and `pricehound demo`: Celery worker, beat, HTTP service.

One supervisor starts them with the same environment (so they attach to the same PostgreSQL
and Redis), sends their output to the terminal with a name prefix or to log files, restarts a
child that dies unexpectedly (with a growing pause), and on SIGINT/SIGTERM stops them all:
SIGTERM first (Celery finishes or re-queues its tasks: acks are late), SIGKILL after a grace
period.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger("pricehound.supervisor")

QUEUES = "schedule,crawl,alerts,email"


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    restart: bool = True


def worker_spec(concurrency: int = 2, queues: str = QUEUES, name: str = "worker") -> ChildSpec:
    return ChildSpec(name, [sys.executable, "-m", "celery", "-A", "workers", "--quiet", "worker", "--loglevel=INFO",
                            f"--queues={queues}", f"--concurrency={concurrency}",
                            f"--hostname={name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle"])


def worker_specs(crawl_concurrency: int = 2) -> list[ChildSpec]:
    """Two workers: crawls hold a slot for as long as a store takes, so dispatch ticks, alert
    evaluation and email get a worker of their own and never wait behind a crawl."""
    return [worker_spec(concurrency=crawl_concurrency, queues="crawl", name="crawl-worker"),
            worker_spec(concurrency=2, queues="schedule,alerts,email", name="worker")]


def beat_spec(data_dir: Path) -> ChildSpec:
    return ChildSpec("beat", [sys.executable, "-m", "celery", "-A", "workers", "--quiet", "beat", "--loglevel=INFO",
                              f"--schedule={data_dir / 'celerybeat-schedule'}"])


def web_spec(host: str, port: int) -> ChildSpec:
    return ChildSpec("web", [sys.executable, "-m", "pricehound.cli", "serve", "--host", host, "--port", str(port)])


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    threads: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    """Starts, watches and stops a set of child processes."""

    def __init__(self, specs: Sequence[ChildSpec], env: Mapping[str, str], *, log_dir: Path | None = None,
                 echo: IO[str] | None = None, grace: float = 20.0) -> None:
        self.children = [_Child(spec) for spec in specs]
        self.env = dict(env)
        self.log_dir = log_dir
        self.echo = echo
        self.grace = grace
        self.stopping = threading.Event()
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Supervisor:
        for child in self.children:
            self._spawn(child)
        return self

    def _spawn(self, child: _Child) -> None:
        out: int | IO[bytes]
        if self.log_dir:
            out = open(self.log_dir / f"{child.spec.name}.log", "ab")  # noqa: SIM115 - owned by the child
        else:
            out = subprocess.PIPE
        child.process = subprocess.Popen(
            child.spec.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.info("started %s (pid %s)", child.spec.name, child.process.pid)
        if out is subprocess.PIPE:
            t = threading.Thread(target=self._pump, args=(child.spec.name, child.process), daemon=True)
            t.start()
            child.threads.append(t)

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        sink = self.echo or sys.stderr
        for raw in iter(process.stdout.readline, b""):
            sink.write(f"[{name}] {raw.decode('utf-8', 'replace')}")
            sink.flush()

    def poll(self) -> None:
        """Restart children that died while we were not stopping (growing pause, up to 60 s)."""
        now = time.monotonic()
        for child in self.children:
            proc = child.process
            if self.stopping.is_set() or proc is None:
                continue
            code = proc.poll()
            if code is None:
                continue
            if not child.spec.restart:
                continue
            if child.next_start == 0.0:
                pause = min(60.0, 2.0 ** min(child.restarts, 6))
                child.next_start = now + pause
                log.warning("%s exited with code %s; restarting in %.0f s", child.spec.name, code, pause)
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                self._spawn(child)

    def alive(self) -> dict[str, bool]:
        return {c.spec.name: c.process is not None and c.process.poll() is None for c in self.children}

    def stop(self) -> None:
        """SIGTERM every child's process group, wait up to the grace period, then SIGKILL."""
        self.stopping.set()
        for child in self.children:
            self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in self.children:
            proc = child.process
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", child.spec.name, self.grace)
                self._signal(child, signal.SIGKILL)
                proc.wait(timeout=10)
            log.info("stopped %s (exit %s)", child.spec.name, proc.returncode)
        for child in self.children:
            for t in child.threads:
                t.join(timeout=2)

    @staticmethod
    def _signal(child: _Child, sig: signal.Signals) -> None:
        proc = child.process
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_until_signalled(supervisor: Supervisor, *, tick: float = 1.0) -> int:
    """Block until SIGINT/SIGTERM, keeping children alive; then stop them all. Returns 0."""
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(tick):
            supervisor.poll()
    finally:
        supervisor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
