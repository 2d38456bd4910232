"""The Redis connection the domain uses (login throttling, short-lived counters).

One client (with its own connection pool) per URL, created on first use. Timeouts are short on
purpose: a login must fail fast with a clear error rather than hang when Redis is down.
"""

from __future__ import annotations

from functools import lru_cache

import redis

from services.core.errors import ServiceUnavailable
from services.core.settings import get_settings

SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 2.0


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis[str]:
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=30,
        retry_on_timeout=False,
    )


def get_redis() -> redis.Redis[str]:
    """The client for settings.redis_url; ServiceUnavailable when none is configured."""
    url = get_settings().redis_url
    if not url:
        raise ServiceUnavailable("No Redis configured: set REDIS_URL (or start with `make run`).")
    return _client_for(url)
