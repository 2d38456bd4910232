"""services.work projects: the list (search, status, progress, counts), create/edit with key rules,
archive/restore, delete with the typed name, the detail with members, the operator's audited view."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlmodel import Session, select

from models import AuditLog, Project, ProjectMember, ProjectStatus, Role, Task, TaskComment, TaskStatus
from services import people, work
from services.core.errors import Conflict, LimitReached, NotFound, PermissionDenied, ValidationFailed
from services.identity import auth
from services.work import ProjectArchived, ProjectFields
from tests.factories import (
    add_member,
    make_admin,
    make_comment,
    make_company,
    make_plan,
    make_project,
    make_subscription,
    make_task,
    make_user,
)

pytestmark = pytest.mark.integration


def fields(name: str = "Web shop", key: str = "WEB", **extra: object) -> ProjectFields:
    return ProjectFields(name=name, key=key, **extra)  # type: ignore[arg-type]


def test_list_counts_progress_search_and_status(db: Session) -> None:
    company = make_company(db)
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    web = make_project(db, company, "Website", key="WEB")
    make_project(db, company, "Mobile app", key="MOB", status=ProjectStatus.ARCHIVED)
    for status in (TaskStatus.TODO, TaskStatus.DONE, TaskStatus.APPROVED, TaskStatus.IN_PROGRESS):
        make_task(db, web, status=status)

    listed = {p.name: p for p in work.list_projects(db, manager)}
    assert set(listed) == {"Website", "Mobile app"}
    summary = listed["Website"]
    assert summary.total_tasks == 4 and summary.done_tasks == 2 and summary.progress_percent == 50
    assert summary.task_counts[TaskStatus.TODO.value] == 1 and summary.task_counts[TaskStatus.REJECTED.value] == 0
    assert listed["Mobile app"].progress_percent == 0
    assert [p.name for p in work.list_projects(db, manager, search="site")] == ["Website"]
    assert [p.name for p in work.list_projects(db, manager, search="mob")] == ["Mobile app"]  # by key
    assert work.list_projects(db, manager, search="%") == []  # wildcards are literal
    assert [p.name for p in work.list_projects(db, manager, status=ProjectStatus.ARCHIVED)] == ["Mobile app"]


def test_workers_and_clients_list_only_their_projects(db: Session) -> None:
    company = make_company(db)
    mine, other = make_project(db, company, "Mine"), make_project(db, company, "Not mine")
    for role in (Role.WORKER, Role.CLIENT):
        user = make_user(db, company, role)
        add_member(db, mine, user)
        assert [p.id for p in work.list_projects(db, auth.actor_for(user, company))] == [mine.id]
        with pytest.raises(NotFound):
            work.project_detail(db, auth.actor_for(user, company), other.id)


def test_create_checks_and_normalises_the_fields(db: Session) -> None:
    company = make_company(db)
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    detail = work.create_project(
        db,
        manager,
        fields(" Web shop ", "web", description="inner", client_description="outer", due_date=date(2027, 1, 31)),
    )
    assert (detail.summary.name, detail.summary.key, detail.summary.status) == ("Web shop", "WEB", ProjectStatus.ACTIVE)
    assert detail.due_date == date(2027, 1, 31)
    entry = db.exec(select(AuditLog).where(AuditLog.target_id == str(detail.summary.id))).one()
    assert entry.action == "project_created" and entry.changes["key"] == "WEB"
    with pytest.raises(Conflict) as taken:
        work.create_project(db, manager, fields("Another", "WEB"))
    assert taken.value.message == "error.project_key_taken"
    for bad, key in ((fields("X", "W"), "error.project_key_format"), (fields("X", "1AB"), "error.project_key_format")):
        with pytest.raises(ValidationFailed) as refused:
            work.create_project(db, manager, bad)
        assert refused.value.message == key
    with pytest.raises(ValidationFailed, match=r"error.project_name"):
        work.create_project(db, manager, fields("  ", "OK"))
    with pytest.raises(ValidationFailed, match=r"error.project_dates"):
        work.create_project(db, manager, fields("X", "XY", start_date=date(2027, 2, 1), due_date=date(2027, 1, 1)))


def test_a_key_of_another_company_is_free(db: Session) -> None:
    mine, theirs = make_company(db), make_company(db, "Other")
    make_project(db, theirs, key="SAME")
    manager = auth.actor_for(make_user(db, mine, Role.MANAGER), mine)
    assert work.create_project(db, manager, fields("Same", "SAME")).summary.key == "SAME"
    assert work.suggest_key(db, manager, "Same") == "SAM"


def test_key_suggestions() -> None:
    assert work.key_from_name("Web Shop") == "WS"
    assert work.key_from_name("Website") == "WEB"
    assert work.key_from_name("Сайт клиента") == "SK"
    assert work.key_from_name("2026 plan") == "PLA"
    assert work.key_from_name("!!") == "PRJ"


def test_suggest_key_avoids_the_companys_keys(db: Session) -> None:
    company = make_company(db)
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    make_project(db, company, key="WEB")
    make_project(db, company, key="WEB2")
    assert work.suggest_key(db, manager, "Website") == "WEB3"


def test_edit_archive_restore(db: Session) -> None:
    company = make_company(db)
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    project = make_project(db, company, "Old", key="OLD")
    detail = work.update_project(db, manager, project.id, fields("New", "NEW", description="d"))
    assert (detail.summary.name, detail.summary.key, detail.description) == ("New", "NEW", "d")
    archived = work.set_archived(db, manager, project.id, True)
    assert archived.summary.status is ProjectStatus.ARCHIVED
    with pytest.raises(ProjectArchived):
        work.update_project(db, manager, project.id, fields("Newer", "NEW"))
    worker = make_user(db, company, Role.WORKER)
    with pytest.raises(ProjectArchived):  # members of an archived project are read-only too
        people.set_project_members(db, manager, project.id, [worker.id])
    assert work.set_archived(db, manager, project.id, False).summary.status is ProjectStatus.ACTIVE
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_id == str(project.id))).all()
    assert {"project_updated", "project_archived", "project_restored"} <= set(actions)


def test_delete_needs_the_exact_name_and_cascades(db: Session) -> None:
    company = make_company(db)
    manager_user = make_user(db, company, Role.MANAGER)
    manager = auth.actor_for(manager_user, company)
    project, kept = make_project(db, company, "Doomed"), make_project(db, company, "Kept")
    worker = make_user(db, company, Role.WORKER)
    add_member(db, project, worker)
    task = make_task(db, project)
    make_comment(db, task, manager_user)
    other_task = make_task(db, kept)
    with pytest.raises(ValidationFailed, match=r"error.project_confirm_name"):
        work.delete_project(db, manager, project.id, "doomed")
    deleted = work.delete_project(db, manager, project.id, " Doomed ")
    assert deleted.name == "Doomed" and deleted.storage_keys == ()
    db.expunge_all()
    assert db.get(Project, project.id) is None and db.get(Task, task.id) is None
    assert db.exec(select(TaskComment).where(TaskComment.task_id == task.id)).all() == []
    assert db.exec(select(ProjectMember).where(ProjectMember.project_id == project.id)).all() == []
    assert db.get(Task, other_task.id) is not None
    entry = db.exec(select(AuditLog).where(AuditLog.action == "project_deleted")).one()
    assert entry.changes == {"project": "Doomed", "key": project.key, "tasks": 1, "files": 0}


def test_workers_cannot_change_projects(db: Session) -> None:
    company = make_company(db)
    worker = make_user(db, company, Role.WORKER)
    project = make_project(db, company)
    add_member(db, project, worker)
    actor = auth.actor_for(worker, company)
    for call in (
        lambda: work.create_project(db, actor, fields()),
        lambda: work.update_project(db, actor, project.id, fields()),
        lambda: work.set_archived(db, actor, project.id, True),
        lambda: work.delete_project(db, actor, project.id, project.name),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_detail_members_and_candidates(db: Session) -> None:
    company = make_company(db)
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    project = make_project(db, company, description="internal", client_description="for the client")
    worker, client = make_user(db, company, Role.WORKER), make_user(db, company, Role.CLIENT)
    outsider = make_user(db, company, Role.WORKER)
    add_member(db, project, worker)
    add_member(db, project, client)
    detail = work.project_detail(db, manager, project.id)
    assert {m.user_id for m in detail.members} == {worker.id, client.id}
    assert all(m.email for m in detail.members)
    assert outsider.id in {c.user_id for c in detail.candidates}
    other_client = make_user(db, company, Role.CLIENT)
    add_member(db, project, other_client)
    seen_by_client = work.project_detail(db, auth.actor_for(client, company), project.id)
    assert {m.user_id for m in seen_by_client.members} == {worker.id, client.id}  # not the other client
    assert seen_by_client.description == "" and seen_by_client.client_description == "for the client"
    assert all(m.email == "" for m in seen_by_client.members) and seen_by_client.candidates == ()
    seen_by_worker = work.project_detail(db, auth.actor_for(worker, company), project.id)
    assert seen_by_worker.description == "internal" and seen_by_worker.candidates == ()


def test_operator_view_is_audited_and_refused_to_others(db: Session) -> None:
    company = make_company(db)
    project = make_project(db, company, "Support me")
    admin = auth.actor_for(make_admin(db), None)
    assert [p.id for p in work.operator_company_projects(db, admin, company.id)] == [project.id]
    entry = db.exec(select(AuditLog).where(AuditLog.action == "company_projects_viewed")).one()
    assert entry.company_id == company.id and entry.actor_user_id == admin.user_id
    with pytest.raises(NotFound):
        work.operator_company_projects(db, admin, uuid.uuid4())
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    with pytest.raises(PermissionDenied):
        work.operator_company_projects(db, manager, company.id)


def test_a_key_taken_by_a_concurrent_transaction_is_a_conflict(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two managers pick the same key at once: both lookups find it free, the unique constraint stops
    the second insert. That is the same translated Conflict, and the transaction stays usable."""
    from services.work import projects

    company = make_company(db)
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    make_project(db, company, "First", key="SAME")
    monkeypatch.setattr(projects, "_ensure_key_free", lambda *args: None)  # the other one's lookup, too early
    with pytest.raises(Conflict) as clash:
        work.create_project(db, manager, fields("Second", "SAME"))
    assert clash.value.message == "error.project_key_taken"
    assert [p.name for p in work.list_projects(db, manager)] == ["First"]


def test_creating_and_restoring_respect_the_plans_projects(db: Session) -> None:
    company = make_company(db)
    make_subscription(db, company, make_plan(db, max_projects=1))
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    first = work.create_project(db, manager, fields("First", "ONE"))
    with pytest.raises(LimitReached):
        work.create_project(db, manager, fields("Second", "TWO"))
    work.set_archived(db, manager, first.summary.id, True)  # archived projects do not count
    work.create_project(db, manager, fields("Second", "TWO"))
    with pytest.raises(LimitReached):
        work.set_archived(db, manager, first.summary.id, False)
