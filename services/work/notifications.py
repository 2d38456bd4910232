"""In-app notifications (the bell) and their e-mails.

Writing (`notify_assigned`, `notify_mentioned`, `notify_status_changed`): called by the services
that make the change, inside the caller's transaction, after the change is flushed. Each adds one
`Notification` row per recipient and never commits, so a change and its notifications are committed
or rolled back together. Recipients are active people of the task's company who may open the task
(managers, and workers on its project; clients never see the board), never the actor. A recipient
with `email_notifications` on gets `mail_pending = true`: the job worker (`send_notification_mails`,
services/work/jobs.py) sends those mails later and clears the flag (a transactional outbox), so a
change never waits for an SMTP server and no mail is sent for a change that rolled back.

Followers (`TaskFollower`) hear about status changes: `add_follower` puts someone on a task's list
(creators, assignees and commenters are added by the services that make them so).

Reading: every function reads and changes only the actor's own notifications (policy scope SELF).
The text is built from the kind in the reader's language by the UI; rows keep the facts (who, which
task, the new status, a comment excerpt).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session, col, select

from models import Notification, NotificationKind, Project, ProjectMember, Role, Task, TaskFollower, TaskStatus, User
from services.core import clock, mailer
from services.core.access import access_by_id, in_scope
from services.core.actor import Actor
from services.core.errors import ServiceUnavailable
from services.core.policy import Action

log = logging.getLogger("workdash.notifications")

MAX_DETAIL_LENGTH = 500
EXCERPT_LENGTH = 200
LIST_LIMIT = 30
MAIL_BATCH = 200  # mails sent per worker round at most

SUBJECTS: dict[NotificationKind, str] = {  # the product's own words: no user text in a subject line
    NotificationKind.ASSIGNED: "Workdash: a task was assigned to you",
    NotificationKind.MENTIONED: "Workdash: you were mentioned in a comment",
    NotificationKind.STATUS_CHANGED: "Workdash: a task you follow changed status",
    NotificationKind.CLIENT_DECISION: "Workdash: a client decided on a task",
}


@dataclass(frozen=True)
class NotificationInfo:
    id: uuid.UUID
    kind: NotificationKind
    actor_name: str
    detail: str  # STATUS_CHANGED: "<old>><new>" status values; MENTIONED: the comment's first words
    read: bool
    created_at: datetime
    task_id: uuid.UUID | None
    project_id: uuid.UUID | None
    task_ref: str  # "WEB-42" ("" when the notification names no task)
    task_title: str
    task_number: int | None = None


def task_path(project_id: uuid.UUID, number: int) -> str:
    """The task's own URL (its drawer on the project's board, `?task=<number>`): the one place links to a
    task are made for notifications and their mails."""
    return f"/projects/{project_id}/board?task={number}"


# ---- writing (inside the caller's transaction) -------------------------------------------------


def notify_assigned(session: Session, actor: Actor, task: Task, assignee_id: uuid.UUID | None) -> int:
    """Tell the new assignee (unless they assigned themselves); returns how many rows were written."""
    if assignee_id is None:
        return 0
    return _notify(session, actor, task, NotificationKind.ASSIGNED, [assignee_id], task.title)


def notify_mentioned(
    session: Session, actor: Actor, task: Task, user_ids: Iterable[uuid.UUID], excerpt: str = ""
) -> int:
    """Tell the people @mentioned in a comment (already resolved to users who may open the task)."""
    return _notify(session, actor, task, NotificationKind.MENTIONED, user_ids, _excerpt(excerpt))


def notify_status_changed(session: Session, actor: Actor, task: Task, old_status: TaskStatus) -> int:
    """Tell the task's followers (except the actor) that its status moved from `old_status`."""
    if TaskStatus(task.status) is TaskStatus(old_status):
        return 0
    followers = session.exec(
        select(TaskFollower.user_id).where(TaskFollower.company_id == task.company_id, TaskFollower.task_id == task.id)
    ).all()
    detail = f"{TaskStatus(old_status).value}>{TaskStatus(task.status).value}"
    return _notify(session, actor, task, NotificationKind.STATUS_CHANGED, followers, detail)


