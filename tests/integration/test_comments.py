"""services.work comments: who may read and write, internal comments and clients, safe markdown,
@mentions of the people who may open the task, edits and deletes, the task's history."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from models import Notification, NotificationKind, ProjectStatus, Role, TaskFollower
from services import work
from services.audit import AuditAction, AuditTarget, record
from services.core.errors import NotFound, PermissionDenied, ValidationFailed
from services.identity import auth
from services.work import ProjectArchived
from tests.factories import add_member, make_comment, make_company, make_project, make_task, make_user

pytestmark = pytest.mark.integration


@pytest.fixture
def team(db: Session) -> dict:  # type: ignore[type-arg]
    company = make_company(db)
    manager = make_user(db, company, Role.MANAGER, full_name="Mary Manager", email="mary@example.com")
    greg = make_user(db, company, Role.WORKER, full_name="Greg House", email="greg.h@example.com")
    wendy = make_user(db, company, Role.WORKER, full_name="Wendy Worker", email="wendy@example.com")
    client = make_user(db, company, Role.CLIENT, full_name="Carl Client", email="carl@example.com")
    outsider = make_user(db, company, Role.WORKER, full_name="Oscar Out", email="oscar@example.com")
    project = make_project(db, company)
    for user in (greg, wendy, client):
        add_member(db, project, user)
    task = make_task(db, project, "Build the thing", shared_with_client=True)
    return {
        "company": company,
        "manager": manager,
        "greg": greg,
        "wendy": wendy,
        "client": client,
        "outsider": outsider,
        "project": project,
        "task": task,
    }


def actor(team: dict, name: str):  # type: ignore[no-untyped-def,type-arg]
    return auth.actor_for(team[name], team["company"])


def test_add_and_list_with_safe_markdown(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    greg = actor(team, "greg")
    body = "**Done** <script>alert(1)</script> [docs](https://example.com) [bad](javascript:alert(1))"
    info = work.add_comment(db, greg, team["task"].id, body)
    assert info.author_name == "Greg House" and info.body == body and info.can_edit and info.can_delete
    assert "<strong>Done</strong>" in info.html and "<script>" not in info.html and "&lt;script&gt;" in info.html
    assert 'rel="noopener noreferrer nofollow"' in info.html and "javascript:" not in info.html.split("[bad]")[0]
    assert 'href="javascript' not in info.html
    (listed,) = work.list_comments(db, actor(team, "wendy"), team["task"].id)
    assert listed.id == info.id and not listed.can_edit and not listed.can_delete
    assert work.list_comments(db, actor(team, "manager"), team["task"].id)[0].can_delete
    assert db.get(TaskFollower, (team["task"].id, team["greg"].id)) is not None


def test_clients_see_shared_tasks_without_internal_comments(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    greg = actor(team, "greg")
    work.add_comment(db, greg, team["task"].id, "for everyone")
    work.add_comment(db, greg, team["task"].id, "between us", internal=True)
    client = actor(team, "client")
    assert [c.body for c in work.list_comments(db, client, team["task"].id)] == ["for everyone"]
    assert work.task_history(db, client, team["task"].id) == []
    hidden = make_task(db, team["project"], "Not shared")
    with pytest.raises(NotFound):
        work.list_comments(db, client, hidden.id)
    with pytest.raises(PermissionDenied):
        work.add_comment(db, client, team["task"].id, "may I?")


def test_outsiders_and_other_companies_get_not_found(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    other = make_company(db, "Other")
    stranger = make_user(db, other, Role.MANAGER)
    for who, task_id in (
        (actor(team, "outsider"), team["task"].id),
        (auth.actor_for(stranger, other), team["task"].id),
        (actor(team, "greg"), uuid.uuid4()),
    ):
        with pytest.raises(NotFound):
            work.list_comments(db, who, task_id)
        with pytest.raises(NotFound):
            work.add_comment(db, who, task_id, "hello")


def test_empty_and_too_long_comments_are_refused(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationFailed, match=r"error.comment_empty"):
        work.add_comment(db, actor(team, "greg"), team["task"].id, "   ")
    with pytest.raises(ValidationFailed, match=r"error.text_too_long"):
        work.add_comment(db, actor(team, "greg"), team["task"].id, "x" * (work.MAX_COMMENT_LENGTH + 1))


def test_archived_project_discussion_is_read_only(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    comment = make_comment(db, team["task"], team["greg"])
    team["project"].status = ProjectStatus.ARCHIVED
    db.add(team["project"])
    db.flush()
    greg = actor(team, "greg")
    assert len(work.list_comments(db, greg, team["task"].id)) == 1
    with pytest.raises(ProjectArchived):
        work.add_comment(db, greg, team["task"].id, "late")
    with pytest.raises(ProjectArchived):
        work.edit_comment(db, greg, comment.id, "late")
    with pytest.raises(ProjectArchived):
        work.delete_comment(db, greg, comment.id)


def test_edit_own_delete_own_or_manager(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    greg, wendy, manager = actor(team, "greg"), actor(team, "wendy"), actor(team, "manager")
    info = work.add_comment(db, greg, team["task"].id, "first")
    assert work.edit_comment(db, greg, info.id, "second").body == "second"
    with pytest.raises(PermissionDenied, match=r"error.comment_not_yours"):
        work.edit_comment(db, wendy, info.id, "mine now")
    with pytest.raises(PermissionDenied, match=r"error.comment_not_yours"):
        work.edit_comment(db, manager, info.id, "mine now")
    with pytest.raises(PermissionDenied, match=r"error.comment_not_yours"):
        work.delete_comment(db, wendy, info.id)
    assert work.delete_comment(db, manager, info.id) == info.id
    assert work.list_comments(db, greg, team["task"].id) == []
    other = work.add_comment(db, wendy, team["task"].id, "mine")
    work.delete_comment(db, wendy, other.id)
    with pytest.raises(NotFound):
        work.delete_comment(db, wendy, other.id)


def test_mentions_notify_only_people_who_may_open_the_task(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    body = "@wendy please check with @mary@example.com, @Carl and @oscar; @GregHouse knows, @nobody"
    work.add_comment(db, actor(team, "greg"), team["task"].id, body)
    notified = db.exec(select(Notification).where(Notification.kind == NotificationKind.MENTIONED)).all()
    # wendy (local part), mary (e-mail); not the client, not a non-member, not the author himself.
    assert {n.user_id for n in notified} == {team["wendy"].id, team["manager"].id}
    assert all(n.actor_name == "Greg House" and "please check" in n.detail for n in notified)


def test_an_edit_notifies_only_the_newly_mentioned(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    greg = actor(team, "greg")
    info = work.add_comment(db, greg, team["task"].id, "ping @wendy")
    work.edit_comment(db, greg, info.id, "ping @wendy and @Mary")
    rows = db.exec(select(Notification.user_id).where(Notification.kind == NotificationKind.MENTIONED)).all()
    assert sorted(map(str, rows)) == sorted([str(team["wendy"].id), str(team["manager"].id)])


def test_parse_mentions() -> None:
    assert work.parse_mentions("hi @Greg, @a.b@example.com. mail me@x.io @Greg") == ["greg", "a.b@example.com"]


def test_history_lists_the_tasks_audit_entries(db: Session, team: dict) -> None:  # type: ignore[type-arg]
    greg = actor(team, "greg")
    record(
        db,
        actor=greg,
        action=AuditAction.TASK_MOVED,
        company_id=team["company"].id,
        target_type=AuditTarget.TASK,
        target_id=team["task"].id,
        changes={"status": {"from": "todo", "to": "review"}},
    )
    work.add_comment(db, greg, team["task"].id, "moved it")
    history = work.task_history(db, actor(team, "wendy"), team["task"].id)
    assert [h.action for h in history] == ["comment_added", "task_moved"]
    assert history[1].actor_name == "Greg House" and history[1].changes["status"]["to"] == "review"
