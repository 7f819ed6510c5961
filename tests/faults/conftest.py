"""The fault suite's knobs: ``--fault-rounds N`` (or PRICEHOUND_FAULT_ROUNDS) repeats every
seeded scenario N times with further seeds, for soak runs; CI runs one round."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fault-rounds", type=int, default=None,
                     help="seeds per fault scenario (default PRICEHOUND_FAULT_ROUNDS or 1)")


def pytest_configure(config: pytest.Config) -> None:
    rounds = config.getoption("--fault-rounds", default=None)
    if rounds:
        os.environ["PRICEHOUND_FAULT_ROUNDS"] = str(rounds)


@pytest.fixture()
def fault_root() -> Iterator[Path]:
    """A scratch directory of the scenario's own, outside pytest's numbered temp directories:
    concurrent pytest sessions of the same user prune those, and a PostgreSQL cluster whose
    data directory vanishes mid-scenario is not a fault under test."""
    root = Path(tempfile.mkdtemp(prefix="pricehound-faults-"))
    yield root / "pipeline"
    if not os.environ.get("PRICEHOUND_FAULT_KEEP"):
        shutil.rmtree(root, ignore_errors=True)
