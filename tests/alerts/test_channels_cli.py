"""`pricehound channels` and `pricehound noise` as a user types them."""

from __future__ import annotations

import json

import pytest

from pricehound.cli import main

from .receivers import receiver


@pytest.fixture()
def cli_env(alert_env, monkeypatch):
    from pricehound.config import get_settings

    monkeypatch.setenv("PRICEHOUND_CHANNEL_ALLOW_PRIVATE", "1")
    get_settings.cache_clear()
    assert main(["users", "add", "--email", "ann@example.com", "--verified"]) == 0


def test_channels_add_with_test_list_route_remove_and_noise(db, cli_env, capsys):
    with receiver() as hook:
        assert main(["channels", "add", "--email", "ann@example.com", "--kind", "webhook",
                     "--target", hook.url + "/h", "--kinds", "sold_out,removed", "--test"]) == 0
        out = capsys.readouterr().out
        assert "signing secret" in out and "verified" in out and len(hook.got) == 1
    assert main(["channels", "list", "--email", "ann@example.com", "--json"]) == 0
    (channel,) = json.loads(capsys.readouterr().out)
    assert channel["status"] == "verified" and channel["alert_kinds"] == ["sold_out", "removed"]
    assert main(["channels", "route", "--email", "ann@example.com", str(channel["id"]), "--kinds", "all"]) == 0
    assert "kinds=price_drop" in capsys.readouterr().out
    # the endpoint is gone: the test says so and what to do
    assert main(["channels", "test", "--email", "ann@example.com", str(channel["id"])]) == 1
    assert "failed" in capsys.readouterr().out
    assert main(["channels", "add", "--email", "ann@example.com", "--kind", "apprise", "--target", "mqtt://x/y"]) == 2
    assert "not offered" in capsys.readouterr().err
    assert main(["channels", "remove", "--email", "ann@example.com", str(channel["id"])]) == 0
    assert main(["channels", "remove", "--email", "ann@example.com", str(channel["id"])]) == 2
    assert main(["noise", "--email", "ann@example.com", "--time-zone", "Europe/Berlin", "--quiet", "22:00-07:00",
                 "--daily-cap", "5", "--digest", "daily"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {
        "time_zone": "Europe/Berlin", "quiet_hours": "22:00-07:00", "daily_cap": 5, "digest": "daily", "digest_hour": 8}
    assert main(["noise", "--email", "ann@example.com", "--time-zone", "Nowhere/Special"]) == 2
