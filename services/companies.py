"""The operator's view of its tenants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from models import Company, CompanyStatus, Plan, Subscription, SubscriptionStatus, Trial, TrialStatus, User
from services.actor import Actor
from services.errors import PermissionDenied
from services.policy import Page, can_open

LIVE_SUBSCRIPTION = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


@dataclass(frozen=True)
class CompanySummary:
    id: uuid.UUID
    name: str
    status: CompanyStatus
    members: int
    plan_name: str  # current subscription's plan, or the trial's, or ""
    on_trial: bool


def list_companies(session: Session, actor: Actor) -> list[CompanySummary]:
    if not can_open(actor, Page.COMPANIES):
        raise PermissionDenied()
    members = (
        select(sa.func.count()).where(User.company_id == Company.id).correlate(Company).scalar_subquery()
    )
    subscription_plan = (
        select(Plan.name)
        .join(Subscription, Subscription.plan_id == Plan.id)  # type: ignore[arg-type]
        .where(Subscription.company_id == Company.id, Subscription.status.in_(LIVE_SUBSCRIPTION))  # type: ignore[attr-defined]
        .correlate(Company)
        .limit(1)
        .scalar_subquery()
    )
    trial_plan = (
        select(Plan.name)
        .join(Trial, Trial.plan_id == Plan.id)  # type: ignore[arg-type]
        .where(Trial.company_id == Company.id, Trial.status == TrialStatus.ACTIVE)
        .correlate(Company)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Company, members, subscription_plan, trial_plan).order_by(Company.name)
    ).all()
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
