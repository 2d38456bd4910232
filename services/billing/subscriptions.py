"""Subscriptions: the manager's plan choice, and the company's billing overview.

States (Stripe's meaning): trialing (shown while the company's trial runs and it has no
subscription; the trial is its own row), active, past_due (an invoice is overdue), unpaid (overdue
past the grace period: the company is read-only), canceled (ended). Transitions:
- subscribe (no live subscription; the plan active; current usage within its limits): active at
  once, first period from now, its invoice issued in the same transaction, the trial converted and
  the company writable;
- change_plan to a dearer plan (upgrade): the plan changes at once and (new - old) x the rest of the
  period is added, exactly in minor units (services.billing.money.prorate), as a pending charge that
  the next invoice takes; to a plan costing the same or less (downgrade): scheduled for the period's
  end, refused if current usage is over the new limits (the message names the limit); choosing the
  current plan again drops a scheduled downgrade. The plan must bill in the same currency and
  interval (to change those: cancel, and subscribe anew when the period ends);
- cancel: at the period's end (the company becomes read-only then); resume: before it;
- renewals, past_due, unpaid and the end of a canceled subscription are the job worker's
  (services.billing.jobs); payments bring past_due/unpaid back to active (services.billing.payments).
The subscription row is locked (`FOR UPDATE`) by every change, so two changes queue. Audited.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models import Company, PendingCharge, Plan, Subscription, SubscriptionStatus, Trial, TrialStatus
from services import audit
from services.audit import AuditAction, AuditTarget
from services.billing import account, invoices, limits, money
from services.billing.plans import PlanInfo, list_plans, plan_info
from services.core import clock
from services.core.access import company_id_of
from services.core.actor import Actor
from services.core.errors import Conflict, NotFound
from services.core.policy import Action, authorize

TRIALING = "trialing"
NO_PLAN = "none"


@dataclass(frozen=True)
class Meter:
    used: int
    limit: int | None


@dataclass(frozen=True)
class BillingOverview:
    state: str  # a SubscriptionStatus value, "trialing", or "none" (no trial, no subscription)
    plan: PlanInfo | None
    read_only: bool
    trial_ends_at: datetime | None
    trial_days_left: int | None
    period_end: datetime | None
    cancel_at_period_end: bool
    scheduled_plan: PlanInfo | None
    seats: Meter
    projects: Meter
    storage_bytes: Meter
    plans: tuple[PlanInfo, ...]


def days_left(ends_at: datetime, now: datetime) -> int:
    """Whole days left, rounded up (a trial ending in 3 hours has 1 day left; an ended one 0)."""
    remaining = (ends_at - now).total_seconds()
    return max(0, math.ceil(remaining / 86400))


def overview(session: Session, actor: Actor) -> BillingOverview:
    """The manager's billing page: plan, state, trial days left, usage against limits, the plans."""
    authorize(actor, Action.BILLING_VIEW)
    company_id = company_id_of(actor)
    now = clock.now()
    subscription = limits.live_subscription(session, company_id)
    trial = session.exec(select(Trial).where(Trial.company_id == company_id)).first()
    plan = limits.plan_of(session, company_id)
    usage = limits.usage_of(session, company_id)
    lim = limits.Limits.of(plan) if plan is not None else None
    company = session.get(Company, company_id)
    read_only = company is not None and company.read_only_at is not None and now >= company.read_only_at
    if subscription is not None:
        state = subscription.status.value
    elif trial is not None and trial.status is TrialStatus.ACTIVE and now < trial.ends_at:
        state = TRIALING
    else:
        state = SubscriptionStatus.CANCELED.value if _had_subscription(session, company_id) else NO_PLAN
    scheduled = (
        session.get(Plan, subscription.scheduled_plan_id)
        if subscription is not None and subscription.scheduled_plan_id
        else None
    )
    show_trial = trial is not None and subscription is None
    return BillingOverview(
        state=state,
        plan=plan_info(plan) if plan is not None else None,
        read_only=read_only,
        trial_ends_at=trial.ends_at if show_trial and trial else None,
        trial_days_left=days_left(trial.ends_at, now) if show_trial and trial else None,
        period_end=subscription.current_period_end if subscription else None,
        cancel_at_period_end=subscription.cancel_at_period_end if subscription else False,
        scheduled_plan=plan_info(scheduled) if scheduled is not None else None,
        seats=Meter(usage.seats, lim.seats if lim else None),
        projects=Meter(usage.projects, lim.projects if lim else None),
        storage_bytes=Meter(usage.storage_bytes, lim.storage_bytes if lim else None),
        plans=tuple(list_plans(session, actor)),
    )


