"""The operator's billing console (BILLING_ADMIN): subscriptions across companies, revenue by month
and monthly recurring revenue (MRR), per currency (amounts in different currencies never add up).

Revenue of a month: the payments received in it, refunds subtracted (by `paid_at`, UTC months).
MRR at a month's end: every subscription live then (started before, not canceled before) at its
current plan's price per month (a yearly price / 12, rounded half away from zero). The history uses
each subscription's plan as it is now: a plan change moves its whole past, a known simplification.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import BillingInterval, Company, Payment, PaymentStatus, Plan, Subscription, SubscriptionStatus
from services.billing import money
from services.core import clock
from services.core.access import in_scope
from services.core.actor import Actor
from services.core.policy import Action, authorize

LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)


@dataclass(frozen=True)
class SubscriptionRow:
    id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    plan_name: str
    status: SubscriptionStatus
    current_period_end: datetime
    cancel_at_period_end: bool
    monthly_minor: int
    currency: str


@dataclass(frozen=True)
class MonthAmount:
    month: str  # YYYY-MM
    currency: str
    amount_minor: int


def monthly_price(plan: Plan) -> int:
    return plan.price_minor if plan.interval is BillingInterval.MONTH else money.div_round(plan.price_minor, 12)


def list_subscriptions(
    session: Session,
    actor: Actor,
    *,
    status: SubscriptionStatus | None = None,
    company_id: uuid.UUID | None = None,
) -> list[SubscriptionRow]:
    authorize(actor, Action.BILLING_ADMIN)
    query = (
        select(Subscription, Company.name, Plan)
        .join(Company, col(Company.id) == col(Subscription.company_id))
        .join(Plan, col(Plan.id) == col(Subscription.plan_id))
        .where(in_scope(actor, Action.BILLING_ADMIN, Subscription))
    )
    if status is not None:
        query = query.where(Subscription.status == status)
    if company_id is not None:
        query = query.where(Subscription.company_id == company_id)
    rows = session.exec(query.order_by(col(Company.name), col(Subscription.created_at).desc()).limit(500)).all()
    return [
        SubscriptionRow(
            id=sub.id,
            company_id=sub.company_id,
            company_name=name,
            plan_name=plan.name,
            status=sub.status,
            current_period_end=sub.current_period_end,
            cancel_at_period_end=sub.cancel_at_period_end,
            monthly_minor=monthly_price(plan),
            currency=plan.currency,
        )
        for sub, name, plan in rows
    ]


def _months_back(now: datetime, count: int) -> list[datetime]:
    """The first moments of the last `count` months (oldest first), this month included."""
    first = datetime(now.year, now.month, 1, tzinfo=UTC)
    return [money.add_interval(first, BillingInterval.MONTH, -n) for n in range(count - 1, -1, -1)]


def revenue_by_month(session: Session, actor: Actor, months: int = 12) -> list[MonthAmount]:
    authorize(actor, Action.BILLING_ADMIN)
    starts = _months_back(clock.now(), max(1, min(months, 60)))
    month = sa.func.to_char(sa.func.timezone("UTC", col(Payment.paid_at)), "YYYY-MM")
    rows = session.exec(
        select(month, Payment.currency, sa.func.sum(Payment.amount_minor))
        .where(
            in_scope(actor, Action.BILLING_ADMIN, Payment),
            col(Payment.status).in_([PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED]),
            col(Payment.paid_at) >= starts[0],
        )
        .group_by(month, Payment.currency)
    ).all()
    found = {(m, c): int(a) for m, c, a in rows}
    currencies = sorted({c for _, c in found}) or ["USD"]
    return [
        MonthAmount(f"{start:%Y-%m}", currency, found.get((f"{start:%Y-%m}", currency), 0))
        for start in starts
        for currency in currencies
    ]


def mrr_by_month(session: Session, actor: Actor, months: int = 12) -> list[MonthAmount]:
    authorize(actor, Action.BILLING_ADMIN)
    now = clock.now()
    starts = _months_back(now, max(1, min(months, 60)))
    rows = session.exec(
        select(Subscription, Plan)
        .join(Plan, col(Plan.id) == col(Subscription.plan_id))
        .where(in_scope(actor, Action.BILLING_ADMIN, Subscription))
    ).all()
    totals: dict[tuple[str, str], int] = defaultdict(int)
    currencies = {plan.currency for _, plan in rows} or {"USD"}
    for start in starts:
        moment = min(money.add_interval(start, BillingInterval.MONTH), now)
        for sub, plan in rows:
            began = sub.period_anchor or sub.created_at
            ended = sub.status not in LIVE and (sub.canceled_at or sub.updated_at) <= moment
            if began <= moment and not ended:
                totals[(f"{start:%Y-%m}", plan.currency)] += monthly_price(plan)
    return [
        MonthAmount(f"{start:%Y-%m}", currency, totals.get((f"{start:%Y-%m}", currency), 0))
        for start in starts
        for currency in sorted(currencies)
    ]
