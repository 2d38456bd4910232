"""Payments against invoices: the operator records bank transfers and refunds (PAYMENT_RECORD); the
payment provider's webhook records card payments through `apply_payment` too.

Partial payments add up; the invoice becomes paid when the payments (net of refunds) cover its total,
and then its subscription, if past_due or unpaid with nothing else overdue, is active again and the
company writable. A payment may not exceed the balance, nor be made in another currency. A refund is
a negative payment (status refunded) with a reason, at most what was paid; a paid invoice stays paid
(as in Stripe). The invoice row is locked first (`FOR UPDATE`), so two payments of one invoice queue.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Subscription,
    SubscriptionStatus,
)
from services import audit
from services.audit import AuditAction, AuditTarget
from services.billing import account, invoices
from services.core import clock
from services.core.access import access_by_id
from services.core.actor import Actor
from services.core.errors import Conflict, ValidationFailed
from services.core.policy import Action

PAYABLE = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
MAX_TEXT = 200


def record_payment(
    session: Session,
    actor: Actor,
    invoice_id: uuid.UUID,
    *,
    amount_minor: int,
    currency: str,
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
    paid_at: datetime | None = None,
) -> invoices.PaymentInfo:
    """The operator records a payment received (see the module docstring)."""
    invoice = access_by_id(session, actor, Action.PAYMENT_RECORD, Invoice, invoice_id, for_update=True)
    payment = apply_payment(
        session,
        invoice,
        amount_minor=amount_minor,
        currency=currency,
        method=method,
        reference=reference,
        paid_at=paid_at,
        actor=actor,
    )
    return _info(payment, invoice)


def apply_payment(
    session: Session,
    invoice: Invoice,
    *,
    amount_minor: int,
    currency: str,
    method: PaymentMethod,
    reference: str = "",
    paid_at: datetime | None = None,
    actor: Actor | None = None,
) -> Payment:
    """Record a payment on a locked invoice; ValidationFailed / Conflict when it does not fit."""
    if invoice.status not in PAYABLE:
        raise Conflict("error.invoice_not_payable")
    if currency.strip().upper() != invoice.currency:
        raise ValidationFailed("error.payment_currency")
    balance = invoice.total_minor - invoices.paid_minor(session, invoice.id)
    if not 0 < amount_minor <= balance:
        raise ValidationFailed("error.payment_amount")
    reference = reference.strip()
    if len(reference) > MAX_TEXT:
        raise ValidationFailed("error.payment_reference")
    now = clock.now()
    payment = Payment(
        company_id=invoice.company_id,
        invoice_id=invoice.id,
        amount_minor=amount_minor,
        currency=invoice.currency,
        status=PaymentStatus.SUCCEEDED,
        method=method,
        reference=reference,
        recorded_by_id=actor.user_id if actor is not None and actor.company_id == invoice.company_id else None,
        paid_at=paid_at or now,
    )
    session.add(payment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.PAYMENT_RECORDED,
        company_id=invoice.company_id,
        target_type=AuditTarget.PAYMENT,
        target_id=payment.id,
        changes={
            "invoice": invoice.number,
            "amount_minor": amount_minor,
            "currency": invoice.currency,
            "method": method,
        },
    )
    if amount_minor == balance:
        _mark_paid(session, invoice, actor)
    return payment


def refund_payment(
    session: Session, actor: Actor, invoice_id: uuid.UUID, *, amount_minor: int, reason: str
) -> invoices.PaymentInfo:
    """Record a refund of `amount_minor` (> 0, at most what was paid) on an invoice, with a reason."""
    invoice = access_by_id(session, actor, Action.PAYMENT_RECORD, Invoice, invoice_id, for_update=True)
    reason = reason.strip()
    if not reason or len(reason) > 300:
        raise ValidationFailed("error.refund_reason_required")
    if not 0 < amount_minor <= invoices.paid_minor(session, invoice.id):
        raise ValidationFailed("error.refund_amount")
    refund = Payment(
        company_id=invoice.company_id,
        invoice_id=invoice.id,
        amount_minor=-amount_minor,
        currency=invoice.currency,
        status=PaymentStatus.REFUNDED,
        method=PaymentMethod.MANUAL,
        reason=reason,
        paid_at=clock.now(),
    )
    session.add(refund)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.PAYMENT_REFUNDED,
        company_id=invoice.company_id,
        target_type=AuditTarget.PAYMENT,
        target_id=refund.id,
        changes={"invoice": invoice.number, "amount_minor": -amount_minor, "reason": reason},
    )
    return _info(refund, invoice)


def _mark_paid(session: Session, invoice: Invoice, actor: Actor | None) -> None:
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = clock.now()
    session.add(invoice)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.INVOICE_PAID,
        company_id=invoice.company_id,
        target_type=AuditTarget.INVOICE,
        target_id=invoice.id,
        changes={"number": invoice.number},
    )
    if invoice.subscription_id is None:
        return
    subscription = session.exec(
        select(Subscription).where(Subscription.id == invoice.subscription_id).with_for_update()
    ).first()
    if subscription is None or subscription.status not in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        return
    still_overdue = session.exec(
        select(Invoice.id).where(
            Invoice.subscription_id == subscription.id,
            col(Invoice.status).in_(PAYABLE),
            col(Invoice.due_at) <= clock.now(),
        )
    ).first()
    if still_overdue is not None:
        return
    before = subscription.status
    subscription.status = SubscriptionStatus.ACTIVE
    session.add(subscription)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.SUBSCRIPTION_STATUS_CHANGED,
        company_id=subscription.company_id,
        target_type=AuditTarget.SUBSCRIPTION,
        target_id=subscription.id,
        changes={"status": {"from": before, "to": SubscriptionStatus.ACTIVE}, "why": "paid"},
    )
    account.set_read_only_at(
        session, subscription.company_id, subscription.current_period_end if subscription.cancel_at_period_end else None
    )


def _info(payment: Payment, invoice: Invoice) -> invoices.PaymentInfo:
    return invoices.PaymentInfo(
        id=payment.id,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        status=payment.status,
        method=payment.method.value,
        reference=payment.reference,
        reason=payment.reason,
        paid_at=payment.paid_at,
    )
