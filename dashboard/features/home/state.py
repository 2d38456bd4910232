from __future__ import annotations

from dashboard.state.base import AuthState, requires
from models import Role
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action
from services.tenants import count_companies
from services.work import count_projects


class HomeState(AuthState):
    summary_key: str = ""
    count_label_key: str = ""
    count: int = 0

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
