"""Fixtures for operators' tools: the command line run in this process (faster than a
subprocess per call, same code path from argument parsing to exit code), a local store, users."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

STORE_HOST = "127.0.0.1:8766"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture()
def cli(capsys):
    """`pricehound ARGS...` in this process: (exit code, stdout, stderr). Tests that write ask
    for ``db`` (or ``shop``) too, so the tables are emptied after them."""
    from pricehound.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


@pytest.fixture()
def shop(db):
    """A local store, two users (one with two watches), and their listings."""
    from pricehound import catalog

    with db.begin() as conn:
        store = catalog.add_store(conn, slug="local", name="Local", domains=[STORE_HOST], currency="EUR",
                                  is_local=True)
        catalog.add_store(conn, slug="other", name="Other", domains=["127.0.0.1:8767"], is_local=True)
        catalog.add_user(conn, email="ann@example.com", verified=True)
        catalog.add_user(conn, email="bob@example.com")
        first = catalog.add_watch(conn, email="ann@example.com", url=f"http://{STORE_HOST}/p/1", target_price="9.50")
        second = catalog.add_watch(conn, email="ann@example.com", url=f"http://{STORE_HOST}/p/2")
        third = catalog.add_watch(conn, email="bob@example.com", url="http://127.0.0.1:8767/p/9")
    return store, (first, second, third)
