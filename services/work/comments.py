"""A task's discussion: comments (markdown, internal or not, @mentions) and the task's history.

Who: the team (managers of the company, workers on the task's project) read, add, edit their own and
delete their own comments; a manager may delete any. Clients may read the comments of tasks shared
with them, never an internal one, and no history (the portal shows what it needs). A task another
company owns, one on a project the actor is not on and an id that names nothing are the same
NotFound. Writes go through `project_for_work`: an archived project's discussion is read-only.

Markdown is rendered once, by services.work.markdown (no raw HTML, no images, safe links), and the
result goes to the page as is.

@mentions: `@email`, `@local-part` of the e-mail, `@FirstName` (when only one person has it) or
`@FullNameWithoutSpaces`, matched case-insensitively against the people who may open the task
(services.work.notifications.may_open_task): a mention of anyone else is plain text. Each mentioned
person gets one MENTIONED notification; editing a comment notifies only the newly mentioned.
A commenter follows the task from then on. Each change is audited (target: the task), which makes
it part of the task's history.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import Role, Task, TaskComment, User
from services import audit
from services.audit import AuditAction, AuditTarget, HistoryEntry
from services.core.access import access_by_id, in_scope
from services.core.actor import Actor
from services.core.errors import NotFound, PermissionDenied, ValidationFailed
from services.core.policy import Action, authorize
from services.work.markdown import render_markdown
from services.work.notifications import add_follower, may_open_task, notify_mentioned
from services.work.projects import project_for_work

MAX_COMMENT_LENGTH = 10_000
MAX_COMMENTS = 500  # a task's discussion shows at most this many (the latest)
EDIT_GRACE = timedelta(seconds=2)  # updated later than this after creation shows as "edited"
MENTION = re.compile(r"(?<![\w@])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+|\w[\w.-]*\w|\w)")


@dataclass(frozen=True)
class CommentInfo:
    id: uuid.UUID
    task_id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str
    body: str  # the markdown as typed
    html: str  # the same, rendered safely
    is_internal: bool
    created_at: datetime
    edited: bool
    can_edit: bool  # for the viewer
    can_delete: bool


# ---- reading ------------------------------------------------------------------------------------


def list_comments(session: Session, actor: Actor, task_id: uuid.UUID) -> list[CommentInfo]:
    """The task's comments, oldest first (the latest MAX_COMMENTS); clients never see internal ones."""
    task = _task(session, actor, Action.COMMENT_LIST, task_id)
    query = select(TaskComment).where(TaskComment.company_id == task.company_id, TaskComment.task_id == task.id)
    if actor.role is Role.CLIENT:
        query = query.where(col(TaskComment.is_internal).is_(False))
    latest = session.exec(
        query.order_by(col(TaskComment.created_at).desc(), col(TaskComment.id).desc()).limit(MAX_COMMENTS)
    ).all()
    return [_info(c, actor) for c in reversed(latest)]


def task_history(session: Session, actor: Actor, task_id: uuid.UUID) -> list[HistoryEntry]:
    """The task's changes from the audit log (created, edited, moved, commented…), newest first.
    The team only: a client gets an empty history."""
    task = _task(session, actor, Action.COMMENT_LIST, task_id)
    if actor.role is Role.CLIENT:
        return []
    return audit.target_history(session, actor, AuditTarget.TASK, task.id)


def parse_mentions(body: str) -> list[str]:
    """The @tokens of a comment, lower-cased, in order, without repeats (trailing dots dropped)."""
    tokens = (m.group(1).rstrip(".").lower() for m in MENTION.finditer(body))
    return list(dict.fromkeys(t for t in tokens if t))


def mentioned_users(session: Session, task: Task, body: str) -> list[uuid.UUID]:
    """Who `body` @mentions among the people who may open `task` (see the module's doc)."""
    tokens = parse_mentions(body)
    if not tokens:
        return []
    people = session.exec(select(User.id, User.email, User.full_name).where(may_open_task(task))).all()
    first_names: dict[str, list[uuid.UUID]] = {}
    names: dict[str, uuid.UUID] = {}
    for user_id, address, full_name in people:
        email = address.lower()
        names[email] = names[email.partition("@")[0]] = user_id
        words = full_name.lower().split()
        if words:
            names.setdefault("".join(words), user_id)
            first_names.setdefault(words[0], []).append(user_id)
    for first, ids in first_names.items():
        if len(ids) == 1:
            names.setdefault(first, ids[0])
    return list(dict.fromkeys(names[t] for t in tokens if t in names))


