"""Double opt-in and the `pricehound alerts` commands."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from alerts import links, optin
from pricehound import tokens

from .conftest import add_event, make_user


def test_verification_is_requested_once_a_day_and_the_link_verifies(db, alert_env):
    with db.begin() as conn:
        user = make_user(conn, "new@example.com", verified=False)
        first = optin.request_verification(conn, user, now=86400 * 100.5)
        again = optin.request_verification(conn, user, now=86400 * 100.9)
        next_day = optin.request_verification(conn, user, now=86400 * 101.1)
    assert first == again and next_day != first
    token = links.verify_url(user).split("token=")[1]
    with db.begin() as conn:
        assert optin.confirm(conn, token) == user
        assert optin.confirm(conn, token) == user  # following the link twice is harmless
        assert optin.request_verification(conn, user) is None
        with pytest.raises(tokens.TokenError):
            optin.confirm(conn, links.manage_url(user).split("token=")[1])


def test_alerts_evaluate_command_turns_waiting_events_into_notifications(db, catalogue, run_cli):
    with db.begin() as conn:
        add_event(conn, catalogue.listing_id, "price_drop", "40.00", "20.00")
    result = run_cli("alerts", "evaluate")
    assert result.returncode == 0, result.stderr
    assert "evaluated 1 event(s): 1 notification(s)" in result.stdout
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT kind FROM notifications")).scalar_one() == "target_reached"


def test_alerts_commands_refuse_bad_input_with_one_line(db, run_cli):
    result = run_cli("alerts", "verify", "--email", "nobody@example.com")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    result = run_cli("alerts", "poll-bounces")
    assert result.returncode == 2 and "PRICEHOUND_SES_EVENTS_QUEUE_URL" in result.stderr
