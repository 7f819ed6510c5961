"""Noise under the user's control: quiet hours, a daily cap and a digest schedule.

Every alert row is *judged* once, by the send path, just before it would first be claimed: it
goes out now (``hold = 'now'``), or it is held (``'quiet'``, ``'cap'``, ``'digest'``) with its
``send_after`` moved to when it may go. A held row stays ``pending``; when its time comes the
release task (and, failing that, the outbox sweeper) hands it to the send path, which claims
every due row of that user and channel into one message: the digest. Nothing is dropped (a held
row is an ordinary pending row) and nothing doubles (the claim takes each row once, and the
row's ``digest_key`` fixes the one message it belongs to).

Times are the user's wall clock (``users.time_zone``, an IANA name), from ``pricehound.clock``:

- quiet hours ``quiet_start``-``quiet_end`` (may wrap midnight): what comes due inside them is
  held until they end;
- ``digest``: ``immediate``, or gathered until the next full hour (``hourly``), the next
  ``digest_hour`` (``daily``), or Monday at ``digest_hour`` (``weekly``);
- ``daily_cap``: at most this many alerts told at once per local day; the rest wait for the
  next daily digest time (``digest_hour``).

A digest time that falls inside quiet hours moves to their end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pricehound import clock
from pricehound.catalog import InputError

DIGESTS = ("immediate", "hourly", "daily", "weekly")
HOLDS = ("now", "quiet", "cap", "digest")


@dataclass(frozen=True)
class Prefs:
    """One user's noise settings."""

    time_zone: str = "UTC"
    quiet_start: time | None = None
    quiet_end: time | None = None
    daily_cap: int | None = None
    digest: str = "immediate"
    digest_hour: int = 8

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.time_zone)

    @property
    def plain(self) -> bool:
        """Nothing to hold: every alert goes out at once."""
        return self.digest == "immediate" and self.quiet_start is None and self.daily_cap is None


