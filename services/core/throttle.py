"""Attempt throttling on Redis: growing delays after repeated failures, never a permanent lockout.

A *limit* (say "login per account") counts failed attempts per *subject* (a normalised email, an
IP address). The first `free_attempts` failures cost nothing; after that every further attempt
must wait `2 ** (failures - free_attempts)` seconds after the previous one, capped at `max_delay`.
An attempt made during the wait is refused with `RateLimited(retry_after)` and does not count,
so the delay never grows without failures. The failures are forgotten `window` after the wait
that followed the last one is over, so a locked subject always unlocks by itself.

How it is stored
- One Redis hash per (limit, subject): `count` (failures) and `last` (time of the last counted
  attempt, in milliseconds of `services.core.clock.now()`). Delays are computed from these stored
  timestamps, not from Redis TTLs, so tests can move `services.core.clock.now` instead of sleeping.
  The TTL set on each key (the same lifetime, in real time) only collects garbage.
- Keys hold an HMAC of the subject (keyed with SECRET_KEY), never an email or an IP in clear.
- Every read-modify-write is one Lua script, so concurrent requests cannot race past a delay.

Attempts are counted *before* the password is checked (`begin`), and refunded afterwards when
they turn out not to be failures (`settle`). Counting afterwards would let a burst of parallel
requests all pass the check before the first failure is recorded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

from services.core import clock
from services.core.errors import RateLimited, ServiceUnavailable
from services.core.redis_client import delete_prefixed, get_redis, hashed_key, run_script

log = logging.getLogger(__name__)

KEY_PREFIX = "wd:throttle:"
GC_SLACK_MS = 60_000  # keys outlive their logical lifetime by a minute (clock skew between app servers)


@dataclass(frozen=True)
class Limit:
    name: str
    free_attempts: int
    window: timedelta  # failures are forgotten this long after the wait following the last one
    max_delay: timedelta

    def delay_seconds(self, failures: int) -> float:
        """How long an attempt must wait after the previous one, given the failures so far."""
        if failures < self.free_attempts:
            return 0.0
        exponent = failures - self.free_attempts
        cap = self.max_delay.total_seconds()
        return cap if exponent >= 64 else min(float(2**exponent), cap)


# 5 free failures per account and 20 per IP address; then 1 s, 2 s, 4 s ... up to 15 minutes.
LOGIN_ACCOUNT = Limit("login-account", free_attempts=5, window=timedelta(minutes=15), max_delay=timedelta(minutes=15))
# A browser that signed in to the account before (OWASP's device cookie) is counted on its own key
# instead of the account's: strangers' failures cannot keep the account's owner out.
LOGIN_DEVICE = Limit("login-device", free_attempts=5, window=timedelta(minutes=15), max_delay=timedelta(minutes=15))
LOGIN_IP = Limit("login-ip", free_attempts=20, window=timedelta(minutes=15), max_delay=timedelta(minutes=15))
# Second-step codes (two-factor) per account: like passwords, 5 free failures, then growing delays.
TWO_FACTOR_ACCOUNT = Limit(
    "two-factor-account", free_attempts=5, window=timedelta(minutes=15), max_delay=timedelta(minutes=15)
)
# Sign-ups per IP address (every attempt counts): 10 free per hour, then growing delays up to an hour.
SIGNUP_IP = Limit("signup-ip", free_attempts=10, window=timedelta(hours=1), max_delay=timedelta(hours=1))
# "Forgot password?" requests per IP address (every request counts, known address or not), and opened
# reset links that were dead (unknown, used, expired) per IP: 10 free per hour, then growing delays.
RESET_REQUEST_IP = Limit("reset-request-ip", free_attempts=10, window=timedelta(hours=1), max_delay=timedelta(hours=1))
RESET_LINK_IP = Limit("reset-link-ip", free_attempts=10, window=timedelta(hours=1), max_delay=timedelta(hours=1))


@dataclass(frozen=True)
class Claim:
    """The attempts `begin` counted, with what is needed to take them back."""

    keys: tuple[str, ...]
    previous_last: tuple[str, ...]  # each key's `last` before this attempt ("" when it had none)
    stamp: str  # this attempt's time (ms), as stored in `last`

    def key_for(self, limit: Limit, subject: str) -> str | None:
        key = throttle_key(limit, subject)
        return key if key in self.keys else None


# KEYS: one per limit. ARGV[1]: now (ms); then per key: free attempts, window (ms), max delay (ms).
# Returns {seconds to wait} when any key is in its delay (nothing changes), otherwise
# {0, previous last of key 1, ...} after counting the attempt on every key.
_BEGIN = """
local now = tonumber(ARGV[1])
local function delay(count, free, cap)
  if count < free then return 0 end
  local exponent = count - free
  if exponent >= 64 then return cap end
  return math.min((2 ^ exponent) * 1000, cap)
