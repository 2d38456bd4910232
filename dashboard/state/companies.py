from __future__ import annotations

import reflex as rx

from dashboard.state.base import AuthState, requires
from services.actor import Actor
from services.companies import list_companies
from services.db import tenant_scope
from services.policy import Page


class CompaniesState(AuthState):
    companies: list[dict[str, str]] = []
    loaded: bool = False

    @rx.event
    @requires(Page.COMPANIES)
    def load(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            summaries = list_companies(session, actor)
        self.companies = [
            {
                "id": str(c.id),
                "name": c.name,
                "status": c.status.value,
                "members": str(c.members),
                "plan": c.plan_name,
                "on_trial": "1" if c.on_trial else "",
            }
            for c in summaries
        ]
        self.loaded = True
