"""The command line refuses control characters and out-of-range ids with exit 2, writing nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from pricehound import catalog
from pricehound.cli import main
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("argv", [
    ["users", "add", "--email", "ann@example.com", "--name", "A\x01nn"],
    ["users", "add", "--email", "ann\x1b@example.com"],
    ["watch", "add", "--email", "ann@example.com", "--url", "http://127.0.0.1:8765/p/1", "--list", "L\x7f"],
    ["stores", "add", "--slug", "s", "--name", "Shop\u2028x", "--domains", "shop.example"],
])
def test_control_characters_in_arguments_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "control character" in capsys.readouterr().err


def test_nothing_is_written_for_a_control_character(db):
    with db.begin() as conn:
        with pytest.raises(catalog.InputError):
            catalog.add_user(conn, email="ann@example.com", name="A\x00nn")
    with db.begin() as conn:
        for bad in ("ann\x00@example.com", "ann@exam\x00ple.com"):
            with pytest.raises(catalog.InputError):
                catalog.add_user(conn, email=bad)
        catalog.add_user(conn, email="ann@example.com")
        uid = conn.execute(sa.text("SELECT id FROM users")).scalar_one()
        with pytest.raises(catalog.InputError):
            catalog.ensure_list(conn, uid, "Gifts\x00")
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM shopping_lists")).scalar_one() == 0


@pytest.mark.parametrize("run_id", ["9223372036854775808", "0", "-5", "x"])
def test_crawl_run_ids_out_of_range_exit_2(env, run_id):
    proc = subprocess.run([sys.executable, "-m", "spiders.run", "--", run_id], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("raw", ["9223372036854775808", "0", "-1", "1e3", ""])
def test_parse_id_refuses_what_bigint_cannot_hold(raw):
    with pytest.raises(catalog.InputError):
        catalog.parse_id(raw)
    assert catalog.parse_id("9223372036854775807") == 2**63 - 1
