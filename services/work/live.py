"""News of board changes for everyone looking at the board, across every app process.

A committed change of a task (create, edit, move, delete) is published on the Redis channel of its
project, `wd:board:<project id>`, after the commit (never before: a viewer re-reads the task and must
find the change). The message carries ids only (the task and the change's version, or "gone"): each
viewer re-reads the card with its own Actor and filters, so nothing reaches a viewer that its own
rights would not show. A failed publish is logged; the change itself is committed and shows on the
viewers' next load.
"""

from __future__ import annotations

import json
import logging
import uuid

import redis
from sqlalchemy import event
from sqlmodel import Session

from services.core.errors import ServiceUnavailable
from services.core.redis_client import get_redis

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "wd:board:"
_PENDING_KEY = "workdash.board_news"  # Session.info: (project, task) pairs to publish after the commit


def channel(project_id: uuid.UUID) -> str:
    return f"{CHANNEL_PREFIX}{project_id}"


def project_of_channel(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name.removeprefix(CHANNEL_PREFIX))
    except ValueError:
        return None


def publish_after_commit(session: Session, project_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Once `session`'s transaction commits, tell the board's viewers that this task changed."""
    pending: list[tuple[uuid.UUID, uuid.UUID]] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _publish_pending)
        event.listen(session, "after_rollback", _forget_pending)
    if (project_id, task_id) not in pending:
        pending.append((project_id, task_id))


def publish(project_id: uuid.UUID, task_ids: list[uuid.UUID]) -> None:
    try:
        get_redis().publish(channel(project_id), json.dumps({"tasks": [str(t) for t in task_ids]}))
    except (redis.RedisError, OSError, ServiceUnavailable):
        log.exception("board news: could not publish %d change(s) of project %s", len(task_ids), project_id)


def parse_message(data: str) -> list[uuid.UUID]:
    """The task ids of a message (anything malformed: none)."""
    try:
        raw = json.loads(data)
        return [uuid.UUID(t) for t in raw["tasks"]][:100]
    except (ValueError, KeyError, TypeError):
        return []


def _publish_pending(session: Session) -> None:
    pending: list[tuple[uuid.UUID, uuid.UUID]] = session.info.get(_PENDING_KEY) or []
    if not pending:
        return
    by_project: dict[uuid.UUID, list[uuid.UUID]] = {}
    for project_id, task_id in pending:
        by_project.setdefault(project_id, []).append(task_id)
    pending.clear()
    for project_id, task_ids in by_project.items():
        publish(project_id, task_ids)


def _forget_pending(session: Session) -> None:
    pending = session.info.get(_PENDING_KEY)
    if pending:
        pending.clear()
