"""Billing's periodic work, run by the job worker (services/worker.py) as system work (no tenant).

Each function is safe to run twice, or on two workers at once:
- `renew_subscriptions`: every live subscription whose period has ended, one at a time under its
  row lock (`FOR UPDATE SKIP LOCKED`: another worker takes the next one): a subscription set to
  cancel ends (canceled); any other moves to its next period (a scheduled downgrade applies) and
  gets that period's invoice, catching up every period missed while no worker ran. The unique index
  uq_invoices_subscription_period refuses a second live invoice for a period whatever happens;
- `expire_trials`: trials past their end are marked expired and the managers told (the company
  turned read-only at that moment by itself: companies.read_only_at);
- `chase_overdue`: an open invoice past its due date makes its subscription past_due and sends an
  overdue mail; BILLING_GRACE_DAYS later the subscription becomes unpaid, the company read-only,
  and a final notice goes out. `invoices.dunning_level` records the mails sent, so each goes once.
Mail goes through services.core.mailer in the same transaction's lifetime: if sending fails, the
state change rolls back with it and the next run retries.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models import (
    Company,
    Invoice,
    InvoiceStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
    Trial,
    TrialStatus,
)
from services import audit
from services.audit import AuditAction, AuditTarget
from services.billing import account, invoices, limits, money
from services.core import clock, mailer
from services.core.settings import get_settings

RENEWING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
MAX_CATCH_UP = 240  # periods per subscription per run: 20 years of months


def renew_subscriptions(session: Session) -> int:
    """Renew or end every subscription whose period is over; returns the invoices issued."""
    issued = 0
    now = clock.now()
    while True:
        subscription = session.exec(
            select(Subscription)
            .where(col(Subscription.status).in_(RENEWING), col(Subscription.current_period_end) <= now)
            .order_by(col(Subscription.current_period_end))
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if subscription is None:
            return issued
        issued += _renew(session, subscription, now)  # afterwards it no longer matches the query


def _renew(session: Session, subscription: Subscription, now: datetime) -> int:
    company = limits.row_of(session, Company, subscription.company_id)
    issued = 0
    for _ in range(MAX_CATCH_UP):
        if subscription.current_period_end > now:
            break
        if subscription.cancel_at_period_end:
            subscription.status = SubscriptionStatus.CANCELED
            subscription.canceled_at = subscription.current_period_end
            session.add(subscription)
            session.flush()
            _audit(session, subscription, AuditAction.SUBSCRIPTION_STATUS_CHANGED, {"status": "canceled"})
            account.set_read_only_at(session, company.id, subscription.current_period_end)
            return issued
        if subscription.scheduled_plan_id is not None:
            old = subscription.plan_id
            subscription.plan_id = subscription.scheduled_plan_id
            subscription.scheduled_plan_id = None
            _audit(
                session,
                subscription,
                AuditAction.SUBSCRIPTION_DOWNGRADED,
                {"plan": {"from": old, "to": subscription.plan_id}},
            )
        plan = limits.row_of(session, Plan, subscription.plan_id)
        start = subscription.current_period_end
        end = money.next_period_end(
            subscription.period_anchor or subscription.current_period_start, start, plan.interval
        )
        subscription.current_period_start, subscription.current_period_end = start, end
        session.add(subscription)
        session.flush()
        invoices.issue_invoice(
            session,
            company=company,
            subscription=subscription,
            plan=plan,
            period_start=start,
            period_end=end,
            lines=[invoices.plan_line(plan)],
        )
        _audit(session, subscription, AuditAction.SUBSCRIPTION_RENEWED, {"period_start": start, "period_end": end})
        issued += 1
    return issued


def expire_trials(session: Session) -> int:
    """End every active trial whose time is up; tell the company's managers."""
    trials = session.exec(
        select(Trial)
        .where(Trial.status == TrialStatus.ACTIVE, col(Trial.ends_at) <= clock.now())
        .with_for_update(skip_locked=True)
    ).all()
    for trial in trials:
        trial.status = TrialStatus.EXPIRED
        session.add(trial)
        session.flush()
        audit.record(
            session,
            actor=None,
            action=AuditAction.TRIAL_ENDED,
            company_id=trial.company_id,
            target_type=AuditTarget.TRIAL,
            target_id=trial.id,
            changes={"ended_at": trial.ends_at},
        )
        _mail_managers(
            session,
            trial.company_id,
            "Your Workdash trial has ended",
            "Your trial has ended and your company is now read-only: you can still view and export everything.\n"
            f"Choose a plan to continue working: {mailer.app_link('/billing')}\n",
        )
    return len(trials)


