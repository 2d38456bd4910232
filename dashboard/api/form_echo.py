"""What a public form gets back after an error, kept on the server for a minute.

The sign-up and invitation forms post to HTTP routes, which answer an error with a redirect to the
form's page. Names and emails must not travel in that URL (proxy logs, browser history, Referer), so
the route stores the entered non-secret fields in Redis under a random id, puts only that id in the
URL (`?form=<id>`), and the page's load reads them back. Never a password. An entry lives
ECHO_SECONDS; an unknown, expired or malformed id reads as nothing. A Redis failure only loses the
echo (the form comes back empty), never the error message.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Mapping

import redis

from services.core.errors import ServiceUnavailable
from services.core.redis_client import get_redis

log = logging.getLogger(__name__)

FORM_PARAM = "form"
ECHO_SECONDS = 60
MAX_FIELD_LENGTH = 320
KEY_PREFIX = "wd:form:"
_FORM_ID = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def key_for(form_id: str) -> str:
    return KEY_PREFIX + form_id


def keep(fields: Mapping[str, str]) -> str | None:
    """Store the non-empty fields (cut to MAX_FIELD_LENGTH); their id, or None when there is nothing to keep."""
    kept = {name: value[:MAX_FIELD_LENGTH] for name, value in fields.items() if isinstance(value, str) and value}
    if not kept:
        return None
    form_id = secrets.token_urlsafe(16)
    try:
        get_redis().set(key_for(form_id), json.dumps(kept), ex=ECHO_SECONDS)
    except (redis.RedisError, ServiceUnavailable) as exc:
        log.warning("form echo: cannot store the fields: %s", exc)
        return None
    return form_id


def recall(form_id: str) -> dict[str, str]:
    """The fields stored under `form_id` (the browser's own URL: checked before use), or {}."""
    if not isinstance(form_id, str) or not _FORM_ID.match(form_id):
        return {}
    try:
        raw = get_redis().get(key_for(form_id))
    except (redis.RedisError, ServiceUnavailable) as exc:
        log.warning("form echo: cannot read the fields: %s", exc)
        return {}
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}