def add_follower(session: Session, task: Task, user_id: uuid.UUID) -> None:
    """Put `user_id` on the task's followers (nothing happens when they already are)."""
    session.execute(
        pg_insert(TaskFollower)
        .values(task_id=task.id, user_id=user_id, company_id=task.company_id, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["task_id", "user_id"])
    )


def may_open_task(task: Task) -> sa.ColumnElement[bool]:
    """A WHERE condition on `User`: active people of the task's company who may open it (managers,
    and workers on its project). Notifications and @mentions reach only them."""
    on_project = sa.exists().where(
        col(ProjectMember.company_id) == task.company_id,
        col(ProjectMember.project_id) == task.project_id,
        col(ProjectMember.user_id) == col(User.id),
    )
    return sa.and_(
        col(User.company_id) == task.company_id,
        col(User.is_active).is_(True),
        sa.or_(col(User.role) == Role.MANAGER, sa.and_(col(User.role) == Role.WORKER, on_project)),
    )


def _notify(
    session: Session, actor: Actor, task: Task, kind: NotificationKind, user_ids: Iterable[uuid.UUID], detail: str
) -> int:
    wanted = [u for u in dict.fromkeys(user_ids) if u != actor.user_id]
    if not wanted:
        return 0
    recipients = session.exec(
        select(User.id, User.email_notifications).where(col(User.id).in_(wanted), may_open_task(task))
    ).all()
    now = clock.now()
    for user_id, wants_mail in recipients:
        session.add(
            Notification(
                company_id=task.company_id,
                user_id=user_id,
                kind=kind,
                task_id=task.id,
                actor_id=actor.user_id,
                actor_name=actor.full_name[:200],
                detail=detail[:MAX_DETAIL_LENGTH],
                mail_pending=bool(wants_mail),
                created_at=now,
            )
        )
    session.flush()
    return len(recipients)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"


# ---- reading and marking (the actor's own) ----------------------------------------------------


def list_notifications(session: Session, actor: Actor, *, limit: int = LIST_LIMIT) -> list[NotificationInfo]:
    """The actor's latest notifications, newest first, with the task's reference and title."""
    condition = in_scope(actor, Action.NOTIFICATION_LIST, Notification)
    rows = session.execute(
        sa.select(Notification, col(Task.number), col(Task.title), col(Task.project_id), col(Project.key))
        .outerjoin(
            Task,
            sa.and_(col(Task.id) == col(Notification.task_id), col(Task.company_id) == col(Notification.company_id)),
        )
        .outerjoin(
            Project, sa.and_(col(Project.id) == col(Task.project_id), col(Project.company_id) == col(Task.company_id))
        )
        .where(condition)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(max(1, min(limit, 100)))
    ).all()
    return [
        NotificationInfo(
            id=row.id,
            kind=NotificationKind(row.kind),
            actor_name=row.actor_name,
            detail=row.detail,
            read=row.read_at is not None,
            created_at=row.created_at,
            task_id=row.task_id,
            project_id=project_id,
            task_ref=f"{key}-{number}" if key and number else "",
            task_title=title or "",
            task_number=number,
        )
        for row, number, title, project_id, key in rows
    ]


def unread_count(session: Session, actor: Actor) -> int:
    """How many of the actor's notifications are unread (the bell's number; a partial index)."""
    return int(
        session.exec(
            select(sa.func.count())
            .select_from(Notification)
            .where(in_scope(actor, Action.NOTIFICATION_LIST, Notification), col(Notification.read_at).is_(None))
        ).one()
    )


