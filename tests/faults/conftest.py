"""The fault suite's knobs: ``--fault-rounds N`` (or PRICEHOUND_FAULT_ROUNDS) repeats every
seeded scenario N times with further seeds, for soak runs; CI runs one round."""

from __future__ import annotations

import os
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
def fault_root(tmp_path: Path) -> Path:
    return tmp_path / "pipeline"
