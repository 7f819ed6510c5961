"""Fixtures for the demo store tests: a fresh server per test."""

from __future__ import annotations

import pytest

from demostore import DemoStoreServer, demo_catalogue


@pytest.fixture
def shops():
    with DemoStoreServer(demo_catalogue(faults=False), slow_delay=0.05, timeout_hold=30.0,
                         oversize_bytes=2 * 1024 * 1024) as server:
        yield server