end
local wait = 0
local counts, previous = {}, {}
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[2 + (i - 1) * 3])
  local window = tonumber(ARGV[3 + (i - 1) * 3])
  local cap = tonumber(ARGV[4 + (i - 1) * 3])
  local state = redis.call('HMGET', key, 'count', 'last')
  local count = tonumber(state[1]) or 0
  local last = tonumber(state[2])
  local d = delay(count, free, cap)
  if last == nil or now >= last + d + window then
    count = 0
    previous[i] = ''
  else
    previous[i] = state[2]
    -- never longer than the delay itself, even if another server's clock ran ahead
    local w = math.min(last + d - now, d)
    if w > wait then wait = w end
  end
  counts[i] = count
end
if wait > 0 then
  return {math.ceil(wait / 1000)}
end
local result = {0}
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[2 + (i - 1) * 3])
  local window = tonumber(ARGV[3 + (i - 1) * 3])
  local cap = tonumber(ARGV[4 + (i - 1) * 3])
  local count = counts[i] + 1
  redis.call('HSET', key, 'count', count, 'last', ARGV[1])
  redis.call('PEXPIRE', key, math.ceil(delay(count, free, cap) + window) + tonumber(ARGV[#ARGV]))
  result[i + 1] = previous[i]
end
return result
"""

# KEYS: keys to settle. ARGV[1]: the claim's stamp; then per key: mode ('clear' or 'refund'),
# that key's previous `last`. 'clear' forgets the key; 'refund' takes back one counted attempt.
_SETTLE = """
for i, key in ipairs(KEYS) do
  local mode = ARGV[2 + (i - 1) * 2]
  local previous = ARGV[3 + (i - 1) * 2]
  if mode == 'clear' then
    redis.call('DEL', key)
  else
    local state = redis.call('HMGET', key, 'count', 'last')
    local count = (tonumber(state[1]) or 0) - 1
    if count <= 0 then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'count', count)
      if state[2] == ARGV[1] and previous ~= '' then
        redis.call('HSET', key, 'last', previous)
      end
    end
  end
end
return #KEYS
"""


def throttle_key(limit: Limit, subject: str) -> str:
    return hashed_key(KEY_PREFIX, limit.name, subject)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def begin(*checks: tuple[Limit, str]) -> Claim:
    """Count one attempt against every (limit, subject), atomically, or raise RateLimited.

    Subjects that are empty are skipped (an unknown IP address is not a shared bucket). When any
    subject is in its delay nothing is counted and RateLimited carries the longest wait.
    """
    wanted = [(limit, subject) for limit, subject in checks if subject]
    keys = [throttle_key(limit, subject) for limit, subject in wanted]
    stamp = str(_ms(clock.now()))
    if not keys:
        return Claim(keys=(), previous_last=(), stamp=stamp)
    args: list[str | int] = [stamp]
    for limit, _ in wanted:
        args += [
            limit.free_attempts,
            _ms_of(limit.window),
            _ms_of(limit.max_delay),
        ]
    args.append(GC_SLACK_MS)
    result = run_script(_BEGIN, keys, args)
    if not isinstance(result, list) or not result:
        raise ServiceUnavailable("error.unavailable")
    wait = int(result[0])
    if wait > 0:
        log.info("throttled: %s must wait %s s", ",".join(limit.name for limit, _ in wanted), wait)
        raise RateLimited(wait)
    return Claim(keys=tuple(keys), previous_last=tuple(str(p) for p in result[1:]), stamp=stamp)


def settle(claim: Claim, *, clear: Iterable[str] = (), refund: Iterable[str] = ()) -> None:
    """Forget the keys in `clear` entirely and take back this claim's attempt on the keys in `refund`."""
    modes: dict[str, str] = {key: "refund" for key in refund if key in claim.keys}
    modes.update({key: "clear" for key in clear if key in claim.keys})
    if not modes:
        return
    keys = list(modes)
    args: list[str | int] = [claim.stamp]
    for key in keys:
        args += [modes[key], claim.previous_last[claim.keys.index(key)]]
    run_script(_SETTLE, keys, args)


def refund_all(claim: Claim) -> None:
    """The attempt was not a failure (an unexpected error, say): count it nowhere."""
    settle(claim, refund=claim.keys)


def _counter(limit: Limit, subject: str) -> tuple[int, int] | None:
    """(failures, last failure in ms) stored for the subject, or None when there is none."""
    if not subject:
        return None
    try:
        count_text, last_text = get_redis().hmget(throttle_key(limit, subject), ["count", "last"])
    except redis.RedisError as exc:
        raise ServiceUnavailable("error.unavailable") from exc
    if count_text is None or last_text is None:
        return None
    return int(count_text), int(last_text)


def wait_seconds(limit: Limit, subject: str) -> int:
    """Seconds until the next attempt for this subject is allowed (0 when it is allowed now)."""
    counter = _counter(limit, subject)
    if counter is None:
        return 0
    count, last = counter
    delay_ms = limit.delay_seconds(count) * 1000
    now = _ms(clock.now())
    if now >= last + delay_ms + _ms_of(limit.window):
        return 0
    return max(0, math.ceil(min(last + delay_ms - now, delay_ms) / 1000))


def failures(limit: Limit, subject: str) -> int:
    """Failures currently counted for the subject (expired ones excluded)."""
    counter = _counter(limit, subject)
    if counter is None:
        return 0
    count, last = counter
    expires = last + limit.delay_seconds(count) * 1000 + _ms_of(limit.window)
    return 0 if _ms(clock.now()) >= expires else count


def reset(limit: Limit, subject: str) -> None:
    """Forget a subject's failures (an operator unlocking an account, a successful login)."""
    if subject:
        try:
            get_redis().delete(throttle_key(limit, subject))
        except redis.RedisError as exc:
            raise ServiceUnavailable("error.unavailable") from exc


def clear_all() -> int:
    """Remove every throttle key (tests, or an operator after an incident). Returns how many."""
    return delete_prefixed(KEY_PREFIX)


# ---- login ---------------------------------------------------------------------------------


def login_subjects(email: str, ip: str, device: str | None = None) -> tuple[tuple[Limit, str], tuple[Limit, str]]:
    """What a sign-in attempt is counted on: the account (an unknown browser) or the browser's own
    device key (`device`: the id of a valid device cookie for this account), and the IP."""
    first = (LOGIN_DEVICE, device) if device else (LOGIN_ACCOUNT, email)
    return first, (LOGIN_IP, ip)


def begin_login(email: str, ip: str, device: str | None = None) -> Claim:
    """Before checking a password: count the attempt for the account (or the known browser) and the
    IP, or RateLimited."""
    return begin(*login_subjects(email, ip, device))


def login_succeeded(claim: Claim, email: str, ip: str, device: str | None = None) -> None:
    """The password was right: the account (or the known browser) starts afresh; the IP keeps its
    failures (not this attempt). A known browser's success leaves the account's count alone: the delay
    of unknown browsers stays."""
    first, (ip_limit, _) = login_subjects(email, ip, device)
    own_key = claim.key_for(*first)
    ip_key = claim.key_for(ip_limit, ip)
    settle(claim, clear=[k for k in (own_key,) if k], refund=[k for k in (ip_key,) if k])


def _ms_of(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)
