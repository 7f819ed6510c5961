"""Signed tokens: round trip, and refusal of forged, expired and cross-purpose tokens."""

from __future__ import annotations

import pytest

from pricehound import tokens

SECRET = "s" * 40


def test_token_round_trips_its_payload():
    t = tokens.sign("unsubscribe", {"u": 7, "w": 3}, SECRET, max_age=3600)
    assert tokens.verify("unsubscribe", t, SECRET)["d"] == {"u": 7, "w": 3}


def test_forged_signature_is_refused():
    t = tokens.sign("unsubscribe", {"u": 7}, SECRET, max_age=None)
    body, mac = t.split(".")
    forged_body = tokens._b64(b'{"d":{"u":8},"iat":1,"jti":"x","p":"unsubscribe"}')
    for bad in (f"{forged_body}.{mac}", f"{body}.{mac[:-2]}AA", "garbage", ""):
        with pytest.raises(tokens.TokenError):
            tokens.verify("unsubscribe", bad, SECRET)
    with pytest.raises(tokens.TokenError):
        tokens.verify("unsubscribe", t, "another-secret")


def test_token_for_another_purpose_is_refused():
    t = tokens.sign("verify", {"u": 1}, SECRET, max_age=60)
    with pytest.raises(tokens.TokenError, match="purpose"):
        tokens.verify("login", t, SECRET)


def test_expired_token_is_refused():
    t = tokens.sign("login", {"u": 1}, SECRET, max_age=60, now=1000)
    assert tokens.verify("login", t, SECRET, now=1059)
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.verify("login", t, SECRET, now=1061)