def mark_read(session: Session, actor: Actor, notification_id: uuid.UUID) -> None:
    row = access_by_id(session, actor, Action.NOTIFICATION_READ, Notification, notification_id, for_update=True)
    if row.read_at is None:
        row.read_at = clock.now()
        session.add(row)
        session.flush()


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark every unread notification of the actor read; returns how many."""
    result = session.execute(
        sa.update(Notification)
        .where(in_scope(actor, Action.NOTIFICATION_READ, Notification), col(Notification.read_at).is_(None))
        .values(read_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def email_notifications(session: Session, actor: Actor) -> bool:
    """Whether the actor gets notification e-mails."""
    return access_by_id(session, actor, Action.NOTIFICATION_LIST, User, actor.user_id).email_notifications


def set_email_notifications(session: Session, actor: Actor, enabled: bool) -> bool:
    """Turn the actor's notification e-mails on or off. Turning them off also drops the mails not sent yet."""
    user = access_by_id(session, actor, Action.NOTIFICATION_EMAIL_SET, User, actor.user_id, for_update=True)
    user.email_notifications = enabled
    session.add(user)
    if not enabled:
        session.execute(
            sa.update(Notification)
            .where(in_scope(actor, Action.NOTIFICATION_EMAIL_SET, Notification), col(Notification.mail_pending))
            .values(mail_pending=False)
        )
    session.flush()
    return enabled


# ---- the worker: sending the mails ------------------------------------------------------------


def send_notification_mails(session: Session, *, limit: int = MAIL_BATCH) -> int:
    """System work (the job worker, `system_scope`): send the pending notification mails, oldest
    first, and clear their flag. Rows are locked with SKIP LOCKED, so two workers never send one mail
    twice. A mail the outbox or SMTP refuses stays pending for the next round (the ones sent before
    it are cleared); a reader who turned mail off or left meanwhile gets none. Returns mails sent."""
    rows = session.exec(
        select(Notification, User.email, User.email_notifications, User.is_active)
        .join(
            User,
            sa.and_(col(User.id) == col(Notification.user_id), col(User.company_id) == col(Notification.company_id)),
        )
        .where(col(Notification.mail_pending))
        .order_by(col(Notification.created_at), col(Notification.id))
        .limit(limit)
        .with_for_update(of=Notification, skip_locked=True)
    ).all()
    tasks = _mail_tasks(session, [n.task_id for n, *_ in rows if n.task_id is not None])
    sent = 0
    for notification, email, wants_mail, active in rows:
        if wants_mail and active:
            try:
                mailer.send_mail(email, SUBJECTS[notification.kind], _mail_body(notification, tasks))
            except ServiceUnavailable:
                log.warning("notification mail not sent; retried next round")
                break
            sent += 1
        notification.mail_pending = False
        session.add(notification)
    session.flush()
    return sent


def _mail_tasks(session: Session, task_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str, str]]:
    """task id -> (reference, title, link)."""
    if not task_ids:
        return {}
    rows = session.execute(
        sa.select(col(Task.id), col(Task.number), col(Task.title), col(Task.project_id), col(Project.key))
        .join(
            Project, sa.and_(col(Project.id) == col(Task.project_id), col(Project.company_id) == col(Task.company_id))
        )
        .where(col(Task.id).in_(task_ids))
    ).all()
    return {
        task_id: (f"{key}-{number}", title, mailer.app_link(task_path(project_id, number)))
        for task_id, number, title, project_id, key in rows
    }


def _mail_body(notification: Notification, tasks: dict[uuid.UUID, tuple[str, str, str]]) -> str:
    no_task = ("", "", mailer.app_link("/"))
    ref, title, link = tasks.get(notification.task_id, no_task) if notification.task_id else no_task
    who = notification.actor_name or "Someone"
    what = {
        NotificationKind.ASSIGNED: f"{who} assigned you {ref} “{title}”.",
        NotificationKind.MENTIONED: f"{who} mentioned you on {ref} “{title}”:\n\n    {notification.detail}",
        NotificationKind.STATUS_CHANGED: f"{who} moved {ref} “{title}” {_status_change(notification.detail)}.",
        NotificationKind.CLIENT_DECISION: f"A client decided on {ref} “{title}”: {notification.detail}.",
    }[NotificationKind(notification.kind)]
    return (
        f"Hello,\n\n{what}\n\nOpen the task:\n\n    {link}\n\n"
        f"You get these e-mails because notification e-mails are on in your account settings "
        f"({mailer.app_link('/account')}).\n"
    )


def _status_change(detail: str) -> str:
    old, _, new = detail.partition(">")
    label = {s.value: s.value.replace("_", " ") for s in TaskStatus}
    return f"from {label.get(old, old)} to {label.get(new, new)}"