def subscribe(session: Session, actor: Actor, plan_id: uuid.UUID) -> invoices.InvoiceInfo:
    """Start a subscription on `plan_id`; returns its first invoice."""
    authorize(actor, Action.BILLING_MANAGE)
    company_id = company_id_of(actor)
    company = session.get(Company, company_id, with_for_update=True)  # one subscribe at a time
    if company is None:
        raise NotFound()
    live = limits.live_subscription(session, company_id, for_update=True)
    if live is not None and live.status is SubscriptionStatus.TRIALING:
        live.status = SubscriptionStatus.CANCELED  # a trial kept as a subscription row (older data)
        live.canceled_at = clock.now()
        session.add(live)
        session.flush()
    elif live is not None:
        raise Conflict("error.already_subscribed")
    plan = _choosable(session, plan_id)
    _refuse_over_limits(session, company_id, plan)
    now = clock.now()
    subscription = Subscription(
        company_id=company_id,
        plan_id=plan.id,
        status=SubscriptionStatus.ACTIVE,
        current_period_start=now,
        current_period_end=money.add_interval(now, plan.interval),
        period_anchor=now,
    )
    session.add(subscription)
    session.flush()
    trial = session.exec(select(Trial).where(Trial.company_id == company_id).with_for_update()).first()
    if trial is not None and trial.status is not TrialStatus.CONVERTED:
        trial.status = TrialStatus.CONVERTED
        trial.converted_at = now
        session.add(trial)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.SUBSCRIPTION_CREATED,
        company_id=company_id,
        target_type=AuditTarget.SUBSCRIPTION,
        target_id=subscription.id,
        changes={"plan": plan.code, "period_end": subscription.current_period_end},
    )
    invoice = invoices.issue_invoice(
        session,
        company=company,
        subscription=subscription,
        plan=plan,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        lines=[invoices.plan_line(plan)],
        actor=actor,
    )
    account.set_read_only_at(session, company_id, None)
    return invoices.invoice_info(session, invoice, with_lines=True)


def choose_plan(session: Session, actor: Actor, plan_id: uuid.UUID) -> str:
    """The billing page's one button: subscribe when there is no live subscription, else change the
    plan. Returns what happened: "subscribed", "upgrade", "downgrade_scheduled", "downgrade_dropped"."""
    authorize(actor, Action.BILLING_MANAGE)
    if limits.live_subscription(session, company_id_of(actor)) is None:
        subscribe(session, actor, plan_id)
        return "subscribed"
    return change_plan(session, actor, plan_id).kind


@dataclass(frozen=True)
class PlanChange:
    kind: str  # "upgrade" | "downgrade_scheduled" | "downgrade_dropped"
    proration_minor: int
    effective_at: datetime


