"""The operator's console on the real database: company search, detail, deactivation and reactivation.

Deactivating a company ends every session of its users, refuses their logins and its invitations;
reactivating lets them log in again. Both are audited with the company's id.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from dashboard.state.args import uuid_arg
from models import AuditLog, Company, CompanyStatus, Invitation, Role, SubscriptionStatus, TrialStatus
from services.core import clock
from services.core.actor import Actor
from services.core.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationFailed
from services.core.passwords import hash_password
from services.identity import auth
from services.identity.auth import actor_for
from services.people import invitations
from services.tenants import companies
from tests.factories import (
    make_admin,
    make_audit,
    make_company,
    make_plan,
    make_project,
    make_subscription,
    make_trial,
    make_user,
)

pytestmark = pytest.mark.integration

# Logins come from an address of their own, so this module's failed logins never throttle another's.
LOGIN_IP = f"2001:db8::{secrets.token_hex(2)}"

PASSWORD = "Company-user-passphrase-7"


@pytest.fixture
def admin(db: Session) -> Actor:
    return actor_for(make_admin(db))


# ---- list and search ------------------------------------------------------------------------------


def test_search_matches_name_or_slug_in_any_case_and_takes_wildcards_literally(db: Session, admin: Actor) -> None:
    tag = secrets.token_hex(3)
    names = {
        "percent": f"100% Pure {tag}",
        "underscore": f"Under_score {tag}",
        "plain": f"Plain Co {tag}",
        "lookalike": f"Underscore {tag}",  # what `_` as a wildcard would also match
        "backslash": f"Back\\slash {tag}",
    }
    made = {key: make_company(db, name, slug=f"{key}-{tag}") for key, name in names.items()}

    def found(search: str) -> set[str]:
        ids = {c.id for c in companies.list_companies(db, admin, search=search)}
        return {key for key, company in made.items() if company.id in ids}

    assert found(tag) == set(names)
    assert found("%") == {"percent"}
    assert found(f"0% pure {tag.upper()}") == {"percent"}
    assert found("_") == {"underscore"}
    assert found("under_") == {"underscore"}
    assert found("plain co") == {"plain"}
    assert found(f"PLAIN-{tag}") == {"plain"}  # the slug
    assert found("\\") == {"backslash"}
    assert found("%%%") == set()
    assert found("") == set(names) and found("   ") == set(names)
    with pytest.raises(ValidationFailed):
        companies.list_companies(db, admin, search="x" * 201)


def test_list_shows_members_and_plan(db: Session, admin: Actor) -> None:
    company = make_company(db, f"Listed {secrets.token_hex(3)}")
    make_user(db, company, Role.MANAGER)
    make_user(db, company, Role.WORKER)
    make_subscription(db, company, make_plan(db, name="Team"))
    (summary,) = companies.list_companies(db, admin, search=company.name)
    assert (summary.members, summary.plan_name, summary.on_trial) == (2, "Team", False)


# ---- detail ---------------------------------------------------------------------------------------


def test_company_detail(db: Session, admin: Actor) -> None:
    company = make_company(db, "Detailed")
    manager = make_user(db, company, Role.MANAGER)
    make_user(db, company, Role.WORKER)
    make_user(db, company, Role.WORKER, is_active=False)
    make_user(db, company, Role.CLIENT)
    make_project(db, company, "One")
    make_project(db, company, "Two")
    plan = make_plan(db, name="Business")
    make_trial(db, company, plan)
    make_subscription(db, company, plan, status=SubscriptionStatus.TRIALING)
    other = make_company(db, "Other")
    base = clock.now() - timedelta(hours=1)
    for i in range(12):
        make_audit(db, company, manager, action=f"test.step{i}", created_at=base + timedelta(minutes=i))
    make_audit(db, other, None, action="test.other", created_at=clock.now())

    detail = companies.company_detail(db, admin, company.id)
    assert (detail.name, detail.status, detail.slug) == ("Detailed", CompanyStatus.ACTIVE, company.slug)
    assert detail.members_by_role == {"manager": 1, "worker": 2, "client": 1}
    assert detail.active_members == 3 and detail.project_count == 2
    assert detail.plan_name == "Business" and detail.subscription_status is SubscriptionStatus.TRIALING
    assert detail.trial_status is TrialStatus.ACTIVE and detail.trial_ends_at is not None
    assert [e.action for e in detail.recent_audit] == [f"test.step{i}" for i in range(11, 1, -1)]
    # Reading is not audited.
    assert len(db.exec(select(AuditLog).where(AuditLog.company_id == company.id)).all()) == 12

    for missing in (str(uuid.uuid4()), "not-a-uuid"):  # as the browser sends them: parsed at the edge
        with pytest.raises(NotFound):
            companies.company_detail(db, admin, uuid_arg(missing))


def test_only_the_operator_uses_the_console(db: Session) -> None:
    company = make_company(db, "Guarded")
    for role in (Role.MANAGER, Role.WORKER, Role.CLIENT):
        actor = actor_for(make_user(db, company, role))
        with pytest.raises(PermissionDenied):
            companies.list_companies(db, actor)
        with pytest.raises(PermissionDenied):
            companies.company_detail(db, actor, company.id)
        with pytest.raises(PermissionDenied):
            companies.set_company_active(db, actor, company.id, False)
    refreshed = db.get(Company, company.id)
    assert refreshed is not None and refreshed.status is CompanyStatus.ACTIVE


# ---- deactivation ---------------------------------------------------------------------------------


def test_deactivation_ends_sessions_and_logins_and_reactivation_restores_them(db: Session, admin: Actor) -> None:
    company = make_company(db, "Switched")
    other = make_company(db, "Untouched")
    password_hash = hash_password(PASSWORD)
    manager = make_user(db, company, Role.MANAGER, password_hash=password_hash)
    worker = make_user(db, company, Role.WORKER, password_hash=password_hash)
    outsider = make_user(db, other, Role.WORKER, password_hash=password_hash)
    tokens = [auth.login(db, u.email, PASSWORD, ip=LOGIN_IP)[0] for u in (manager, worker, worker)]
    outsider_token, _ = auth.login(db, outsider.email, PASSWORD, ip=LOGIN_IP)
    invitation = Invitation(  # a pending invite, its link known
        company_id=company.id,
        email="pending@example.com",
        role=Role.WORKER,
        token_hash=auth.hash_token("the-link-token"),
        expires_at=clock.now() + timedelta(days=7),
    )
    db.add(invitation)
    db.flush()

    detail = companies.set_company_active(db, admin, company.id, False)
    assert detail.status is CompanyStatus.DEACTIVATED
    assert all(auth.resolve_session(db, t) is None for t in tokens)
    assert auth.resolve_session(db, outsider_token) is not None
    for user in (manager, worker):
        with pytest.raises(AuthenticationFailed):
            auth.login(db, user.email, PASSWORD, ip=LOGIN_IP)
    with pytest.raises(NotFound):
        invitations.describe(db, "the-link-token")
    (entry,) = db.exec(select(AuditLog).where(AuditLog.action == "company_deactivated")).all()
    assert entry.company_id == company.id and entry.actor_user_id == admin.user_id
    assert entry.target_type == "company" and entry.target_id == str(company.id)
    assert entry.changes["status"] == {"from": "active", "to": "deactivated"} and entry.changes["sessions_revoked"] == 3

    # Again: nothing changes, nothing logged.
    companies.set_company_active(db, admin, company.id, False)
    assert len(db.exec(select(AuditLog).where(AuditLog.action == "company_deactivated")).all()) == 1

    detail = companies.set_company_active(db, admin, company.id, True)
    assert detail.status is CompanyStatus.ACTIVE
    assert all(auth.resolve_session(db, t) is None for t in tokens)  # ended sessions stay ended
    new_token, actor = auth.login(db, worker.email, PASSWORD, ip=LOGIN_IP)
    assert actor.user_id == worker.id and auth.resolve_session(db, new_token) is not None
    assert invitations.describe(db, "the-link-token").email == "pending@example.com"
    (entry,) = db.exec(select(AuditLog).where(AuditLog.action == "company_reactivated")).all()
    assert entry.company_id == company.id and entry.changes["status"] == {"from": "deactivated", "to": "active"}


def test_set_company_active_unknown_id_is_not_found(db: Session, admin: Actor) -> None:
    for missing in (str(uuid.uuid4()), "x"):  # as the browser sends them: parsed at the edge
        with pytest.raises(NotFound):
            companies.set_company_active(db, admin, uuid_arg(missing), False)
