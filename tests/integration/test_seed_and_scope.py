"""Demo data, and the scoping of the first read-only pages."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from devtools.seed import DEMO_USERS, load_demo_data
from models import Company, Plan, Role, Task, TaskStatus, User
from services.core.errors import PermissionDenied
from services.identity import auth
from services.tenants.companies import list_companies
from services.work.projects import list_projects

pytestmark = pytest.mark.integration


def actor_for(db: Session, role: Role, company: str | None = "acme"):
    demo = next(u for u in DEMO_USERS if u.role is role and u.company == (None if role is Role.ADMIN else company))
    return auth.login(db, demo.email, demo.password)[1]


def test_demo_data_is_complete_and_idempotent(db: Session) -> None:
    assert load_demo_data(db) is True
    assert load_demo_data(db) is False
    assert db.exec(select(func.count()).select_from(Company)).one() == 2
    assert db.exec(select(func.count()).select_from(Plan)).one() == 3
    roles = set(db.exec(select(User.role)).all())
    assert roles == set(Role)
    statuses = set(db.exec(select(Task.status)).all())
    assert statuses == set(TaskStatus)


def test_manager_sees_all_company_projects_worker_and_client_only_theirs(db: Session) -> None:
    load_demo_data(db)
    manager = {p.name for p in list_projects(db, actor_for(db, Role.MANAGER))}
    worker = {p.name for p in list_projects(db, actor_for(db, Role.WORKER))}
    client = {p.name for p in list_projects(db, actor_for(db, Role.CLIENT))}
    assert manager == {"Website redesign", "Mobile app", "Internal tooling"}
    assert worker == {"Website redesign", "Mobile app"}
    assert client == {"Website redesign"}
    other = {p.name for p in list_projects(db, actor_for(db, Role.MANAGER, "globex"))}
    assert other == {"Warehouse rollout"}


def test_task_counts_per_status(db: Session) -> None:
    load_demo_data(db)
    (project,) = list(list_projects(db, actor_for(db, Role.CLIENT)))
    assert project.task_counts == {s.value: 1 for s in TaskStatus}
    assert project.total_tasks == len(TaskStatus)


def test_admin_lists_companies_and_others_are_refused(db: Session) -> None:
    load_demo_data(db)
    companies = {c.name: c for c in list_companies(db, actor_for(db, Role.ADMIN))}
    assert set(companies) == {"Acme Studio", "Globex Logistics"}
    assert companies["Acme Studio"].plan_name == "Team" and not companies["Acme Studio"].on_trial
    assert companies["Globex Logistics"].on_trial
    assert companies["Acme Studio"].members == 3
    with pytest.raises(PermissionDenied):
        list_companies(db, actor_for(db, Role.MANAGER))
    with pytest.raises(PermissionDenied):
        list_projects(db, actor_for(db, Role.ADMIN))


def test_counts_match_the_lists_and_are_scoped_the_same_way(db: Session) -> None:
    from services.tenants.companies import count_companies
    from services.work.projects import count_projects

    load_demo_data(db)
    for role in (Role.MANAGER, Role.WORKER, Role.CLIENT):
        actor = actor_for(db, role)
        assert count_projects(db, actor) == len(list_projects(db, actor))
    admin = actor_for(db, Role.ADMIN)
    assert count_companies(db, admin) == len(list_companies(db, admin)) == 2
    with pytest.raises(PermissionDenied):
        count_companies(db, actor_for(db, Role.MANAGER))
    with pytest.raises(PermissionDenied):
        count_projects(db, admin)
