"""The outbox functions the HTTP service calls, and the signed links both sides share."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from alerts import links, outbox
from pricehound import tokens
from pricehound.catalog import InputError

from .conftest import make_user


def test_transactional_email_is_one_row_per_dedupe_key(db, alert_env):
    with db.begin() as conn:
        user = make_user(conn, "new@example.com", verified=False)
        first = outbox.queue_transactional_email(conn, user, "verify", {"link": "https://x.test/v"}, f"verify:{user}:1")
        again = outbox.queue_transactional_email(conn, user, "verify", {"link": "https://x.test/v"}, f"verify:{user}:1")
        row = conn.execute(sa.text("SELECT kind, status, payload FROM notifications WHERE id = :i"), {"i": first}).one()
        count = conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one()
    assert first == again and count == 1
    assert (row.kind, row.status, row.payload) == ("verify", "pending", {"link": "https://x.test/v"})


def test_transactional_email_refuses_alert_kinds(db, alert_env):
    with db.begin() as conn:
        user = make_user(conn, "new@example.com")
        with pytest.raises(InputError):
            outbox.queue_transactional_email(conn, user, "price_drop", {}, "x")


def test_links_carry_signed_tokens_for_their_purpose(alert_env):
    from pricehound.config import get_settings

    secret = get_settings().signing_secret
    url = links.unsubscribe_url(7, 42)
    assert url.startswith("https://pricehound.test/unsubscribe?token=")
    token = url.split("token=", 1)[1]
    assert tokens.verify("unsubscribe", token, secret)["d"] == {"u": 7, "w": 42}
    with pytest.raises(tokens.TokenError):
        tokens.verify("manage", token, secret)
    assert tokens.verify("unsubscribe", links.unsubscribe_url(7).split("token=")[1], secret)["d"] == {"u": 7, "w": None}
    assert tokens.verify("verify", links.verify_url(7).split("token=")[1], secret)["d"] == {"u": 7}
    assert tokens.verify("manage", links.manage_url(7).split("token=")[1], secret)["d"] == {"u": 7}
    assert tokens.verify("login", links.login_url(7).split("token=")[1], secret)["d"] == {"u": 7}


def test_send_chunks_never_split_one_users_rows():
    ids = list(range(1, 11))
    users = [1, 1, 1, 2, 2, 3, 3, 3, 3, 4]
    assert outbox.chunks(ids, size=2, user_ids=users) == [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]]
    assert outbox.chunks(ids, size=4) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
