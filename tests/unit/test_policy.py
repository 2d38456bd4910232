"""The policy table is complete and docs/roles.md is generated from it."""

from __future__ import annotations

from models import Role
from services.policy import (
    DESCRIPTIONS,
    PAGE_ACTIONS,
    RULES,
    Action,
    Page,
    Scope,
    pages_for,
    render_roles_markdown,
)
from services.settings import PROJECT_ROOT


def test_every_action_has_a_rule_and_a_description() -> None:
    assert set(RULES) == set(Action) == set(DESCRIPTIONS)
    assert set(PAGE_ACTIONS) == set(Page)


def test_only_the_operator_acts_across_companies() -> None:
    for action, rule in RULES.items():
        for role, scope in rule.items():
            assert (scope is Scope.ALL) == (role is Role.ADMIN) or scope is Scope.SELF, (action, role)


def test_clients_get_no_management_actions() -> None:
    management = {a for a in Action if a.value.split(".")[0] in {"member", "invite", "team", "audit", "company"}}
    assert all(Role.CLIENT not in RULES[a] for a in management)


def test_navigation_per_role() -> None:
    assert Page.COMPANIES in pages_for(Role.ADMIN) and Page.PROJECTS not in pages_for(Role.ADMIN)
    assert Page.COMPANIES not in pages_for(Role.CLIENT)


def test_roles_doc_is_up_to_date() -> None:
    doc = (PROJECT_ROOT / "docs" / "roles.md").read_text()
    assert doc == render_roles_markdown(), "docs/roles.md is stale: run `python -m services.policy > docs/roles.md`"