def chase_overdue(session: Session) -> int:
    """past_due after the due date, unpaid after the grace period, one mail each; returns the changes."""
    now = clock.now()
    grace = timedelta(days=get_settings().billing_grace_days)
    changed = 0
    overdue = session.exec(
        select(Invoice)
        .where(
            col(Invoice.status) == InvoiceStatus.OPEN,
            col(Invoice.due_at) <= now,
            col(Invoice.dunning_level) < 2,
            col(Invoice.subscription_id).is_not(None),
        )
        .order_by(col(Invoice.due_at))
        .with_for_update(skip_locked=True)
    ).all()
    for invoice in overdue:
        subscription = session.exec(
            select(Subscription).where(Subscription.id == invoice.subscription_id).with_for_update()
        ).first()
        if subscription is None or subscription.status not in RENEWING:
            continue
        due_at = invoice.due_at or now
        balance = money.format_money(invoice.total_minor - invoices.paid_minor(session, invoice.id), invoice.currency)
        if due_at + grace <= now:
            if subscription.status is not SubscriptionStatus.UNPAID:  # read-only since the first unpaid invoice
                _set_status(session, subscription, SubscriptionStatus.UNPAID)
                account.set_read_only_at(session, subscription.company_id, now)
            _remind(
                session,
                invoice,
                2,
                "Final notice: your company is now read-only",
                f"Invoice {invoice.number} ({balance}) is unpaid {grace.days} days after its due date, so your "
                "company is now read-only. Pay it to continue working.\n",
            )
        elif invoice.dunning_level < 1:
            if subscription.status is SubscriptionStatus.ACTIVE:
                _set_status(session, subscription, SubscriptionStatus.PAST_DUE)
            _remind(
                session,
                invoice,
                1,
                f"Invoice {invoice.number} is overdue",
                f"Invoice {invoice.number} ({balance}) was due on {mailer.mail_time(due_at)}. "
                f"Please pay it within {grace.days} days to keep your company writable.\n",
            )
        else:
            continue
        changed += 1
    return changed


def _set_status(session: Session, subscription: Subscription, status: SubscriptionStatus) -> None:
    if subscription.status is status:
        return
    before = subscription.status
    subscription.status = status
    session.add(subscription)
    session.flush()
    _audit(session, subscription, AuditAction.SUBSCRIPTION_STATUS_CHANGED, {"status": {"from": before, "to": status}})


def _remind(session: Session, invoice: Invoice, level: int, subject: str, body: str) -> None:
    invoice.dunning_level = level
    session.add(invoice)
    session.flush()
    _mail_managers(session, invoice.company_id, subject, body + f"Billing: {mailer.app_link('/billing')}\n")


def _mail_managers(session: Session, company_id: uuid.UUID, subject: str, body: str) -> None:
    for email in limits.manager_emails(session, company_id):
        mailer.send_mail(email, subject, body)


def _audit(session: Session, subscription: Subscription, action: AuditAction, changes: dict[str, object]) -> None:
    audit.record(
        session,
        actor=None,
        action=action,
        company_id=subscription.company_id,
        target_type=AuditTarget.SUBSCRIPTION,
        target_id=subscription.id,
        changes=changes,
    )


def run_billing_jobs(session: Session) -> dict[str, int]:
    """Every billing job once, in order (renewals first: a new period's invoice may be overdue later)."""
    return {
        "invoices_issued": renew_subscriptions(session),
        "trials_expired": expire_trials(session),
        "overdue_changes": chase_overdue(session),
    }
