"""The whole path in real processes: a committed price change -> evaluate task -> send task ->
a real `celery -A workers worker` -> SES (moto in server mode) -> an email and a sent row."""

from __future__ import annotations

import email
import subprocess
import sys
import time
from email import policy

import boto3
import pytest
import sqlalchemy as sa

from .conftest import REGION, add_event

pytestmark = pytest.mark.slow


@pytest.fixture()
def ses_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("sesv2", region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_email_identity(EmailIdentity="alerts@pricehound.example")
    yield url
    server.stop()


@pytest.fixture()
def worker(alert_env, ses_server, tmp_path):
    env = {**alert_env, "PRICEHOUND_SES_ENDPOINT_URL": ses_server, "PRICEHOUND_EMAIL_DIR": str(tmp_path / "mail")}
    import os

    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("PRICEHOUND_")}, **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "alerts,email", "-c", "2",
         "--loglevel=INFO", "--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"alerts-test-{os.getpid()}@%h"],
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]), env=full_env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield tmp_path / "mail"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_committed_price_drop_reaches_ses_through_a_real_worker(db, catalogue, worker):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from workers import app

    with db.begin() as conn:
        event = add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    app.send_task("pricehound.alerts.evaluate_events", args=[[event]])  # as the crawl stage does after commit

    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline:
        with db.connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM notifications")).scalar_one_or_none()
        if status == "sent":
            break
        time.sleep(0.2)
    assert status == "sent"
    [message] = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    msg = email.message_from_string(message.raw_data, policy=policy.default)
    assert msg["Subject"].startswith("Target reached: Steel Kettle 1.7l now $20.00")
    assert msg["List-Unsubscribe"].strip().startswith("<https://pricehound.test/unsubscribe?token=")
    assert [p.name for p in worker.iterdir()] == ["1-target_reached.eml"]
