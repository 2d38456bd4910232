"""The bell (unread count in the header), the notifications page, and the e-mail switch of the
account page. Every handler reads or changes only the caller's own notifications (services.work).

The bell itself (dashboard/components/bell.py, dashboard/state/bell.py) is refreshed after the page
marks something read.
"""

from __future__ import annotations

import dataclasses

import reflex as rx
from reflex.event import EventSpec

from dashboard.state.args import bool_arg, uuid_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.bell import refresh_bell
from dashboard.state.rows import when
from models import NotificationKind
from services import work
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action
from services.work import NotificationInfo


@dataclasses.dataclass
class NotificationRow:
    id: str
    kind: str
    actor: str
    detail: str  # a mention's excerpt
    old_status: str  # status changes: from
    new_status: str  # … to
    read: bool
    time: str
    task_ref: str
    task_title: str
    link: str  # the task's page ("" when there is no task any more)


def notification_row(info: NotificationInfo) -> NotificationRow:
    old, _, new = info.detail.partition(">") if info.kind is NotificationKind.STATUS_CHANGED else ("", "", "")
    link = work.task_path(info.project_id, info.task_number) if info.project_id and info.task_number else ""
    return NotificationRow(
        id=str(info.id),
        kind=info.kind.value,
        actor=info.actor_name,
        detail=info.detail if info.kind is not NotificationKind.STATUS_CHANGED else "",
        old_status=old,
        new_status=new,
        read=info.read,
        time=when(info.created_at),
        task_ref=info.task_ref,
        task_title=info.task_title,
        link=link,
    )


class NotificationsState(AuthState):
    """/notifications: the caller's latest notifications, each linking to its task."""

    items: rx.Field[list[NotificationRow]] = rx.field(default_factory=list)
    loaded: bool = False

    def _fill(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            infos = work.list_notifications(session, actor)
        self.items = [notification_row(i) for i in infos]
        self.loaded = True

    @requires(Action.NOTIFICATION_LIST)
    def load(self, actor: Actor) -> None:
        self._fill(actor)

    @requires(Action.NOTIFICATION_READ)
    def mark_read(self, actor: Actor, notification_id: str) -> EventSpec:
        target = uuid_arg(notification_id)
        with tenant_scope(actor) as session:
            work.mark_read(session, actor, target)
        self.items = [dataclasses.replace(i, read=True) if i.id == notification_id else i for i in self.items]
        return refresh_bell()

    @requires(Action.NOTIFICATION_READ)
    def mark_all_read(self, actor: Actor) -> EventSpec:
        with tenant_scope(actor) as session:
            work.mark_all_read(session, actor)
        self.items = [dataclasses.replace(i, read=True) for i in self.items]
        self.notice_key = "notifications.all_read"
        return refresh_bell()


class NotificationSettingsState(AuthState):
    """The account page's switch for notification e-mails."""

    email_on: bool = True
    loaded: bool = False

    @requires(Action.NOTIFICATION_LIST)
    def load(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            self.email_on = work.email_notifications(session, actor)
        self.loaded = True

    @requires(Action.NOTIFICATION_EMAIL_SET)
    def set_email(self, actor: Actor, enabled: bool) -> None:
        enabled = bool_arg(enabled)
        with tenant_scope(actor) as session:
            self.email_on = work.set_email_notifications(session, actor, enabled)
        self.notice_key = "notifications.email_on_saved" if enabled else "notifications.email_off_saved"
