"""A known or weak signing secret opens every account: every process refuses to start with one,
compose cannot fall back to one, and a rotated-out key keeps verifying until it is removed."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
import yaml

from pricehound import tokens
from pricehound.config import ConfigError, Settings, secret_weakness
from tests.conftest import REPO_ROOT

PUBLISHED = "change-me-to-a-long-random-string"
WEAK = [PUBLISHED, "CHANGE_ME_TO_A_LONG_RANDOM_STRING", "short-but-random-9x", "a" * 64,
        "abcdabcdabcdabcdabcdabcdabcdabcdabcd", "0123456789" * 4, "test-secret-key-not-for-production"]


@pytest.mark.parametrize("secret", WEAK)
def test_weak_or_published_secret_is_refused_with_how_to_generate_one(secret):
    assert secret_weakness(secret)
    with pytest.raises(ConfigError, match="secrets.token_urlsafe"):
        Settings.from_env({"PRICEHOUND_SECRET_KEY": secret})
    with pytest.raises(ConfigError):
        Settings(secret_key=secret).signing_secret  # noqa: B018


def test_generated_secrets_pass():
    for _ in range(50):
        assert secret_weakness(secrets.token_urlsafe(48)) is None
        assert secret_weakness(secrets.token_hex(32)) is None


def test_a_weak_stored_secret_is_refused(tmp_path):
    (tmp_path / "secret_key").write_text("password")
    with pytest.raises(ConfigError, match="secret_key"):
        Settings(data_dir=tmp_path).signing_secret  # noqa: B018


@pytest.mark.parametrize("argv", [["status"], ["config"], ["initdb"]])
def test_cli_refuses_to_start_with_the_published_default(run_cli, argv):
    result = run_cli(*argv, extra_env={"PRICEHOUND_SECRET_KEY": PUBLISHED})
    assert result.returncode == 2
    assert "PRICEHOUND_SECRET_KEY" in result.stderr and "token_urlsafe" in result.stderr


def test_web_app_refuses_to_start_with_a_weak_secret(settings):
    from web.app import create_app

    with pytest.raises(ConfigError):
        create_app(settings.with_overrides(secret_key=PUBLISHED))


def test_celery_worker_refuses_to_start_with_the_published_default(env):
    proc = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool=solo", "--queues=none-such",
         "--without-mingle", "--without-gossip", "--loglevel=WARNING"],
        cwd=REPO_ROOT, env={**env, "PRICEHOUND_SECRET_KEY": PUBLISHED}, capture_output=True, text=True,
        timeout=120)
    assert proc.returncode != 0
    assert "PRICEHOUND_SECRET_KEY" in proc.stdout + proc.stderr


def test_compose_requires_the_secret_and_turns_local_stores_off():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    env = compose["x-pricehound"]["environment"]
    assert env["PRICEHOUND_SECRET_KEY"].startswith("${PRICEHOUND_SECRET_KEY:?")
    assert str(env["PRICEHOUND_ALLOW_LOCAL_STORES"]).lower() == "false"
    assert PUBLISHED not in (REPO_ROOT / "docker-compose.yml").read_text()


def test_rotated_out_key_still_verifies_until_removed(tmp_path):
    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    token = tokens.sign("unsubscribe", {"u": 1, "w": None}, old, max_age=3600)
    rotated = Settings.from_env({"PRICEHOUND_SECRET_KEY": new, "PRICEHOUND_SECRET_KEY_OLD": old,
                                 "PRICEHOUND_DATA_DIR": str(tmp_path)})
    assert rotated.signing_secret == new
    assert tokens.verify("unsubscribe", token, rotated.verifying_secrets)["d"] == {"u": 1, "w": None}
    removed = Settings.from_env({"PRICEHOUND_SECRET_KEY": new, "PRICEHOUND_DATA_DIR": str(tmp_path)})
    with pytest.raises(tokens.TokenError):
        tokens.verify("unsubscribe", token, removed.verifying_secrets)
    # a new link is signed with the new key only
    fresh = tokens.sign("unsubscribe", {"u": 1, "w": None}, rotated.signing_secret, max_age=3600)
    with pytest.raises(tokens.TokenError):
        tokens.verify("unsubscribe", fresh, old)


def test_a_weak_old_key_is_refused_too():
    with pytest.raises(ConfigError, match="PRICEHOUND_SECRET_KEY_OLD"):
        Settings.from_env({"PRICEHOUND_SECRET_KEY": secrets.token_urlsafe(48),
                           "PRICEHOUND_SECRET_KEY_OLD": PUBLISHED})
