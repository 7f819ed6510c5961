"""Every decision in spiders/ reads as a short named rule: no function ranks D or worse in
cyclomatic complexity (radon cc -n D spiders/)."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_rank, cc_visit

SPIDERS = Path(__file__).resolve().parents[2] / "spiders"


def _ranked_d_or_worse() -> set[str]:
    found = set()
    for path in sorted(SPIDERS.rglob("*.py")):
        for block in cc_visit(path.read_text(encoding="utf-8")):
            if cc_rank(block.complexity) >= "D":
                found.add(f"{path.relative_to(SPIDERS).as_posix()}:{block.name}")
    return found


def test_no_function_in_spiders_ranks_d_or_worse():
    assert not _ranked_d_or_worse(), sorted(_ranked_d_or_worse())
