"""One clock for every "now" that decides something.

Scheduling, cool-downs, alert windows, confirmation, token expiry and retention all ask this
module (in Python) or ``pricehound_now()`` (in SQL) for the time, never ``datetime.now()`` or
``now()`` directly. Production runs on real time. Tests, the demo and the freshness simulation
move time without rewriting a single timestamp:

    PRICEHOUND_CLOCK=real                      real time (the default)
    PRICEHOUND_CLOCK=offset:10800              real time plus three hours (seconds, may be negative)
    PRICEHOUND_CLOCK=fixed:2027-01-31T23:59:00+00:00   time stands still at that instant

In-process, :func:`set_clock` (or the :func:`frozen` / :func:`shifted` context managers) changes
it and exports the spec to ``os.environ`` so crawl subprocesses and workers started afterwards
follow the same clock.

How SQL sees it: the database function ``pricehound_now()`` returns ``now()`` unless the session
setting ``pricehound.clock`` holds a spec in the same syntax. :func:`install` adds a pool
checkout hook to an engine that sets (or resets) that setting only when the connection's value
differs from the process's clock, so on real time no statement is ever added.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

ENV = "PRICEHOUND_CLOCK"
SQL_SETTING = "pricehound.clock"
REAL = "real"


class ClockError(ValueError):
    """A clock spec that cannot be read."""


@dataclass(frozen=True)
class Clock:
    """Real time, real time shifted by an offset, or one fixed instant (always timezone-aware)."""

    offset: timedelta = timedelta(0)
    fixed: datetime | None = None

    @property
    def is_real(self) -> bool:
        return self.fixed is None and not self.offset

    def now(self) -> datetime:
        if self.fixed is not None:
            return self.fixed
        return datetime.now(timezone.utc) + self.offset

    def spec(self) -> str:
        """The spec string that reproduces this clock (what SQL sessions and children receive)."""
        if self.fixed is not None:
            return f"fixed:{self.fixed.isoformat()}"
        if self.offset:
            return f"offset:{self.offset.total_seconds():g}"
        return REAL

    def describe(self) -> str:
        """A line for status output and startup logs."""
        if self.fixed is not None:
            return f"fixed at {self.fixed.isoformat()} (not real time)"
        if self.offset:
            return f"real time {'+' if self.offset > timedelta(0) else '-'}{abs(self.offset)} (not real time)"
        return "real time"


def parse(spec: str | None) -> Clock:
    """Read ``real``, ``offset:SECONDS`` or ``fixed:ISO-8601``; an instant without a zone is UTC."""
    text = (spec or "").strip()
    if text in ("", REAL):
        return Clock()
    kind, _, value = text.partition(":")
    if kind == "offset":
        try:
            return Clock(offset=timedelta(seconds=float(value)))
        except ValueError as exc:
            raise ClockError(f"{ENV}={spec!r}: offset must be a number of seconds") from exc
    if kind == "fixed":
        try:
            when = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ClockError(f"{ENV}={spec!r}: fixed needs an ISO 8601 instant, "
                             "e.g. fixed:2027-01-31T23:59:00+00:00") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return Clock(fixed=when)
    raise ClockError(f"{ENV}={spec!r}: expected real, offset:SECONDS or fixed:ISO-8601")


_current: Clock | None = None


def current() -> Clock:
    """The process's clock: set in-process, else read once from PRICEHOUND_CLOCK."""
    global _current
    if _current is None:
        _current = parse(os.environ.get(ENV))
    return _current


def now() -> datetime:
    """The time every decision uses (aware, UTC unless fixed in another zone)."""
    return current().now()


def timestamp() -> float:
    """:func:`now` as POSIX seconds (token expiry, day buckets)."""
    return now().timestamp()


def set_clock(clock: Clock | str) -> Clock:
    """Make ``clock`` this process's clock, and its children's (the spec goes to the environment).

    Returns the clock it replaced, so a caller can put it back.
    """
    global _current
    previous = current()
    _current = parse(clock) if isinstance(clock, str) else clock
    if _current.is_real:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = _current.spec()
    return previous


@contextmanager
def frozen(at: datetime) -> Iterator[Clock]:
    """Stand time still at ``at`` for the block (tests)."""
    clock = Clock(fixed=at if at.tzinfo else at.replace(tzinfo=timezone.utc))
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


@contextmanager
def shifted(by: timedelta) -> Iterator[Clock]:
    """Run the block with the clock moved by ``by`` on top of the current clock (tests)."""
    base = current()
    clock = Clock(fixed=base.fixed + by) if base.fixed is not None else Clock(offset=base.offset + by)
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def advance(by: timedelta) -> Clock:
    """Move the clock forward by ``by`` and keep it there (a fixed clock stays fixed)."""
    base = current()
    clock = Clock(fixed=base.fixed + by) if base.fixed is not None else Clock(offset=base.offset + by)
    set_clock(clock)
    return clock


# ----------------------------------------------------------------- SQL sessions

_INFO_KEY = "pricehound_clock"


def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Bring the connection's ``pricehound.clock`` setting in line with the process's clock."""
    wanted = current().spec()
    if record.info.get(_INFO_KEY, REAL) == wanted:
        return
    with dbapi_conn.cursor() as cur:
        # set_config(..., false): session-wide, survives the transaction, reset by RESET ALL.
        cur.execute("SELECT set_config(%s, %s, false)", (SQL_SETTING, "" if wanted == REAL else wanted))
    if not getattr(dbapi_conn, "autocommit", True):
        dbapi_conn.commit()
    record.info[_INFO_KEY] = wanted


def install(engine: Any) -> None:
    """Have ``engine``'s connections carry the process's clock to ``pricehound_now()``."""
    from sqlalchemy import event

    if not event.contains(engine, "checkout", _on_checkout):
        event.listen(engine, "checkout", _on_checkout)
