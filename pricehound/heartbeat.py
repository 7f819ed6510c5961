"""Beat's heartbeat: the one process that schedules everything says it is alive.

Beat writes the time on pricehound's clock into a Redis key on every tick of its loop
(workers/heartbeat.py); `pricehound beat health` and the metrics read how old it is. Redis, not
PostgreSQL: beat needs Redis for every tick it publishes, so a beat that cannot write the key
cannot do its work either, while a database outage (which the tasks report themselves) does not
make a healthy beat look dead and get it restarted.
"""

from __future__ import annotations

from typing import Any

from pricehound import clock

KEY = "pricehound:beat:heartbeat"
#: the key outlives any sensible health threshold, then disappears (a beat gone for a day reads "never")
KEY_TTL_SECONDS = 86400


def beat(client: Any, *, where: str = "") -> None:
    """Record that beat is alive now."""
    client.set(KEY, f"{clock.now().timestamp():.3f} {where}".strip(), ex=KEY_TTL_SECONDS)


def age(client: Any) -> float | None:
    """Seconds since the last heartbeat, or None when there is none."""
    raw = client.get(KEY)
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        at = float(text.split(" ", 1)[0])
    except ValueError:
        return None
    return max(0.0, clock.now().timestamp() - at)


def default_max_age(beat_interval: float) -> float:
    """How old a heartbeat may be before beat counts as down: several dispatch ticks, at least a minute."""
    return max(60.0, 6 * beat_interval)
