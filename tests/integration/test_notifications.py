"""services.work notifications: fan-out (assigned, status changed to followers, never the actor or
someone who may not open the task), the actor's own list / count / marks, the e-mail switch, and
the worker's mail round through the real outbox."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from models import Notification, NotificationKind, Role, TaskStatus
from services import work
from services.core import mailer
from services.core.errors import NotFound, PermissionDenied
from services.identity import auth
from tests.factories import (
    add_member,
    follow,
    make_admin,
    make_company,
    make_notification,
    make_project,
    make_task,
    make_user,
)

pytestmark = pytest.mark.integration


def test_assigned_goes_to_the_assignee_only_when_they_may_open_the_task(db: Session) -> None:
    company = make_company(db)
    manager = make_user(db, company, Role.MANAGER, full_name="Mary")
    worker, outsider = make_user(db, company, Role.WORKER), make_user(db, company, Role.WORKER)
    project = make_project(db, company, key="WEB")
    add_member(db, project, worker)
    task = make_task(db, project, "Logo")
    actor = auth.actor_for(manager, company)
    assert work.notify_assigned(db, actor, task, worker.id) == 1
    assert work.notify_assigned(db, actor, task, outsider.id) == 0  # not on the project
    assert work.notify_assigned(db, actor, task, manager.id) == 0  # assigned themselves
    assert work.notify_assigned(db, actor, task, None) == 0
    (info,) = work.list_notifications(db, auth.actor_for(worker, company))
    assert info.kind is NotificationKind.ASSIGNED and info.actor_name == "Mary" and not info.read
    assert info.task_ref == f"WEB-{task.number}" and info.task_title == "Logo" and info.project_id == project.id


def test_status_change_fans_out_to_followers_except_the_actor(db: Session) -> None:
    company = make_company(db)
    manager = make_user(db, company, Role.MANAGER)
    a, b, client = (
        make_user(db, company, Role.WORKER),
        make_user(db, company, Role.WORKER),
        make_user(db, company, Role.CLIENT),
    )
    inactive = make_user(db, company, Role.WORKER, is_active=False)
    project = make_project(db, company)
    for user in (a, b, client, inactive):
        add_member(db, project, user)
    task = make_task(db, project, status=TaskStatus.REVIEW)
    for user in (manager, a, b, client, inactive):
        follow(db, task, user)
    sent = work.notify_status_changed(db, auth.actor_for(a, company), task, TaskStatus.TODO)
    assert sent == 2  # the manager and b: not the actor, not the client, not the inactive worker
    rows = db.exec(select(Notification).where(Notification.kind == NotificationKind.STATUS_CHANGED)).all()
    assert {r.user_id for r in rows} == {manager.id, b.id} and {r.detail for r in rows} == {"todo>review"}
    assert work.notify_status_changed(db, auth.actor_for(a, company), task, TaskStatus.REVIEW) == 0


def test_list_count_and_marks_are_the_actors_own(db: Session) -> None:
    company = make_company(db)
    me, other = make_user(db, company, Role.WORKER), make_user(db, company, Role.WORKER)
    mine = [make_notification(db, me) for _ in range(3)]
    theirs = make_notification(db, other)
    actor = auth.actor_for(me, company)
    assert work.unread_count(db, actor) == 3
    assert {n.id for n in work.list_notifications(db, actor)} == {n.id for n in mine}
    work.mark_read(db, actor, mine[0].id)
    assert work.unread_count(db, actor) == 2
    with pytest.raises(NotFound):
        work.mark_read(db, actor, theirs.id)
    with pytest.raises(NotFound):
        work.mark_read(db, actor, uuid.uuid4())
    assert work.mark_all_read(db, actor) == 2 and work.unread_count(db, actor) == 0
    assert work.unread_count(db, auth.actor_for(other, company)) == 1
    with pytest.raises(PermissionDenied):
        work.unread_count(db, auth.actor_for(make_admin(db), None))


def test_mail_switch_and_the_worker_round(db: Session, outbox: None) -> None:
    company = make_company(db)
    manager = make_user(db, company, Role.MANAGER, full_name="Mary")
    on, off = make_user(db, company, Role.WORKER, full_name="On"), make_user(db, company, Role.WORKER, full_name="Off")
    project = make_project(db, company, key="WEB")
    for user in (on, off):
        add_member(db, project, user)
    task = make_task(db, project, "Logo")
    assert work.set_email_notifications(db, auth.actor_for(off, company), False) is False
    assert work.email_notifications(db, auth.actor_for(off, company)) is False
    actor = auth.actor_for(manager, company)
    work.notify_assigned(db, actor, task, on.id)
    work.notify_assigned(db, actor, task, off.id)
    pending = db.exec(select(Notification.user_id).where(Notification.mail_pending)).all()
    assert list(pending) == [on.id]
    assert work.send_notification_mails(db) == 1
    assert db.exec(select(Notification).where(Notification.mail_pending)).all() == []
    (message,) = mailer.read_outbox(auth.actor_for(make_admin(db), None))
    assert message.to == on.email and message.subject == work.notifications.SUBJECTS[NotificationKind.ASSIGNED]
    assert f"WEB-{task.number}" in message.body and f"/projects/{project.id}/board?task={task.number}" in message.body
    assert work.send_notification_mails(db) == 0


def test_turning_mail_off_drops_the_pending_mails(db: Session) -> None:
    company = make_company(db)
    user = make_user(db, company, Role.WORKER)
    make_notification(db, user, mail_pending=True)
    work.set_email_notifications(db, auth.actor_for(user, company), False)
    assert db.exec(select(Notification).where(Notification.mail_pending)).all() == []
