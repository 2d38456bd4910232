from __future__ import annotations

import reflex as rx

from dashboard.state.base import AuthState, requires
from models import TaskStatus
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action
from services.work import list_projects

TASK_STATUSES: list[str] = [s.value for s in TaskStatus]


class ProjectsState(AuthState):
    # Plain strings only: id, name, status, total and one key per task status.
    projects: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loaded: bool = False

    @requires(Action.PROJECT_LIST)
    def load(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            summaries = list_projects(session, actor)
        self.projects = [
            {
                "id": str(p.id),
                "name": p.name,
                "status": p.status.value,
                "total": str(sum(p.task_counts.values())),
                **{status: str(p.task_counts.get(status, 0)) for status in TASK_STATUSES},
            }
            for p in summaries
        ]
        self.loaded = True
