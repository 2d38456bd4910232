"""The Redis connection the domain uses (login throttling, short-lived counters).

One client (with its own connection pool) per URL, created on first use. Timeouts are short on
purpose: a login must fail fast with a clear error rather than hang when Redis is down.

A subscriber (`subscriber_client`) gets a client of its own that never retries behind its back: a
pub/sub listener must see every lost connection, because messages published meanwhile are gone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.core.errors import ServiceUnavailable
from services.core.settings import get_settings

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 2.0


def _connect(url: str, **options: Any) -> redis.Redis[str]:
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S, **options
    )


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis[str]:
    return _connect(url, health_check_interval=30, retry_on_timeout=False)


def get_redis() -> redis.Redis[str]:
    """The client for settings.redis_url; ServiceUnavailable when none is configured."""
    url = get_settings().redis_url
    if not url:
        raise ServiceUnavailable("No Redis configured: set REDIS_URL (or start with `make run`).")
    return _client_for(url)


def subscriber_client(url: str) -> redis.Redis[str]:
    """A new client for one pub/sub listener: no retries, no health checks of its own (the listener
    pings), so a dropped connection raises instead of being silently reopened and resubscribed."""
    return _connect(url, health_check_interval=0, retry=Retry(NoBackoff(), 0))


def hashed_key(prefix: str, name: str, subject: str) -> str:
    """`<prefix><name>:<HMAC of subject>`: counters keyed by an email, address or id never hold it in
    clear (the HMAC is keyed with SECRET_KEY, so keys cannot be matched against a list of addresses)."""
    secret = get_settings().secret_key.get_secret_value().encode()
    digest = hmac.new(secret, f"{name}\x00{subject}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"{prefix}{name}:{digest}"


def run_script(script: str, keys: Sequence[str], args: Sequence[str | int]) -> object:
    """Run a Lua script atomically; a Redis failure is ServiceUnavailable (logged once here)."""
    try:
        return get_redis().register_script(script)(keys=list(keys), args=list(args))
    except redis.RedisError as exc:
        log.warning("Redis script failed: %s", exc)
        raise ServiceUnavailable("error.unavailable") from exc


def delete_prefixed(prefix: str, batch: int = 500) -> int:
    """Remove every key starting with `prefix` (tests, or an operator after an incident); how many."""
    client = get_redis()
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=batch))
        return sum(int(client.delete(*keys[i : i + batch])) for i in range(0, len(keys), batch))
    except redis.RedisError as exc:
        raise ServiceUnavailable("error.unavailable") from exc
