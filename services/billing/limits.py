"""Plan limits: the one check point per limit, called by every entry point that adds usage.

Which plan limits a company: its live subscription's plan, else its trial's plan. A company with
neither (made by hand or before billing existed) has no limits. What counts:
- seats: active users of the company (every role; pending invitations take a seat when accepted);
- projects: active (not archived) projects;
- storage: the bytes of every stored file.
Each `check_*` takes a transaction-scoped advisory lock per company and limit first, so two
concurrent requests cannot both take the last seat (the lock is held until the caller's transaction
ends), and refuses with LimitReached("error.limit_<name>"): a sentence that names the limit and
points to the billing page's plan change. The checks also refuse in a read-only company
(CompanyReadOnly), for the entry points that have no actor (accepting an invitation).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from models import (
    Company,
    Plan,
    Project,
    ProjectStatus,
    Role,
    StoredFile,
    Subscription,
    SubscriptionStatus,
    Trial,
    User,
)
from services.core import clock
from services.core.errors import CompanyReadOnly, LimitReached

Row = TypeVar("Row", bound=SQLModel)
MB = 1024 * 1024
ENDED = (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)


@dataclass(frozen=True)
class Usage:
    seats: int
    projects: int
    storage_bytes: int


@dataclass(frozen=True)
class Limits:
    seats: int
    projects: int
    storage_bytes: int

    @classmethod
    def of(cls, plan: Plan) -> Limits:
        return cls(seats=plan.max_seats, projects=plan.max_projects, storage_bytes=plan.max_storage_mb * MB)


def live_subscription(session: Session, company_id: uuid.UUID, *, for_update: bool = False) -> Subscription | None:
    """The company's subscription that has not ended (at most one: a partial unique index)."""
    query = select(Subscription).where(Subscription.company_id == company_id, col(Subscription.status).not_in(ENDED))
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def plan_of(session: Session, company_id: uuid.UUID) -> Plan | None:
    """The plan whose limits apply: the live subscription's, else the trial's, else None."""
    subscription = live_subscription(session, company_id)
    if subscription is not None:
        return session.get(Plan, subscription.plan_id)
    trial = session.exec(select(Trial).where(Trial.company_id == company_id)).first()
    return session.get(Plan, trial.plan_id) if trial is not None else None


def usage_of(session: Session, company_id: uuid.UUID) -> Usage:
    seats = session.exec(
        select(sa.func.count()).select_from(User).where(User.company_id == company_id, col(User.is_active).is_(True))
    ).one()
    projects = session.exec(
        select(sa.func.count())
        .select_from(Project)
        .where(Project.company_id == company_id, Project.status == ProjectStatus.ACTIVE)
    ).one()
    storage = session.exec(
        select(sa.func.coalesce(sa.func.sum(StoredFile.size_bytes), 0)).where(StoredFile.company_id == company_id)
    ).one()
    return Usage(seats=int(seats), projects=int(projects), storage_bytes=int(storage))


def exceeded(limits: Limits, usage: Usage) -> list[str]:
    """The names of the limits `usage` is over ("seats", "projects", "storage")."""
    over = []
    if usage.seats > limits.seats:
        over.append("seats")
    if usage.projects > limits.projects:
        over.append("projects")
    if usage.storage_bytes > limits.storage_bytes:
        over.append("storage")
    return over


def check_seat_limit(session: Session, company_id: uuid.UUID) -> int:
    """Before a seat is taken (invite, accept, reactivate): the seats in use, or LimitReached when
    one more would pass the plan's seats."""
    plan = _locked_plan(session, company_id, "seats")
    used = usage_of(session, company_id).seats
    if plan is not None and used + 1 > plan.max_seats:
        raise LimitReached("error.limit_seats")
    return used


def check_project_limit(session: Session, company_id: uuid.UUID) -> int:
    """Before a project is created or restored: the active projects, or LimitReached when one more
    would pass the plan's projects."""
    plan = _locked_plan(session, company_id, "projects")
    used = usage_of(session, company_id).projects
    if plan is not None and used + 1 > plan.max_projects:
        raise LimitReached("error.limit_projects")
    return used


def check_storage_limit(session: Session, company_id: uuid.UUID, adding_bytes: int) -> int:
    """Before `adding_bytes` are stored: the bytes in use, or LimitReached when they would pass the
    plan's storage."""
    if adding_bytes < 0:
        raise ValueError("adding_bytes must not be negative")
    plan = _locked_plan(session, company_id, "storage")
    used = usage_of(session, company_id).storage_bytes
    if plan is not None and used + adding_bytes > Limits.of(plan).storage_bytes:
        raise LimitReached("error.limit_storage")
    return used


def _locked_plan(session: Session, company_id: uuid.UUID, limit: str) -> Plan | None:
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"limit:{limit}:{company_id}"}
    )
    read_only_at = session.exec(select(Company.read_only_at).where(Company.id == company_id)).first()
    if read_only_at is not None and clock.now() >= read_only_at:
        raise CompanyReadOnly()
    return plan_of(session, company_id)


def manager_emails(session: Session, company_id: uuid.UUID) -> list[str]:
    """Where the company's billing mail goes: its active managers."""
    return list(
        session.exec(
            select(User.email).where(
                User.company_id == company_id, User.role == Role.MANAGER, col(User.is_active).is_(True)
            )
        ).all()
    )


def row_of(session: Session, model: type[Row], row_id: object) -> Row:
    """A row a foreign key guarantees (RuntimeError if it is missing anyway)."""
    row = session.get(model, row_id)
    if row is None:
        raise RuntimeError(f"{model.__name__} {row_id} is missing")
    return row
