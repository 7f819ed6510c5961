"""Periodic tasks declare their beat entry beside the task they run.

    @periodic(tasknames.ENSURE_PARTITIONS, every=6 * 3600, soft_time_limit=60)
    def ensure_partitions() -> int: ...

``periodic`` makes the Celery task (explicit name, per-task limits) and adds its entry to
``app.conf.beat_schedule`` when the app's configuration is first read (or at once, if it
already was), so importing a task module never resolves the broker. Beat imports every module in
``celeryconfig.imports`` before it builds its schedule, so the schedule is always exactly the
set of periodic tasks the code defines: no second list in celeryconfig to keep in step.

Each entry expires after one period: a tick that waited in the queue longer than that is
dropped rather than run late, so a backlog never turns into a burst of identical ticks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import signals

from workers import app


@dataclass(frozen=True)
class BeatEntry:
    """One periodic task as beat runs it."""

    task: str
    every: float

    def as_schedule(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "schedule": timedelta(seconds=self.every),
            "options": {"expires": max(self.every, 1.0)},
        }


#: every periodic task defined so far, by task name
ENTRIES: dict[str, BeatEntry] = {}


def periodic(name: str, *, every: float, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Define the Celery task ``name`` from the decorated function and schedule it every
    ``every`` seconds. ``task_options`` go to ``app.task`` (time limits, retries, ...)."""
    if every <= 0:
        raise ValueError(f"{name}: a periodic task needs a positive period, got {every}")

    def register(fn: Callable[..., Any]) -> Any:
        task = app.task(name=name, **task_options)(fn)
        ENTRIES[name] = BeatEntry(task=name, every=float(every))
        if app.configured:
            # reading app.conf before then would resolve the broker (and may start the
            # embedded Redis): a module defining a task must import without side effects
            _install_entries()
        return task

    return register


def _install_entries() -> None:
    """Put every entry defined so far into ``app.conf.beat_schedule`` (replacing earlier ones)."""
    schedule = dict(app.conf.beat_schedule or {})
    schedule.update({name: entry.as_schedule() for name, entry in ENTRIES.items()})
    app.conf.beat_schedule = schedule


@app.on_after_configure.connect
def _install_when_configured(**_: object) -> None:
    """The app reads its configuration the first time something needs it (beat, a worker, a
    publish): the entries of the modules imported until then go in at that moment."""
    _install_entries()


@signals.beat_init.connect
def _make_schedule_dir(**_: object) -> None:
    """Beat keeps its last-run times in the data directory, which may not exist yet."""
    filename = app.conf.beat_schedule_filename
    if filename:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)


__all__ = ["ENTRIES", "BeatEntry", "periodic"]
