"""services.work.project_for_work: the one gate for writes on a project's work.

An archived project is read-only whoever asks; another company's project and a project the actor is
not on are NotFound, exactly like an id that names nothing.
"""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session

from models import ProjectStatus, Role
from services.core.errors import NotFound
from services.core.policy import Action
from services.identity import auth
from services.work import ProjectArchived, project_for_work
from tests.factories import add_member, make_company, make_project, make_user

pytestmark = pytest.mark.integration


def test_an_active_project_is_returned_to_its_manager_and_members(db: Session) -> None:
    company = make_company(db)
    manager, worker = make_user(db, company, Role.MANAGER), make_user(db, company, Role.WORKER)
    project = make_project(db, company)
    add_member(db, project, worker)
    for user in (manager, worker):
        assert project_for_work(db, auth.actor_for(user, company), Action.PROJECT_LIST, project.id).id == project.id


def test_an_archived_project_is_read_only(db: Session) -> None:
    company = make_company(db)
    manager = make_user(db, company, Role.MANAGER)
    project = make_project(db, company, status=ProjectStatus.ARCHIVED)
    with pytest.raises(ProjectArchived) as refused:
        project_for_work(db, auth.actor_for(manager, company), Action.PROJECT_LIST, project.id, for_update=True)
    assert refused.value.message == "error.project_archived"


def test_not_a_member_another_company_and_no_such_id_look_the_same(db: Session) -> None:
    company, other = make_company(db), make_company(db, "Other")
    outsider = make_user(db, company, Role.WORKER)  # on no project
    project = make_project(db, company)
    theirs = make_project(db, other)
    manager = auth.actor_for(make_user(db, company, Role.MANAGER), company)
    for actor, project_id in (
        (auth.actor_for(outsider, company), project.id),
        (manager, theirs.id),
        (manager, uuid.uuid4()),
    ):
        with pytest.raises(NotFound):
            project_for_work(db, actor, Action.PROJECT_LIST, project_id)
