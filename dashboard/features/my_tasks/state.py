"""/my-tasks: the open tasks assigned to the signed-in worker or manager, across their projects."""

from __future__ import annotations

import dataclasses

import reflex as rx

from dashboard.state.base import AuthState, requires
from services import work
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action


@dataclasses.dataclass
class MyTaskRow:
    key: str
    title: str
    status: str
    priority: str
    due: str
    href: str  # the task's drawer on its board


class MyTasksState(AuthState):
    tasks: rx.Field[list[MyTaskRow]] = rx.field(default_factory=list)
    loaded: bool = False

    @requires(Action.MY_TASKS)
    def load(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            cards = work.my_tasks(session, actor)
        self.tasks = [
            MyTaskRow(
                key=c.key,
                title=c.title,
                status=c.status.value,
                priority=c.priority.value,
                due=c.due_date.isoformat() if c.due_date else "",
                href=f"/projects/{c.project_id}/board?task={c.number}",
            )
            for c in cards
        ]
        self.loaded = True
