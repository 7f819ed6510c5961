"""One mechanism for each kind of glue: task names in one module, one beat declaration, one
retry policy."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from pricehound import tasknames

REPO = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("pricehound", "workers", "alerts", "pipelines", "spiders", "web") for p in (REPO / d).rglob("*.py")]
SOURCES.append(REPO / "celeryconfig.py")
NAME = re.compile(r"""(?<!getLogger\()["']pricehound\.(?:schedule|crawl|alerts|email|maintenance)\.[a-z_]+["']""")
NAMES = {v for k, v in vars(tasknames).items() if k.isupper()}


def test_task_names_are_written_only_in_tasknames():
    spelled = [f"{p.relative_to(REPO)}: {m.group()}" for p in SOURCES if p.name != "tasknames.py"
               for m in NAME.finditer(p.read_text())]
    assert spelled == []


def test_every_named_task_exists_and_retries_by_the_one_policy():
    import alerts.tasks  # noqa: F401 - the modules that define tasks
    import workers.crawl  # noqa: F401
    import workers.maintenance  # noqa: F401
    import workers.schedule  # noqa: F401
    from workers import app
    from workers.retry import TRANSIENT_ERRORS

    for name in NAMES:
        task = app.tasks[name]
        assert tuple(task.autoretry_for) == TRANSIENT_ERRORS, name
        assert task.retry_jitter and task.retry_backoff == 2, name


def test_every_periodic_task_is_declared_by_periodic_alone():
    from workers import app
    from workers.beat import ENTRIES

    beat = app.conf.beat_schedule
    assert set(beat) == set(ENTRIES), "a beat entry made outside workers.beat.periodic"
    assert {tasknames.SWEEP_EVENTS, tasknames.SWEEP_OUTBOX, tasknames.POLL_SES_EVENTS} <= set(ENTRIES)


def test_work_enqueued_inside_a_transaction_leaves_only_after_it_commits(db, monkeypatch):
    import pytest

    from alerts import outbox
    from pricehound.db import transaction
    from workers import app

    sent: list[tuple] = []
    monkeypatch.setattr(app, "send_task", lambda name, args=None, **kw: sent.append((name, args)))

    with transaction(db) as conn:
        conn.execute(sa.text("SELECT 1"))
        outbox.enqueue_send([1, 2])
        assert sent == []  # not while the rows may still be invisible or rolled back
    assert sent == [(tasknames.SEND_NOTIFICATIONS, [[1, 2]])]

    sent.clear()
    with pytest.raises(RuntimeError), transaction(db):
        outbox.enqueue_send([3])
        raise RuntimeError("rolled back")
    assert sent == []

    outbox.enqueue_send([4])  # outside a transaction: what it names was committed already
    assert sent == [(tasknames.SEND_NOTIFICATIONS, [[4]])]
    assert all(hasattr(t, "enqueue") for n, t in app.tasks.items() if n in NAMES)
