"""Access to tenant rows by id: parse an id once, and treat a malformed one like a missing row."""

from __future__ import annotations

import uuid

from services.core.errors import NotFound


def parse_id(value: uuid.UUID | str) -> uuid.UUID:
    """A UUID from input; anything else is NotFound (it cannot name a row)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise NotFound() from exc
