"""Configuration: defaults that work with nothing set, clear errors for bad values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pricehound.config import VARIABLES, ConfigError, Settings


def test_defaults_work_with_an_empty_environment(tmp_path):
    s = Settings.from_env({"HOME": str(tmp_path)})
    assert s.database_url is None and s.uses_embedded_postgres
    assert s.download_delay == 1.0 and s.removed_after == 2
    assert "pricehound/" in s.crawler_user_agent and s.contact_url in s.crawler_user_agent


def test_values_are_typed():
    s = Settings.from_env({"PRICEHOUND_DOWNLOAD_DELAY": "0.5", "PRICEHOUND_SES_MAX_SEND_RATE": "14",
                           "PRICEHOUND_DATA_DIR": "/tmp/x", "PRICEHOUND_ALLOW_LOCAL_STORES": "no"})
    assert s.download_delay == 0.5 and s.ses_max_send_rate == Decimal("14")
    assert s.data_dir == Path("/tmp/x") and s.allow_local_stores is False


def test_bad_value_names_the_variable():
    with pytest.raises(ConfigError, match="PRICEHOUND_REMOVED_AFTER"):
        Settings.from_env({"PRICEHOUND_REMOVED_AFTER": "zero"})


def test_aws_region_is_the_fallback_for_ses_region():
    assert Settings.from_env({"AWS_REGION": "eu-west-1"}).ses_region == "eu-west-1"


def test_generated_secret_is_stable_across_processes(tmp_path):
    a = Settings(data_dir=tmp_path).signing_secret
    assert len(a) >= 32 and (tmp_path / "secret_key").read_text() == a
    assert Settings(data_dir=tmp_path).signing_secret == a


def test_every_variable_is_in_the_readme():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [v.env for v in VARIABLES if f"`{v.env}`" not in readme]
    assert missing == []
