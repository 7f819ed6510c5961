from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REALPAGES = Path(__file__).resolve().parents[2].parent / "shared" / "realpages"


@pytest.fixture
def page():
    def load(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    return load
