"""One send rate for the whole cluster, kept in Redis (GCRA in a Lua script).

GCRA stores a single number per limit — the theoretical arrival time of the next allowed send —
and the script updates it atomically with Redis's own clock, so any number of workers on any
number of machines share one schedule and their clocks never matter. Burst tolerance is zero:
sends are spaced at least 1/rate apart, so no one-second window ever holds more than rate (+1
at its edge) sends.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import redis

log = logging.getLogger("pricehound.alerts.ratelimit")

KEY = "pricehound:ses:send-gcra"

# KEYS[1]: the limit's key. ARGV[1]: emission interval in microseconds.
# Returns 0 when the caller may send now, else how many microseconds to wait.
GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now then
  return tat - now
end
local next_tat = math.max(tat, now) + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil(interval / 1000) + 1000)
return 0
"""


class RateLimitTimeout(TimeoutError):
    """Waited too long for a send slot: the caller retries later like any transient error."""


class SendRateLimiter:
    """Blocks until the cluster may send one more email."""

    def __init__(self, client: redis.Redis, rate_per_second: Decimal, key: str = KEY):
        if rate_per_second <= 0:
            raise ValueError("send rate must be positive")
        self.client = client
        self.key = key
        self.interval_us = int(Decimal(1_000_000) / Decimal(rate_per_second))
        self._script = client.register_script(GCRA_LUA)

    def try_acquire(self) -> float:
        """0.0 if a send slot was taken now, else seconds until one may be free."""
        wait_us = int(self._script(keys=[self.key], args=[self.interval_us]))
        return wait_us / 1_000_000

    def acquire(self, timeout: float = 60.0) -> float:
        """Take one send slot, sleeping as needed; returns seconds waited."""
        started = time.monotonic()
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return time.monotonic() - started
            if time.monotonic() - started + wait > timeout:
                raise RateLimitTimeout(f"no SES send slot within {timeout:.0f}s")
            time.sleep(wait)


# KEYS[1]: the limit's key. ARGV[1]: emission interval in microseconds.
# Reserves the next free slot and returns how many microseconds until it (0: now).
RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
redis.call('SET', KEYS[1], string.format('%.0f', start + interval), 'PX', math.ceil((start + interval - now) / 1000) + 1000)
return start - now
"""


class ReservingRateLimiter(SendRateLimiter):
    """The same cluster-wide spacing, one Redis call per send: each caller reserves the next free
    slot and sleeps until it, instead of asking again after every sleep. Threads of one worker
    sending at a high rate otherwise collide on the same slot and spend more round trips waiting
    than sending. A reservation given up (timeout) leaves its slot unused; spacing still holds."""

    def __init__(self, client: redis.Redis, rate_per_second: Decimal, key: str = KEY):
        super().__init__(client, rate_per_second, key)
        self._reserve = client.register_script(RESERVE_LUA)

    def acquire(self, timeout: float = 60.0) -> float:
        wait = int(self._reserve(keys=[self.key], args=[self.interval_us])) / 1_000_000
        if wait > timeout:
            raise RateLimitTimeout(f"no send slot within {timeout:.0f}s")
        if wait > 0:
            time.sleep(wait)
        return wait
