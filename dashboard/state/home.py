from __future__ import annotations

import reflex as rx

from dashboard.state.base import AuthState, requires
from models import Role
from services.actor import Actor
from services.companies import count_companies
from services.db import tenant_scope
from services.policy import Action
from services.projects import count_projects


class HomeState(AuthState):
    summary_key: str = ""
    count_label_key: str = ""
    count: int = 0

    @rx.event
    @requires(Action.HOME_VIEW)
    def load(self, actor: Actor) -> None:
        self.summary_key = f"home.summary.{actor.role.value}"
        with tenant_scope(actor) as session:
            if actor.role is Role.ADMIN:
                self.count_label_key = "home.companies_count"
                self.count = count_companies(session, actor)
            else:
                self.count_label_key = "home.projects_count"
                self.count = count_projects(session, actor)