def change_plan(session: Session, actor: Actor, plan_id: uuid.UUID) -> PlanChange:
    authorize(actor, Action.BILLING_MANAGE)
    company_id = company_id_of(actor)
    subscription = _live_locked(session, company_id)
    if subscription.status is SubscriptionStatus.UNPAID:
        raise Conflict("error.subscription_unpaid")
    current = limits.row_of(session, Plan, subscription.plan_id)
    now = clock.now()
    if plan_id == current.id:
        if subscription.scheduled_plan_id is None:
            raise Conflict("error.plan_unchanged")
        subscription.scheduled_plan_id = None
        session.add(subscription)
        session.flush()
        _audit(session, actor, subscription, AuditAction.SUBSCRIPTION_DOWNGRADE_SCHEDULED, {"plan": None})
        return PlanChange("downgrade_dropped", 0, now)
    plan = _choosable(session, plan_id)
    if plan.currency != current.currency or plan.interval is not current.interval:
        raise Conflict("error.plan_terms_differ")
    if plan.price_minor > current.price_minor:
        amount = money.prorate(
            current.price_minor,
            plan.price_minor,
            money.seconds(subscription.current_period_end - now),
            money.seconds(subscription.current_period_end - subscription.current_period_start),
        )
        if amount:
            session.add(
                PendingCharge(
                    company_id=company_id,
                    subscription_id=subscription.id,
                    description=f"Proration: {current.name} -> {plan.name} from {now:%Y-%m-%d}",
                    amount_minor=amount,
                    currency=plan.currency,
                )
            )
        subscription.plan_id = plan.id
        subscription.scheduled_plan_id = None
        session.add(subscription)
        session.flush()
        _audit(
            session,
            actor,
            subscription,
            AuditAction.SUBSCRIPTION_UPGRADED,
            {"plan": {"from": current.code, "to": plan.code}, "proration_minor": amount},
        )
        return PlanChange("upgrade", amount, now)
    _refuse_over_limits(session, company_id, plan)
    subscription.scheduled_plan_id = plan.id
    session.add(subscription)
    session.flush()
    _audit(
        session,
        actor,
        subscription,
        AuditAction.SUBSCRIPTION_DOWNGRADE_SCHEDULED,
        {"plan": plan.code, "at": subscription.current_period_end},
    )
    return PlanChange("downgrade_scheduled", 0, subscription.current_period_end)


def cancel(session: Session, actor: Actor) -> datetime:
    """Cancel at the period's end (returned); the company turns read-only then."""
    authorize(actor, Action.BILLING_MANAGE)
    subscription = _live_locked(session, company_id_of(actor))
    if not subscription.cancel_at_period_end:
        subscription.cancel_at_period_end = True
        subscription.canceled_at = clock.now()
        session.add(subscription)
        session.flush()
        _audit(
            session,
            actor,
            subscription,
            AuditAction.SUBSCRIPTION_CANCEL_SCHEDULED,
            {"at": subscription.current_period_end},
        )
        if subscription.status is not SubscriptionStatus.UNPAID:
            account.set_read_only_at(session, subscription.company_id, subscription.current_period_end)
    return subscription.current_period_end


def resume(session: Session, actor: Actor) -> None:
    """Undo a scheduled cancellation (before the period ends)."""
    authorize(actor, Action.BILLING_MANAGE)
    subscription = _live_locked(session, company_id_of(actor))
    if not subscription.cancel_at_period_end:
        raise Conflict("error.not_canceled")
    subscription.cancel_at_period_end = False
    subscription.canceled_at = None
    session.add(subscription)
    session.flush()
    _audit(session, actor, subscription, AuditAction.SUBSCRIPTION_RESUMED, {})
    if subscription.status is not SubscriptionStatus.UNPAID:
        account.set_read_only_at(session, subscription.company_id, None)


# ---- internals ------------------------------------------------------------------------------


def _had_subscription(session: Session, company_id: uuid.UUID) -> bool:
    return session.exec(select(Subscription.id).where(Subscription.company_id == company_id)).first() is not None


def _live_locked(session: Session, company_id: uuid.UUID) -> Subscription:
    subscription = limits.live_subscription(session, company_id, for_update=True)
    if subscription is None:
        raise Conflict("error.no_subscription")
    return subscription


def _choosable(session: Session, plan_id: uuid.UUID) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound()
    if not plan.is_active:
        raise Conflict("error.plan_retired")
    return plan


def _refuse_over_limits(session: Session, company_id: uuid.UUID, plan: Plan) -> None:
    over = limits.exceeded(limits.Limits.of(plan), limits.usage_of(session, company_id))
    if over:
        raise Conflict(f"error.plan_too_small_{over[0]}")


def _audit(
    session: Session, actor: Actor, subscription: Subscription, action: AuditAction, changes: dict[str, object]
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        company_id=subscription.company_id,
        target_type=AuditTarget.SUBSCRIPTION,
        target_id=subscription.id,
        changes=changes,
    )
