"""`pricehound run`: worker, beat and web under one supervisor, all stopped cleanly on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from tests.conftest import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_run_serves_and_stops_every_child_on_sigterm(db, env, tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pricehound.cli", "run", "--port", str(port), "--grace", "20"],
        cwd=REPO_ROOT, env={**env, "PRICEHOUND_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    healthy = r.status == 200
                    break
            except OSError:
                time.sleep(0.5)
        assert healthy, "the HTTP service never answered /healthz"
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "worker" in names and "beat" in names and "serve" in names
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output[-3000:]
        assert "stopped crawl-worker" in output and "stopped beat" in output and "stopped web" in output
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        if proc.poll() is None:
            proc.kill()
