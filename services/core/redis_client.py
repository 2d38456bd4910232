"""The Redis connection the domain uses (login throttling, short-lived counters).

One client (with its own connection pool) per URL, created on first use. Timeouts are short on
purpose: a login must fail fast with a clear error rather than hang when Redis is down.

A subscriber (`subscriber_client`) gets a client of its own that never retries behind its back: a
pub/sub listener must see every lost connection, because messages published meanwhile are gone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.core.errors import ServiceUnavailable
from services.core.settings import get_settings

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