def zone(name: str) -> ZoneInfo:
    """The IANA zone, or InputError naming what to give."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(f"unknown time zone {name!r}; give an IANA name such as Europe/Berlin or America/New_York") from None


def _at(day: date, hour_minute: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, hour_minute.replace(tzinfo=None), tzinfo=tz)


def in_quiet_hours(local: datetime, prefs: Prefs) -> bool:
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return False
    t = local.time().replace(tzinfo=None)
    start, end = prefs.quiet_start, prefs.quiet_end
    return start <= t < end if start < end else (t >= start or t < end)


def quiet_end_after(local: datetime, prefs: Prefs) -> datetime:
    """The end of the quiet hours ``local`` is in (a local, aware datetime)."""
    assert prefs.quiet_end is not None
    end = _at(local.date(), prefs.quiet_end, local.tzinfo)  # type: ignore[arg-type]
    if end <= local:
        end = _at(local.date() + timedelta(days=1), prefs.quiet_end, local.tzinfo)  # type: ignore[arg-type]
    return end


def next_digest_time(local: datetime, prefs: Prefs, schedule: str | None = None) -> datetime:
    """The next digest moment strictly after ``local`` for ``schedule`` (default the user's)."""
    schedule = schedule or prefs.digest
    tz = local.tzinfo
    if schedule == "hourly":
        top = local.replace(minute=0, second=0, microsecond=0)
        return (top.astimezone(timezone.utc) + timedelta(hours=1)).astimezone(tz)
    at = time(prefs.digest_hour)
    if schedule == "weekly":
        monday = local.date() - timedelta(days=local.weekday())
        candidate = _at(monday, at, tz)  # type: ignore[arg-type]
        return candidate if candidate > local else _at(monday + timedelta(days=7), at, tz)  # type: ignore[arg-type]
    candidate = _at(local.date(), at, tz)  # type: ignore[arg-type]
    return candidate if candidate > local else _at(local.date() + timedelta(days=1), at, tz)  # type: ignore[arg-type]


def local_day_start(now: datetime, prefs: Prefs) -> datetime:
    """Midnight of the user's current day, in UTC (the daily cap's day)."""
    local = now.astimezone(prefs.zone)
    return _at(local.date(), time(0), prefs.zone).astimezone(timezone.utc)


def decide(now: datetime, prefs: Prefs, *, over_cap: bool) -> tuple[str, datetime]:
    """(hold, when) for an alert due at ``now``: 'now' at ``now``, or held until ``when``."""
    local = now.astimezone(prefs.zone)
    if prefs.digest != "immediate":
        hold, when = "digest", next_digest_time(local, prefs)
    elif over_cap:
        hold, when = "cap", next_digest_time(local, prefs, "daily")
    else:
        hold, when = "now", local
    if in_quiet_hours(when, prefs):
        hold, when = ("quiet" if hold == "now" else hold), quiet_end_after(when, prefs)
    return hold, when.astimezone(timezone.utc)


# -- the judging step of the send path --------------------------------------------------------

UNJUDGED_SQL = """
SELECT n.id, n.user_id, n.event_id, n.item_id, u.time_zone, u.quiet_start, u.quiet_end, u.daily_cap,
       u.digest, u.digest_hour
  FROM notifications n JOIN users u ON u.id = n.user_id
 WHERE n.status = 'pending' AND n.hold IS NULL AND n.kind = ANY (CAST(:alert_kinds AS text[]))
   AND n.user_id IN (SELECT user_id FROM notifications WHERE id = ANY (CAST(:ids AS bigint[])))
 ORDER BY n.id
   FOR UPDATE OF n SKIP LOCKED
"""

TOLD_TODAY_SQL = """
SELECT n.user_id, count(DISTINCT (n.event_id, n.item_id)) AS told
  FROM notifications n
  JOIN unnest(CAST(:users AS bigint[]), CAST(:since AS timestamptz[])) AS d(user_id, since) ON d.user_id = n.user_id
 WHERE n.hold = 'now' AND n.judged_at >= d.since
 GROUP BY n.user_id
"""

APPLY_SQL = """
UPDATE notifications n
   SET hold = v.hold, judged_at = pricehound_now(),
       send_after = CASE WHEN v.hold = 'now' THEN n.send_after ELSE v.release END,
       updated_at = pricehound_now()
  FROM unnest(CAST(:ids AS bigint[]), CAST(:holds AS text[]), CAST(:releases AS timestamptz[])) AS v(id, hold, release)
 WHERE n.id = v.id
"""


@dataclass
class Judged:
    now: list[int]
    held: list[int]


def judge(conn: Connection, ids: Sequence[int], alert_kinds: Sequence[str]) -> Judged:
    """Judge the unjudged alert rows of the users these ids belong to, in the caller's
    transaction: three statements whatever the number of rows. Users' rows are serialised by a
    lock on their ``users`` rows, so two workers never both spend the last of a daily cap."""
    rows = conn.execute(sa.text(UNJUDGED_SQL), {"ids": list(ids), "alert_kinds": list(alert_kinds)}).mappings().all()
    if not rows:
        return Judged([], [])
    now = clock.now()
    prefs: dict[int, Prefs] = {}
    for r in rows:
        prefs.setdefault(int(r["user_id"]), Prefs(r["time_zone"] or "UTC", r["quiet_start"], r["quiet_end"],
                                                   r["daily_cap"], r["digest"], int(r["digest_hour"])))
    capped = sorted(u for u, p in prefs.items() if p.daily_cap is not None)
    told: dict[int, int] = {}
    if capped:
        conn.execute(sa.text("SELECT id FROM users WHERE id = ANY (CAST(:u AS bigint[])) ORDER BY id FOR NO KEY UPDATE"),
                     {"u": capped})
        told = {int(r.user_id): int(r.told) for r in conn.execute(sa.text(TOLD_TODAY_SQL), {
            "users": capped, "since": [local_day_start(now, prefs[u]) for u in capped]})}
    decided: dict[tuple[int, int | None, int | None], tuple[str, datetime]] = {}
    out_ids, holds, releases = [], [], []
    for r in rows:
        user = int(r["user_id"])
        p = prefs[user]
        key = (user, r["event_id"], r["item_id"])  # one alert: the same decision on every channel
        if key not in decided:
            if p.plain:
                decided[key] = ("now", now)
            else:
                over = p.daily_cap is not None and told.get(user, 0) >= p.daily_cap
                decided[key] = decide(now, p, over_cap=over)
                if decided[key][0] == "now":
                    told[user] = told.get(user, 0) + 1
        hold, when = decided[key]
        out_ids.append(int(r["id"]))
        holds.append(hold)
        releases.append(when)
    conn.execute(sa.text(APPLY_SQL), {"ids": out_ids, "holds": holds, "releases": releases})
    return Judged([i for i, h in zip(out_ids, holds, strict=True) if h == "now"],
                  [i for i, h in zip(out_ids, holds, strict=True) if h != "now"])


def due_held_ids(conn: Connection, limit: int = 10000) -> list[tuple[int, int]]:
    """(id, user_id) of held rows whose time has come, grouped by user (for the release task)."""
    return [(int(r.id), int(r.user_id)) for r in conn.execute(sa.text(
        """
        SELECT id, user_id FROM notifications
         WHERE status = 'pending' AND hold IN ('quiet', 'cap', 'digest') AND send_after <= pricehound_now()
         ORDER BY user_id, id LIMIT :limit
        """), {"limit": int(limit)})]


def set_prefs(conn: Connection, user_id: int, *, time_zone: str | None = None, quiet: str | None = None,
              daily_cap: int | None | str = "keep", digest: str | None = None, digest_hour: int | None = None) -> Prefs:
    """Change a user's noise settings (only what is given); ``quiet`` is 'HH:MM-HH:MM' or 'off',
    ``daily_cap`` a number or None (no cap). Rows already held keep their time."""
    changes: dict[str, object] = {}
    if time_zone is not None:
        zone(time_zone)
        changes["time_zone"] = time_zone
    if quiet is not None:
        changes["quiet_start"], changes["quiet_end"] = parse_quiet(quiet)
    if daily_cap != "keep":
        if daily_cap is not None and not (isinstance(daily_cap, int) and 1 <= daily_cap <= 1000):
            raise InputError("a daily cap is a whole number from 1 to 1000 (or none)")
        changes["daily_cap"] = daily_cap
    if digest is not None:
        if digest not in DIGESTS:
            raise InputError(f"digest must be one of {', '.join(DIGESTS)}, got {digest!r}")
        changes["digest"] = digest
    if digest_hour is not None:
        if not (isinstance(digest_hour, int) and 0 <= digest_hour <= 23):
            raise InputError("the digest hour is a whole hour from 0 to 23")
        changes["digest_hour"] = digest_hour
    if changes:
        sets = ", ".join(f"{k} = :{k}" for k in changes)
        row = conn.execute(sa.text(f"UPDATE users SET {sets} WHERE id = :id RETURNING id"),  # noqa: S608 - fixed names
                           {**changes, "id": int(user_id)}).one_or_none()
        if row is None:
            raise InputError(f"no user {user_id}")
    return get_prefs(conn, user_id)


def get_prefs(conn: Connection, user_id: int) -> Prefs:
    r = conn.execute(sa.text("SELECT time_zone, quiet_start, quiet_end, daily_cap, digest, digest_hour FROM users "
                             "WHERE id = :id"), {"id": int(user_id)}).one_or_none()
    if r is None:
        raise InputError(f"no user {user_id}")
    return Prefs(r.time_zone, r.quiet_start, r.quiet_end, r.daily_cap, r.digest, int(r.digest_hour))


def parse_quiet(text: str) -> tuple[time | None, time | None]:
    """'22:00-07:00' -> (22:00, 07:00); 'off' or '' -> (None, None)."""
    value = (text or "").strip().lower()
    if value in ("", "off", "none"):
        return None, None
    start_text, sep, end_text = value.partition("-")
    try:
        if not sep:
            raise ValueError
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise InputError(f"quiet hours look like 22:00-07:00 (or off), got {text!r}") from None
    if start == end:
        raise InputError("quiet hours must start and end at different times")
    return start, end


def describe(prefs: Prefs) -> dict[str, object]:
    return {"time_zone": prefs.time_zone,
            "quiet_hours": (f"{prefs.quiet_start:%H:%M}-{prefs.quiet_end:%H:%M}"
                            if prefs.quiet_start is not None and prefs.quiet_end is not None else None),
            "daily_cap": prefs.daily_cap, "digest": prefs.digest, "digest_hour": prefs.digest_hour}