# ---- writing ------------------------------------------------------------------------------------


def add_comment(
    session: Session, actor: Actor, task_id: uuid.UUID, body: str, *, internal: bool = False
) -> CommentInfo:
    """A new comment by the actor; the people it @mentions are notified and the actor follows the task."""
    action = Action.COMMENT_ADD
    task = _task(session, actor, action, task_id)
    project_for_work(session, actor, action, task.project_id)
    text = _checked_body(body)
    comment = TaskComment(
        company_id=task.company_id,
        task_id=task.id,
        author_id=actor.user_id,
        author_name=actor.full_name[:200],
        body=text,
        is_internal=internal,
    )
    session.add(comment)
    session.flush()
    add_follower(session, task, actor.user_id)
    notify_mentioned(session, actor, task, mentioned_users(session, task, text), text)
    _audit(session, actor, task, AuditAction.COMMENT_ADDED, comment, internal=internal)
    return _info(comment, actor)


def edit_comment(session: Session, actor: Actor, comment_id: uuid.UUID, body: str) -> CommentInfo:
    """Change one's own comment; people newly @mentioned in it are notified."""
    action = Action.COMMENT_EDIT
    comment, task = _comment(session, actor, action, comment_id)
    if comment.author_id != actor.user_id:
        raise PermissionDenied("error.comment_not_yours")
    project_for_work(session, actor, action, task.project_id)
    text = _checked_body(body)
    if text == comment.body:
        return _info(comment, actor)
    before = set(mentioned_users(session, task, comment.body))
    comment.body = text
    session.add(comment)
    session.flush()
    new = [u for u in mentioned_users(session, task, text) if u not in before]
    notify_mentioned(session, actor, task, new, text)
    _audit(session, actor, task, AuditAction.COMMENT_EDITED, comment)
    return _info(comment, actor)


def delete_comment(session: Session, actor: Actor, comment_id: uuid.UUID) -> uuid.UUID:
    """Delete one's own comment (a manager: anyone's); returns its id."""
    action = Action.COMMENT_DELETE
    comment, task = _comment(session, actor, action, comment_id)
    if comment.author_id != actor.user_id and actor.role is not Role.MANAGER:
        raise PermissionDenied("error.comment_not_yours")
    project_for_work(session, actor, action, task.project_id)
    _audit(session, actor, task, AuditAction.COMMENT_DELETED, comment, author=comment.author_name)
    session.delete(comment)
    session.flush()
    return comment_id


# ---- internals ----------------------------------------------------------------------------------


def _task(session: Session, actor: Actor, action: Action, task_id: uuid.UUID) -> Task:
    """The task, if the actor may reach it for `action`; a client only a task shared with them."""
    task = access_by_id(session, actor, action, Task, task_id)
    if actor.role is Role.CLIENT and not task.shared_with_client:
        raise NotFound()
    return task


def _comment(session: Session, actor: Actor, action: Action, comment_id: uuid.UUID) -> tuple[TaskComment, Task]:
    """The comment (locked) and its task, if the actor may reach the task for `action`."""
    authorize(actor, action)
    row = session.exec(
        select(TaskComment, Task)
        .join(
            Task, sa.and_(col(Task.id) == col(TaskComment.task_id), col(Task.company_id) == col(TaskComment.company_id))
        )
        .where(col(TaskComment.id) == comment_id, in_scope(actor, action, Task))
        .with_for_update(of=TaskComment)
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


def _checked_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise ValidationFailed("error.comment_empty")
    if len(text) > MAX_COMMENT_LENGTH:
        raise ValidationFailed("error.text_too_long")
    return text


def _audit(
    session: Session, actor: Actor, task: Task, action: AuditAction, comment: TaskComment, **extra: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        company_id=task.company_id,
        target_type=AuditTarget.TASK,
        target_id=task.id,
        changes={"comment_id": comment.id, **extra},
    )


def _info(comment: TaskComment, viewer: Actor) -> CommentInfo:
    own = comment.author_id == viewer.user_id
    team = viewer.role in (Role.MANAGER, Role.WORKER)
    return CommentInfo(
        id=comment.id,
        task_id=comment.task_id,
        author_id=comment.author_id,
        author_name=comment.author_name,
        body=comment.body,
        html=render_markdown(comment.body),
        is_internal=comment.is_internal,
        created_at=comment.created_at,
        edited=comment.updated_at - comment.created_at > EDIT_GRACE,
        can_edit=own and team,
        can_delete=team and (own or viewer.role is Role.MANAGER),
    )
