from __future__ import annotations

from dashboard.state.base import AuthState, off_loop, requires
from models import Role
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action
from services.tenants import count_companies
from services.work import visible_project_count


def _count_companies(actor: Actor) -> int:
    with tenant_scope(actor) as session:
        return count_companies(session, actor)


class HomeState(AuthState):
    summary_key: str = ""
    count_label_key: str = ""
    count: int = 0

    @requires(Action.HOME_VIEW)
    async def load(self, actor: Actor) -> None:
        """Async: a project count the cache can answer needs no thread (services.work.project_count)."""
        self.summary_key = f"home.summary.{actor.role.value}"
        if actor.role is Role.ADMIN:
            self.count_label_key = "home.companies_count"
            self.count = await off_loop(_count_companies, actor)
        else:
            self.count_label_key = "home.projects_count"
            self.count = await visible_project_count(actor, off_loop)
