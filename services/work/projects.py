"""Projects as the actor may see them: managers all of their company's, workers and clients theirs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models import Project, ProjectStatus, Task, TaskStatus
from services.core.access import access_by_id, in_scope
from services.core.actor import Actor
from services.core.errors import Conflict
from services.core.policy import Action, authorize


class ProjectArchived(Conflict):
    """A write on an archived project's work: it is read-only until a manager restores it."""

    message_key = "error.project_archived"


@dataclass(frozen=True)
class ProjectSummary:
    id: uuid.UUID
    name: str
    status: ProjectStatus
    task_counts: dict[str, int] = field(default_factory=dict)

    @property
    def total_tasks(self) -> int:
        return sum(self.task_counts.values())


def visible_projects_query(actor: Actor) -> SelectOfScalar[Project]:
    """The projects the actor may list (the policy's scope for PROJECT_LIST: a manager's whole
    company, a worker's or client's own projects); every project read goes through it."""
    return select(Project).where(in_scope(actor, Action.PROJECT_LIST, Project))


def project_for_work(
    session: Session, actor: Actor, action: Action, project_id: uuid.UUID, *, for_update: bool = False
) -> Project:
    """The project `project_id` for a write on its work (tasks, labels, comments, files, members):
    NotFound unless the actor may do `action` on it, ProjectArchived when it is archived. Every such
    write goes through here, so "an archived project is read-only" holds in one place."""
    project = access_by_id(session, actor, action, Project, project_id, for_update=for_update)
    if project.status is ProjectStatus.ARCHIVED:
        raise ProjectArchived()
    return project


def count_projects(session: Session, actor: Actor) -> int:
    """How many projects the actor may see (the home page's number), without loading them."""
    authorize(actor, Action.PROJECT_LIST)
    return session.exec(
        select(sa.func.count()).select_from(Project).where(in_scope(actor, Action.PROJECT_LIST, Project))
    ).one()


def list_projects(session: Session, actor: Actor) -> list[ProjectSummary]:
    authorize(actor, Action.PROJECT_LIST)
    projects = session.exec(visible_projects_query(actor).order_by(Project.name)).all()
    counts: dict[uuid.UUID, dict[str, int]] = {p.id: {s.value: 0 for s in TaskStatus} for p in projects}
    if projects:
        rows = session.exec(
            select(Task.project_id, Task.status, sa.func.count())
            .where(in_scope(actor, Action.PROJECT_LIST, Task), col(Task.project_id).in_(list(counts)))
            .group_by(col(Task.project_id), col(Task.status))
        ).all()
        for project_id, status, count in rows:
            counts[project_id][TaskStatus(status).value] = count
    return [ProjectSummary(id=p.id, name=p.name, status=p.status, task_counts=counts[p.id]) for p in projects]
