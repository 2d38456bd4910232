"""The plan catalogue: the operator (PLAN_MANAGE) creates, edits, retires and restores plans; a
company's manager (BILLING_VIEW) sees the active ones to choose from.

A plan's code, currency and interval are fixed once it exists (subscriptions and invoices rely on
them); name, price, limits and trial length may change. A new price applies to invoices issued from
then on: an issued invoice is frozen (a database trigger, revision 466f56142e8a). A retired plan
keeps its subscribers (they renew on it) and cannot be chosen anew; plans are never deleted.
Operator-wide audit entries (company None).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import BillingInterval, Plan
from services import audit
from services.audit import AuditAction, AuditTarget
from services.core.actor import Actor
from services.core.errors import Conflict, NotFound, ValidationFailed
from services.core.policy import Action, authorize

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")
MAX_PRICE_MINOR = 100_000_000_00  # 100 million in major units: far above any plan, far below BIGINT
MAX_LIMIT = 1_000_000_000


@dataclass(frozen=True)
class PlanInput:
    name: str
    price_minor: int
    max_seats: int
    max_projects: int
    max_storage_mb: int
    trial_days: int
    code: str = ""  # create only
    currency: str = "USD"  # create only
    interval: BillingInterval = BillingInterval.MONTH  # create only


@dataclass(frozen=True)
class PlanInfo:
    id: uuid.UUID
    code: str
    name: str
    price_minor: int
    currency: str
    interval: BillingInterval
    max_seats: int
    max_projects: int
    max_storage_mb: int
    trial_days: int
    is_active: bool


def plan_info(plan: Plan) -> PlanInfo:
    return PlanInfo(
        id=plan.id,
        code=plan.code,
        name=plan.name,
        price_minor=plan.price_minor,
        currency=plan.currency,
        interval=plan.interval,
        max_seats=plan.max_seats,
        max_projects=plan.max_projects,
        max_storage_mb=plan.max_storage_mb,
        trial_days=plan.trial_days,
        is_active=plan.is_active,
    )


def list_plans(session: Session, actor: Actor, *, action: Action = Action.BILLING_VIEW) -> list[PlanInfo]:
    """The active plans to choose from (BILLING_VIEW), or every plan for the catalogue's editor
    (action=PLAN_MANAGE). Cheapest first."""
    authorize(actor, action)
    query = select(Plan)
    if action is not Action.PLAN_MANAGE:
        query = query.where(col(Plan.is_active).is_(True))
    return [plan_info(p) for p in session.exec(query.order_by(col(Plan.price_minor), col(Plan.name))).all()]


def create_plan(session: Session, actor: Actor, data: PlanInput) -> PlanInfo:
    authorize(actor, Action.PLAN_MANAGE)
    code = data.code.strip().lower()
    if not CODE_RE.match(code):
        raise ValidationFailed("error.plan_code")
    currency = data.currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValidationFailed("error.plan_currency")
    _validate(data)
    if session.exec(select(Plan.id).where(Plan.code == code)).first() is not None:
        raise Conflict("error.plan_code_taken")
    plan = Plan(
        code=code,
        name=data.name.strip(),
        price_minor=data.price_minor,
        currency=currency,
        interval=data.interval,
        max_seats=data.max_seats,
        max_projects=data.max_projects,
        max_storage_mb=data.max_storage_mb,
        trial_days=data.trial_days,
    )
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError as exc:  # the same code, created a moment ago
        raise Conflict("error.plan_code_taken") from exc
    info = plan_info(plan)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.PLAN_CREATED,
        company_id=None,
        target_type=AuditTarget.PLAN,
        target_id=plan.id,
        changes=audit.snapshot(plan, [*_EDITABLE, "code", "currency", "interval"]),
    )
    return info


_EDITABLE = ("name", "price_minor", "max_seats", "max_projects", "max_storage_mb", "trial_days")


def update_plan(session: Session, actor: Actor, plan_id: uuid.UUID, data: PlanInput) -> PlanInfo:
    """Change name, price, limits and trial length (code, currency and interval stay)."""
    authorize(actor, Action.PLAN_MANAGE)
    plan = _plan(session, plan_id)
    _validate(data)
    before = audit.snapshot(plan, list(_EDITABLE))
    plan.name = data.name.strip()
    plan.price_minor = data.price_minor
    plan.max_seats = data.max_seats
    plan.max_projects = data.max_projects
    plan.max_storage_mb = data.max_storage_mb
    plan.trial_days = data.trial_days
    session.add(plan)
    session.flush()
    changes = audit.diff(before, audit.snapshot(plan, list(_EDITABLE)))
    if changes:
        audit.record(
            session,
            actor=actor,
            action=AuditAction.PLAN_UPDATED,
            company_id=None,
            target_type=AuditTarget.PLAN,
            target_id=plan.id,
            changes=changes,
        )
    return plan_info(plan)


def set_plan_active(session: Session, actor: Actor, plan_id: uuid.UUID, active: bool) -> PlanInfo:
    """Retire (no new subscriptions or trials; subscribers keep it) or restore a plan."""
    authorize(actor, Action.PLAN_MANAGE)
    plan = _plan(session, plan_id)
    if plan.is_active is not active:
        plan.is_active = active
        session.add(plan)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=AuditAction.PLAN_RESTORED if active else AuditAction.PLAN_RETIRED,
            company_id=None,
            target_type=AuditTarget.PLAN,
            target_id=plan.id,
            changes={"code": plan.code},
        )
    return plan_info(plan)


def save_plan(session: Session, actor: Actor, data: PlanInput) -> PlanInfo:
    """The catalogue form: edit the plan with `data.code` if there is one (its currency and interval
    stay), else create it."""
    authorize(actor, Action.PLAN_MANAGE)
    existing = session.exec(select(Plan.id).where(Plan.code == data.code.strip().lower())).first()
    if existing is not None:
        return update_plan(session, actor, existing, data)
    return create_plan(session, actor, data)


def _plan(session: Session, plan_id: uuid.UUID) -> Plan:
    plan = session.exec(select(Plan).where(Plan.id == plan_id).with_for_update()).first()
    if plan is None:
        raise NotFound()
    return plan


def _validate(data: PlanInput) -> None:
    name = data.name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("error.plan_name")
    if not 0 <= data.price_minor <= MAX_PRICE_MINOR:
        raise ValidationFailed("error.plan_price")
    if not all(0 < value <= MAX_LIMIT for value in (data.max_seats, data.max_projects, data.max_storage_mb)):
        raise ValidationFailed("error.plan_limits")
    if not 0 <= data.trial_days <= 365:
        raise ValidationFailed("error.plan_trial_days")
