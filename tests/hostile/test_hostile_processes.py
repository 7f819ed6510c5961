"""Commands that start embedded servers stop them, also on SIGTERM; a handle left by a killed
process is cleaned up; `demo` asks before wiping real servers and needs no moto; `config` hides
passwords and survives a closed pipe."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from pricehound import embedded
from tests.conftest import REPO_ROOT
from tests.foundation.test_embedded import postgres_running


def _embedded_env(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRICEHOUND_")
           and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PYTHONPATH=str(REPO_ROOT), PRICEHOUND_DATA_DIR=str(data_dir),
               PRICEHOUND_SECRET_KEY="Zq8vX2pLmR9rW4yB7nC1dF6gH0jT5sQeUaKo3Ni")
    return env


def _redis_running(data_dir) -> bool:
    return embedded._redis_answers(embedded._redis_socket(data_dir / "redis"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_stops_the_embedded_servers_it_started_on_sigterm(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pricehound.cli", "serve", "--port", str(port)],
                            cwd=REPO_ROOT, env=_embedded_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None and not healthy:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    healthy = r.status == 200
            except OSError:
                time.sleep(0.3)
        assert healthy, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert postgres_running(tmp_path) and _redis_running(tmp_path)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not postgres_running(tmp_path)
    assert not _redis_running(tmp_path)


@pytest.mark.slow
def test_a_handle_left_by_a_killed_process_is_cleaned_up(tmp_path):
    # a process that attaches and is then killed leaves its pid in pgserver's handle list
    victim = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from pricehound import embedded; "
                               "embedded.postgres_url(Path(sys.argv[1])); print('up', flush=True); time.sleep(600)",
         str(tmp_path)], cwd=REPO_ROOT, env=_embedded_env(tmp_path), stdout=subprocess.PIPE, text=True)
    try:
        assert victim.stdout.readline().strip() == "up"
    finally:
        victim.kill()
        victim.wait()
    handles = tmp_path / "pg" / ".handle_pids.json"
    assert victim.pid in json.loads(handles.read_text())
    assert postgres_running(tmp_path)  # leaked: nobody would ever stop it
    # the next command finds the stale handle, removes it, and stops the server when it is done
    status = subprocess.run([sys.executable, "-m", "pricehound.cli", "initdb"], cwd=REPO_ROOT,
                            env=_embedded_env(tmp_path), capture_output=True, text=True, timeout=180)
    assert status.returncode == 0, status.stderr
    assert victim.pid not in json.loads(handles.read_text())
    assert not postgres_running(tmp_path)


def test_demo_refuses_external_servers_without_yes(env):
    proc = subprocess.run([sys.executable, "-m", "pricehound.cli", "demo", "--exit"], cwd=REPO_ROOT,
                          env={**env, "DATABASE_URL": "postgresql://ann:hunter2@db.example/prod"},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "--yes" in proc.stderr and "DATABASE_URL" in proc.stderr and "hunter2" not in proc.stderr


def test_demo_imports_no_moto(env):
    code = ("import sys; import pricehound.demo, demostore.ses; "
            "assert 'moto' not in sys.modules, sorted(m for m in sys.modules if m.startswith('moto'))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_local_ses_stand_in_takes_what_boto3_sends():
    import boto3

    from demostore.ses import LocalSES

    ses = LocalSES()
    ses.start()
    try:
        host, port = ses.get_host_and_port()
        client = boto3.client("sesv2", region_name="us-east-1", endpoint_url=f"http://{host}:{port}",
                              aws_access_key_id="demo", aws_secret_access_key="demo")
        sent = client.send_email(FromEmailAddress="a@demo.test", Destination={"ToAddresses": ["b@demo.test"]},
                                 Content={"Raw": {"Data": b"Subject: hi\r\n\r\nhello"}})
        assert sent["MessageId"] and ses.sent == 1
        assert client.get_account()["SendQuota"]["MaxSendRate"] > 0
    finally:
        ses.stop()


def test_config_masks_passwords_and_secrets(run_cli):
    result = run_cli("config", extra_env={
        "DATABASE_URL": "postgresql://ann:hunter2@db.example:5432/prices",
        "REDIS_URL": "redis://:s3cret@cache.example:6379/0"})
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout and "s3cret" not in result.stdout
    assert "DATABASE_URL=postgresql://ann:***@db.example:5432/prices" in result.stdout
    assert "REDIS_URL=redis://:***@cache.example:6379/0" in result.stdout
    assert "PRICEHOUND_SECRET_KEY=(set)" in result.stdout


def test_config_survives_a_closed_pipe(env):
    proc = subprocess.run(f"'{sys.executable}' -m pricehound.cli config | head -n 1", shell=True, cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("DATABASE_URL=")
    assert "BrokenPipeError" not in proc.stderr and "Traceback" not in proc.stderr
