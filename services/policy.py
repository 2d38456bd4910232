"""Who may open what: the single source of truth for navigation and page access.

Pages are listed in navigation order. The full role x action table grows here as features land.
"""

from __future__ import annotations

from enum import StrEnum

from models import Role
from services.actor import Actor


class Page(StrEnum):
    HOME = "home"
    PROJECTS = "projects"
    COMPANIES = "companies"


PAGE_ROLES: dict[Page, frozenset[Role]] = {
    Page.HOME: frozenset(Role),
    Page.PROJECTS: frozenset({Role.MANAGER, Role.WORKER, Role.CLIENT}),
    Page.COMPANIES: frozenset({Role.ADMIN}),
}


def pages_for(role: Role) -> list[Page]:
    return [page for page in Page if role in PAGE_ROLES[page]]


def can_open(actor: Actor | None, page: Page) -> bool:
    return actor is not None and actor.role in PAGE_ROLES[page]
