"""News of board changes for everyone looking at the board, across every app process.

A committed change of a task (create, edit, move, delete) is published on the Redis channel of its
project, `wd:board:<project id>`, after the commit (never before: a viewer re-reads the task and must
find the change). The message carries ids only (the tasks, and an opaque `origin` naming the viewer whose
own action it was, set by the caller with `news_origin`, so that viewer, already up to date, skips
it): each viewer re-reads the card with its own Actor and filters, so nothing reaches a viewer that
its own rights would not show. A failed publish is logged; the change itself is committed and shows on the
viewers' next load.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import redis
from sqlalchemy import event
from sqlmodel import Session

from services.core.errors import ServiceUnavailable
from services.core.redis_client import get_redis

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "wd:board:"
_PENDING_KEY = "workdash.board_news"  # Session.info: (project, task, origin) to publish after the commit
_ORIGIN: ContextVar[str] = ContextVar("board_news_origin", default="")
MAX_ORIGIN = 64


@contextmanager
def news_origin(origin: str) -> Iterator[None]:
    """Changes published inside this block name `origin` (an opaque label of the viewer who made them)."""
    token = _ORIGIN.set(origin[:MAX_ORIGIN])
    try:
        yield
    finally:
        _ORIGIN.reset(token)


def channel(project_id: uuid.UUID) -> str:
    return f"{CHANNEL_PREFIX}{project_id}"


def project_of_channel(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name.removeprefix(CHANNEL_PREFIX))
    except ValueError:
        return None


def publish_after_commit(session: Session, project_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Once `session`'s transaction commits, tell the board's viewers that this task changed."""
    pending: list[tuple[uuid.UUID, uuid.UUID, str]] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _publish_pending)
        event.listen(session, "after_rollback", _forget_pending)
    item = (project_id, task_id, _ORIGIN.get())
    if item not in pending:
        pending.append(item)


def publish(project_id: uuid.UUID, task_ids: list[uuid.UUID], origin: str = "") -> None:
    try:
        message = {"tasks": [str(t) for t in task_ids], "origin": origin}
        get_redis().publish(channel(project_id), json.dumps(message))
    except (redis.RedisError, OSError, ServiceUnavailable):
        log.exception("board news: could not publish %d change(s) of project %s", len(task_ids), project_id)


def parse_message(data: str) -> tuple[list[uuid.UUID], str]:
    """The task ids and the origin of a message (anything malformed: no ids)."""
    try:
        raw = json.loads(data)
        origin = raw.get("origin", "")
        return [uuid.UUID(t) for t in raw["tasks"]][:100], origin if isinstance(origin, str) else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return [], ""


def _publish_pending(session: Session) -> None:
    pending: list[tuple[uuid.UUID, uuid.UUID, str]] = session.info.get(_PENDING_KEY) or []
    if not pending:
        return
    batches: dict[tuple[uuid.UUID, str], list[uuid.UUID]] = {}
    for project_id, task_id, origin in pending:
        batches.setdefault((project_id, origin), []).append(task_id)
    pending.clear()
    for (project_id, origin), task_ids in batches.items():
        publish(project_id, task_ids, origin)


def _forget_pending(session: Session) -> None:
    pending = session.info.get(_PENDING_KEY)
    if pending:
        pending.clear()
