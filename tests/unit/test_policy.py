"""The policy table is complete and docs/roles.md is generated from it (and from the page registry)."""

from __future__ import annotations

import subprocess
import sys

from dashboard.registry import PAGES
from models import Role
from services.core.policy import DESCRIPTIONS, RULES, Action, Scope
from services.core.settings import PROJECT_ROOT


def _pages_for(role: Role) -> list[str]:
    return [p.name for p in PAGES if p.in_nav and p.action is not None and role in RULES[p.action]]


def test_every_action_has_a_rule_and_a_description() -> None:
    assert set(RULES) == set(Action) == set(DESCRIPTIONS)
    assert all(p.action is None or p.action in RULES for p in PAGES)


def test_only_the_operator_acts_across_companies() -> None:
    for action, rule in RULES.items():
        for role, scope in rule.items():
            assert (scope is Scope.ALL) == (role is Role.ADMIN) or scope is Scope.SELF, (action, role)


def test_clients_get_no_management_actions() -> None:
    management = {a for a in Action if a.value.split(".")[0] in {"member", "invite", "team", "audit", "company"}}
    assert all(Role.CLIENT not in RULES[a] for a in management)


def test_navigation_per_role() -> None:
    assert "companies" in _pages_for(Role.ADMIN) and "projects" not in _pages_for(Role.ADMIN)
    assert "companies" not in _pages_for(Role.CLIENT)


def test_roles_doc_is_up_to_date() -> None:
    """`make docs` runs scripts/docs.py; its --check mode renders the same text and compares."""
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "docs.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr or "docs/roles.md is stale: run `make docs`"
