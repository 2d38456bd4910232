"""The operator's view of its tenants: the company list, one company's detail, (de)activation.

Admin only (policy: COMPANY_LIST / COMPANY_VIEW / COMPANY_SET_ACTIVE, scope ALL). Reading needs no
audit entry; every write across companies is audited with the company's id. A company id is
looked up through services.core.access like any tenant row: the operator's scope reaches every
company, and an id that names none is NotFound.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models import (
    Company,
    CompanyStatus,
    Plan,
    Project,
    Role,
    Subscription,
    SubscriptionStatus,
    Trial,
    TrialStatus,
    User,
)
from services import audit, identity
from services.audit import AuditAction, AuditEntry, AuditFilter, AuditTarget
from services.core import clock
from services.core.access import access_by_id
from services.core.actor import Actor
from services.core.errors import ValidationFailed
from services.core.policy import Action, authorize
from services.core.search import LIKE_ESCAPE, like_pattern

LIVE_SUBSCRIPTION = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
MAX_SEARCH_LENGTH = 200
RECENT_AUDIT_ENTRIES = 10


@dataclass(frozen=True)
class CompanySummary:
    id: uuid.UUID
    name: str
    status: CompanyStatus
    members: int
    plan_name: str  # current subscription's plan, or the trial's, or ""
    on_trial: bool


@dataclass(frozen=True)
class CompanyDetail:
    id: uuid.UUID
    name: str
    slug: str
    status: CompanyStatus
    created_at: datetime
    members_by_role: dict[str, int]  # every member, active or not: {"manager": 2, "worker": 5, "client": 1}
    active_members: int
    project_count: int
    plan_name: str  # the live subscription's plan, or the active trial's, or ""
    subscription_status: SubscriptionStatus | None  # the live subscription's, else the latest one's
    current_period_end: datetime | None
    trial_status: TrialStatus | None
    trial_ends_at: datetime | None
    recent_audit: tuple[AuditEntry, ...]  # the latest RECENT_AUDIT_ENTRIES entries of the company


def count_companies(session: Session, actor: Actor) -> int:
    """How many companies there are (the operator's home page), without loading them."""
    authorize(actor, Action.COMPANY_LIST)
    return session.exec(select(sa.func.count()).select_from(Company)).one()


def list_companies(session: Session, actor: Actor, search: str = "") -> list[CompanySummary]:
    """Every company, by name; `search` keeps those whose name or slug contains it (any case)."""
    authorize(actor, Action.COMPANY_LIST)
    search = " ".join((search or "").split())
    if len(search) > MAX_SEARCH_LENGTH:
        raise ValidationFailed("error.search_too_long")
    # One pass: member counts grouped once, and at most one live subscription and one trial per
    # company (uq_subscriptions_one_live_per_company, trials.company_id unique), so the joins add no rows.
    members = (
        select(col(User.company_id).label("company_id"), sa.func.count().label("members"))
        .group_by(col(User.company_id))
        .subquery()
    )
    subscription_plan = aliased(Plan)
    trial_plan = aliased(Plan)
    query = (
        select(Company, members.c.members, col(subscription_plan.name), col(trial_plan.name))
        .outerjoin(members, members.c.company_id == col(Company.id))
        .outerjoin(
            Subscription,
            sa.and_(col(Subscription.company_id) == col(Company.id), col(Subscription.status).in_(LIVE_SUBSCRIPTION)),
        )
        .outerjoin(subscription_plan, col(subscription_plan.id) == col(Subscription.plan_id))
        .outerjoin(Trial, sa.and_(col(Trial.company_id) == col(Company.id), col(Trial.status) == TrialStatus.ACTIVE))
        .outerjoin(trial_plan, col(trial_plan.id) == col(Trial.plan_id))
        .order_by(col(Company.name), col(Company.id))
    )
    if search:
        pattern = like_pattern(search)
        query = query.where(
            sa.or_(
                col(Company.name).ilike(pattern, escape=LIKE_ESCAPE),
                col(Company.slug).ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    rows = session.exec(query).all()
    return [
        CompanySummary(
            id=company.id,
            name=company.name,
            status=company.status,
            members=count or 0,
            plan_name=sub_plan or trial or "",
            on_trial=trial is not None,
        )
        for company, count, sub_plan, trial in rows
    ]


def company_detail(session: Session, actor: Actor, company_id: uuid.UUID) -> CompanyDetail:
    company = access_by_id(session, actor, Action.COMPANY_VIEW, Company, company_id)
    return _detail(session, actor, company)


def set_company_active(session: Session, actor: Actor, company_id: uuid.UUID, active: bool) -> CompanyDetail:
    """Deactivate (every session of its users ends; nobody of it can log in or accept an invite)
    or reactivate a company. Setting the status it already has changes nothing and logs nothing."""
    company = access_by_id(session, actor, Action.COMPANY_SET_ACTIVE, Company, company_id, for_update=True)
    new_status = CompanyStatus.ACTIVE if active else CompanyStatus.DEACTIVATED
    if company.status is new_status:
        return _detail(session, actor, company)
    before = audit.snapshot(company, ["status"])
    company.status = new_status
    company.updated_at = clock.now()
    session.add(company)
    session.flush()
    changes: dict[str, Any] = {"company": company.name, **audit.diff(before, audit.snapshot(company, ["status"]))}
    if not active:
        changes["sessions_revoked"] = identity.revoke_company_sessions(session, company.id, actor=actor)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.COMPANY_REACTIVATED if active else AuditAction.COMPANY_DEACTIVATED,
        company_id=company.id,
        target_type=AuditTarget.COMPANY,
        target_id=company.id,
        changes=changes,
    )
    return _detail(session, actor, company)


def _detail(session: Session, actor: Actor, company: Company) -> CompanyDetail:
    by_role = {role.value: 0 for role in (Role.MANAGER, Role.WORKER, Role.CLIENT)}
    active = 0
    for role, is_active, count in session.exec(
        select(User.role, User.is_active, sa.func.count())
        .where(User.company_id == company.id)
        .group_by(col(User.role), col(User.is_active))
    ).all():
        by_role[Role(role).value] = by_role.get(Role(role).value, 0) + count
        active += count if is_active else 0
    project_count = session.exec(
        select(sa.func.count()).select_from(Project).where(Project.company_id == company.id)
    ).one()
    subscription = session.exec(
        select(Subscription)
        .where(Subscription.company_id == company.id)
        .order_by(
            sa.case((col(Subscription.status).in_(LIVE_SUBSCRIPTION), 0), else_=1),
            col(Subscription.created_at).desc(),
        )
        .limit(1)
    ).first()
    trial = session.exec(select(Trial).where(Trial.company_id == company.id)).first()
    plan_id = None
    if subscription is not None and subscription.status in LIVE_SUBSCRIPTION:
        plan_id = subscription.plan_id
    elif trial is not None and trial.status is TrialStatus.ACTIVE:
        plan_id = trial.plan_id
    plan = session.get(Plan, plan_id) if plan_id is not None else None
    plan_name = plan.name if plan else ""
    recent = audit.list_entries(session, actor, AuditFilter(company_id=company.id), limit=RECENT_AUDIT_ENTRIES)
    return CompanyDetail(
        id=company.id,
        name=company.name,
        slug=company.slug,
        status=company.status,
        created_at=company.created_at,
        members_by_role=by_role,
        active_members=active,
        project_count=int(project_count),
        plan_name=plan_name,
        subscription_status=subscription.status if subscription else None,
        current_period_end=subscription.current_period_end if subscription else None,
        trial_status=trial.status if trial else None,
        trial_ends_at=trial.ends_at if trial else None,
        recent_audit=tuple(recent.entries),
    )
