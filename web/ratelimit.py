"""Rate limits shared by every web process through Redis (GCRA, one atomic script per hit).

GCRA keeps one timestamp per key (the "theoretical arrival time"), so a limit costs one small
Redis key whatever its rate, and the script reads Redis's own clock so web nodes with skewed
clocks still agree. Subjects (addresses, client IPs, key prefixes) are hashed before they
become key names, so Redis never holds an address in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis

KEY_PREFIX = "pricehound:ratelimit:"

# KEYS[1]: the bucket. ARGV[1]: emission interval (ms), ARGV[2]: burst tolerance (ms).
# Returns {allowed (0/1), retry_after_ms}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, 0}
"""


@dataclass(frozen=True)
class Limit:
    """At most ``count`` hits per ``period`` seconds, all of which may come at once."""

    name: str
    count: int
    period: float


@dataclass(frozen=True)
class RateLimits:
    """The limits the service enforces; tests and deployments may pass their own."""

    # anything that sends an email (sign-up, sign-in): per client address and per recipient
    email_per_client: Limit = Limit("email-client", 10, 600)
    email_per_address: Limit = Limit("email-address", 5, 3600)
    # partner sites creating watches, per API key
    partner_per_key: Limit = Limit("partner-key", 600, 60)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until the next hit would be allowed


class RateLimiter:
    """Counts hits against limits in Redis; every process sharing the Redis shares the counts."""

    def __init__(self, client: redis.Redis) -> None:
        self._script = client.register_script(_GCRA)

    def hit(self, limit: Limit, subject: str) -> Decision:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        interval_ms = max(1, int(limit.period * 1000 / limit.count))
        tolerance_ms = interval_ms * limit.count
        allowed, retry_ms = self._script(keys=[f"{KEY_PREFIX}{limit.name}:{digest}"],
                                         args=[interval_ms, tolerance_ms])
        return Decision(bool(int(allowed)), int(retry_ms) / 1000.0)
