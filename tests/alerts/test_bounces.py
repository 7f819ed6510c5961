"""Bounces and complaints become suppressions: from SQS (SNS envelope) and from signed SNS posts."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator

import boto3
import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from alerts import bounces, tasks

from .conftest import REGION


def ses_bounce(address: str, bounce_type: str = "Permanent") -> dict:
    return {"eventType": "Bounce", "mail": {"destination": [address]},
            "bounce": {"bounceType": bounce_type, "bounceSubType": "General",
                       "bouncedRecipients": [{"emailAddress": address, "status": "5.1.1",
                                              "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}}


def ses_complaint(address: str) -> dict:
    return {"notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": address}], "complaintFeedbackType": "abuse"}}


def suppressions(db) -> dict[str, str]:
    with db.connect() as conn:
        return dict(conn.execute(sa.text("SELECT email, reason FROM email_suppressions")).all())


def test_bounce_and_complaint_from_the_sqs_queue_suppress_addresses(db, aws, monkeypatch):
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="ses-events")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="ses-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message=json.dumps(ses_bounce("Hard@Example.com")))
    sns.publish(TopicArn=topic, Message=json.dumps(ses_bounce("soft@example.com", "Transient")))
    sns.publish(TopicArn=topic, Message=json.dumps(ses_complaint("Angry <angry@example.com>")))
    sqs.send_message(QueueUrl=queue_url, MessageBody="not json")  # a poison message is dropped, not looped on
    monkeypatch.setenv("PRICEHOUND_SES_EVENTS_QUEUE_URL", queue_url)
    from pricehound.config import get_settings

    get_settings.cache_clear()
    assert tasks.poll_ses_events.run() == 2
    assert suppressions(db) == {"hard@example.com": "bounce", "angry@example.com": "complaint"}
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages") is None
    assert tasks.poll_ses_events.run() == 0


# -- signed SNS over HTTP -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def signing_key() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def cert_server(signing_key) -> Iterator[str]:
    """Serves the test certificate on 127.0.0.1 like SNS serves its signing certificate."""
    pem = signing_key[1]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/x-pem-file")
            self.end_headers()
            self.wfile.write(pem)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def signed(message: dict, key: rsa.RSAPrivateKey, version: str = "2") -> dict:
    digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303
    message = {**message, "SignatureVersion": version}
    message["Signature"] = base64.b64encode(
        key.sign(bounces.string_to_sign(message), padding.PKCS1v15(), digest)).decode()
    return message


def notification(event: dict, cert_url: str) -> dict:
    return {"Type": "Notification", "MessageId": "4a1b7e0c-0000-0000-0000-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events", "Message": json.dumps(event),
            "Timestamp": "2026-01-01T00:00:00.000Z", "SigningCertURL": f"{cert_url}/cert.pem"}


@pytest.fixture()
def local_verifier(cert_server) -> bounces.SnsVerifier:
    # only this test server's host is trusted, and only here
    return bounces.SnsVerifier(cert_url_allowed=lambda url: url.startswith(f"{cert_server}/"))


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_sns_bounce_posted_over_http_suppresses_the_address(db, alert_env, signing_key, cert_server,
                                                                   local_verifier, version):
    body = json.dumps(signed(notification(ses_bounce("gone@example.com"), cert_server), signing_key[0], version))
    assert bounces.handle_sns_http(body, local_verifier) == (200, "suppressed 1")
    assert suppressions(db) == {"gone@example.com": "bounce"}


def test_sns_message_with_a_bad_signature_is_refused(db, alert_env, signing_key, cert_server, local_verifier):
    message = signed(notification(ses_bounce("victim@example.com"), cert_server), signing_key[0])
    message["Message"] = json.dumps(ses_bounce("someone-else@example.com"))  # tampered after signing
    status, text = bounces.handle_sns_http(json.dumps(message), local_verifier)
    assert status == 403 and "bad signature" in text
    assert suppressions(db) == {}


def test_sns_certificate_from_a_host_that_is_not_sns_is_refused(db, alert_env, signing_key, cert_server):
    message = signed(notification(ses_complaint("victim@example.com"), cert_server), signing_key[0])
    status, _ = bounces.handle_sns_http(json.dumps(message))  # the production verifier
    assert status == 403
    assert suppressions(db) == {}
    assert bounces.is_sns_cert_url("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem")
    assert not bounces.is_sns_cert_url("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem")
    assert not bounces.is_sns_cert_url("http://sns.eu-west-1.amazonaws.com/x.pem")


def test_garbage_posted_to_the_sns_endpoint_is_a_bad_request(alert_env):
    assert bounces.handle_sns_http(b"{not json")[0] == 400
    assert bounces.handle_sns_http(b'{"hello": 1}')[0] == 400
