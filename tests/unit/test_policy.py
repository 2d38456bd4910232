"""The policy table is complete and docs/roles.md is generated from it (and from the page registry)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from dashboard.registry import PAGES
from models import Role
from services.core import clock
from services.core.actor import Actor
from services.core.errors import CompanyReadOnly
from services.core.policy import DESCRIPTIONS, EFFECTS, RULES, Action, Effect, Scope, authorize
from services.core.settings import PROJECT_ROOT


def _pages_for(role: Role) -> list[str]:
    return [p.name for p in PAGES if p.in_nav and p.action is not None and role in RULES[p.action]]


def test_every_action_has_a_rule_a_description_and_an_effect() -> None:
    assert set(RULES) == set(Action) == set(DESCRIPTIONS) == set(EFFECTS)
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


def _manager(read_only_in: timedelta | None) -> Actor:
    import uuid

    moment = clock.now() + read_only_in if read_only_in is not None else None
    return Actor(uuid.uuid4(), uuid.uuid4(), Role.MANAGER, "M", "m@example.com", read_only_at=moment)


@pytest.mark.parametrize("action", [a for a in Action if Role.MANAGER in RULES[a]])
def test_a_read_only_company_may_do_everything_but_write(action: Action) -> None:
    """Before its read-only moment a company may do everything; after it, every WRITE is refused."""
    authorize(_manager(None), action)
    authorize(_manager(timedelta(seconds=60)), action)
    ended = _manager(timedelta(seconds=-1))
    if EFFECTS[action] is Effect.WRITE:
        with pytest.raises(CompanyReadOnly):
            authorize(ended, action)
    else:
        authorize(ended, action)


def test_the_way_out_of_read_only_stays_open() -> None:
    for action in (Action.BILLING_VIEW, Action.BILLING_MANAGE, Action.INVOICE_DOWNLOAD, Action.AUDIT_EXPORT):
        assert EFFECTS[action] is not Effect.WRITE
