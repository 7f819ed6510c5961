"""The SNS endpoint refuses what is not a genuine SNS message, before believing any of it."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa
from fastapi import Request

from web.api.sns import body_up_to


def test_a_body_that_is_not_sns_is_a_400(client):
    assert client.post("/sns/ses-events", content=b"{not json").status_code == 400
    assert client.post("/sns/ses-events", content=b'{"hello": 1}').status_code == 400


def test_a_forged_bounce_is_refused_and_suppresses_nobody(client, db):
    forged = {
        "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:ses",
        "Message": json.dumps({"notificationType": "Bounce", "bounce": {
            "bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "ann@example.com"}]}}),
        "Timestamp": "2026-11-21T00:00:00.000Z", "SignatureVersion": "1", "Signature": "Zm9yZ2Vk",
        "SigningCertURL": "https://evil.example/cert.pem",
    }
    response = client.post("/sns/ses-events", content=json.dumps(forged))
    assert response.status_code == 403
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM email_suppressions")).scalar_one() == 0


def test_an_oversized_body_is_refused(client):
    assert client.post("/sns/ses-events", content=b"x" * (300 * 1024)).status_code == 413


def test_an_oversized_body_sent_without_a_length_is_refused_too(client):
    chunks = (b"x" * (64 * 1024) for _ in range(5))  # chunked: no Content-Length to go by
    assert client.post("/sns/ses-events", content=chunks).status_code == 413


def test_reading_stops_at_the_limit():
    sent = []

    async def receive():
        sent.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    assert asyncio.run(body_up_to(request, 10 * 1024)) is None
    assert len(sent) == 11  # one chunk past the limit, not the endless rest
