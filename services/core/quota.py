"""Rolling quotas on Redis: at most `limit` actions per subject in any `window` (mail that strangers
could make the product send: invitations, sign-up links).

Unlike services.core.throttle (growing delays after *failures*), every action counts, successful or
not, and the answer to one too many is `RateLimited(retry_after)`: the seconds until the oldest
counted action leaves the window. Which quotas apply to what is decided by the domains
(services.people.quotas, services.identity.signup); this module only counts.

How it is stored
- One Redis sorted set per (quota, subject); each action is a member scored with its time (ms of
  `services.core.clock.now()`, so tests move the clock instead of sleeping). The key's TTL (the
  window, in real time) only collects garbage.
- Keys hold an HMAC of the subject (keyed with SECRET_KEY), never an email or an id in clear.
- Checking every quota and counting the action is one Lua script: all pass and all count, or
  nothing counts, and concurrent requests cannot both take the last slot.
- `spend` is a context manager: when the block raises (the mail could not be sent, the transaction
  failed) the action is taken back, so only mail that went out uses the quota.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import redis

from services.core import clock
from services.core.errors import RateLimited, ServiceUnavailable
from services.core.redis_client import delete_prefixed, get_redis, hashed_key, run_script

log = logging.getLogger(__name__)

KEY_PREFIX = "wd:quota:"
GC_SLACK_MS = 60_000  # keys outlive their window by a minute (clock skew between app servers)


@dataclass(frozen=True)
class Quota:
    name: str
    limit: int
    window: timedelta


# KEYS: one sorted set per quota. ARGV[1]: now (ms); ARGV[2]: this action's member; then per key:
# limit, window (ms); last: GC slack (ms). Returns 0 after counting the action on every key, or the
# ms until the fullest key has room again (nothing counted).
_SPEND = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if used >= limit then
    -- room again when the action `used - limit` places from the oldest leaves the window
    local frees = redis.call('ZRANGE', key, used - limit, used - limit, 'WITHSCORES')
    local w = math.min(tonumber(frees[2]) + window - now, window)
    if w > wait then wait = w end
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]) + tonumber(ARGV[#ARGV]))
end
return 0
"""


def quota_key(quota: Quota, subject: str) -> str:
    return hashed_key(KEY_PREFIX, quota.name, subject)


def _window_ms(quota: Quota) -> int:
    return int(quota.window.total_seconds() * 1000)


@contextmanager
def spend(*checks: tuple[Quota, str]) -> Iterator[None]:
    """Count one action against every (quota, subject) or raise RateLimited (nothing counted);
    the action is taken back when the block raises."""
    keys = [quota_key(quota, subject) for quota, subject in checks]
    now_ms = int(clock.now().timestamp() * 1000)
    member = f"{now_ms}:{secrets.token_hex(8)}"
    args: list[str | int] = [now_ms, member]
    for quota, _ in checks:
        args += [quota.limit, _window_ms(quota)]
    args.append(GC_SLACK_MS)
    wait_ms = run_script(_SPEND, keys, args)
    if not isinstance(wait_ms, int):
        raise ServiceUnavailable("error.unavailable")
    if wait_ms > 0:
        log.info("quota full: %s (%s ms)", ",".join(quota.name for quota, _ in checks), wait_ms)
        raise RateLimited(math.ceil(wait_ms / 1000))
    try:
        yield
    except BaseException:
        _take_back(keys, member)
        raise


def _take_back(keys: Sequence[str], member: str) -> None:
    try:
        pipe = get_redis().pipeline(transaction=True)
        for key in keys:
            pipe.zrem(key, member)
        pipe.execute()
    except redis.RedisError as exc:  # the caller's own error matters more; the action just stays counted
        log.warning("quota: could not take an action back: %s", exc)


def used(quota: Quota, subject: str) -> int:
    """Actions counted for the subject in the current window."""
    now_ms = int(clock.now().timestamp() * 1000)
    try:
        return int(get_redis().zcount(quota_key(quota, subject), f"({now_ms - _window_ms(quota)}", "+inf"))
    except redis.RedisError as exc:
        raise ServiceUnavailable("error.unavailable") from exc


def clear_all() -> int:
    """Remove every quota key (tests, or an operator after an incident). Returns how many."""
    return delete_prefixed(KEY_PREFIX)
