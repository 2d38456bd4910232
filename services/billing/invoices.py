"""Invoices: issuing (with gapless per-company numbers), reading, voiding and reissuing.

Issuing (`issue_invoice`, for the subscription code and the job worker) happens in the caller's
transaction: the number comes from the company's `invoice_counters` row for the year, bumped by an
upsert that locks the row until the transaction ends, so two issuers for one company queue and a
rolled-back issue gives its number back (no gaps, no duplicates; `ACME-2026-0001`). The invoice is
written as a draft with its lines, then finalized (open) with subtotal, tax at BILLING_TAX_RATE_BP,
total and due date; from then on a trigger refuses any change of its number, money or lines. One
live (not void) invoice per subscription period: the unique index uq_invoices_subscription_period.

Voiding (the operator, INVOICE_VOID): an open or uncollectible invoice without payments becomes void
with a reason; `reissue` writes a corrected copy for the same period (plan line at the plan's
current price, the other lines as they were, today's tax rate and company name), taking over its
pending charges. Audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import (
    Company,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    PendingCharge,
    Plan,
    Subscription,
)
from services import audit
from services.audit import AuditAction, AuditTarget
from services.billing import limits, money
from services.core import clock, jobqueue, mailer
from services.core.access import access_by_id, in_scope
from services.core.actor import Actor
from services.core.errors import Conflict, ValidationFailed
from services.core.policy import Action, authorize
from services.core.settings import get_settings

PLAN_LINE_PREFIX = "Plan: "
INVOICE_MAIL_TASK = "billing.invoice_issued_mail"  # services/worker.py runs it
MAX_REASON = 300


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True)
class LineInfo:
    description: str
    quantity: int
    unit_price_minor: int
    amount_minor: int


@dataclass(frozen=True)
class PaymentInfo:
    id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str
    amount_minor: int
    currency: str
    status: PaymentStatus
    method: str
    reference: str
    reason: str
    paid_at: datetime | None


@dataclass(frozen=True)
class InvoiceInfo:
    id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    number: str
    status: InvoiceStatus
    currency: str
    subtotal_minor: int
    tax_rate_bp: int
    tax_minor: int
    total_minor: int
    paid_minor: int
    bill_to_name: str
    period_start: datetime | None
    period_end: datetime | None
    issued_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    void_reason: str
    lines: tuple[LineInfo, ...] = ()

    @property
    def balance_minor(self) -> int:
        return self.total_minor - self.paid_minor


# ---- issuing --------------------------------------------------------------------------------


def number_prefix(company: Company) -> str:
    """ACME from the slug `acme`, ACMEINC from `acme-inc` (letters and digits, at most 12)."""
    prefix = re.sub(r"[^A-Z0-9]", "", company.slug.upper())[:12]
    return prefix or "INV"


def next_number(session: Session, company: Company, year: int) -> str:
    """The company's next invoice number of `year`; the counter row stays locked until commit."""
    last = session.execute(
        sa.text(
            "INSERT INTO invoice_counters (company_id, year, last_number) VALUES (:c, :y, 1) "
            "ON CONFLICT (company_id, year) DO UPDATE SET last_number = invoice_counters.last_number + 1 "
            "RETURNING last_number"
        ),
        {"c": company.id, "y": year},
    ).scalar_one()
    return f"{number_prefix(company)}-{year}-{int(last):04d}"


def issue_invoice(
    session: Session,
    *,
    company: Company,
    subscription: Subscription | None,
    plan: Plan | None,
    period_start: datetime | None,
    period_end: datetime | None,
    lines: Sequence[Line],
    actor: Actor | None = None,
    take_pending: bool = True,
) -> Invoice:
    """Write and finalize one invoice (see the module docstring). `take_pending`: add the
    subscription's pending charges (an upgrade's proration) as lines and mark them taken."""
    now = clock.now()
    settings = get_settings()
    currency = plan.currency if plan is not None else "USD"
    all_lines = list(lines)
    pending: list[PendingCharge] = []
    if take_pending and subscription is not None:
        pending = list(
            session.exec(
                select(PendingCharge)
                .where(PendingCharge.subscription_id == subscription.id, col(PendingCharge.invoice_id).is_(None))
                .order_by(col(PendingCharge.created_at))
                .with_for_update()
            ).all()
        )
        all_lines += [Line(charge.description, 1, charge.amount_minor) for charge in pending]
    subtotal, tax, total = money.totals(
        (line.quantity * line.unit_price_minor for line in all_lines), settings.billing_tax_rate_bp
    )
    invoice = Invoice(
        company_id=company.id,
        subscription_id=subscription.id if subscription else None,
        plan_id=plan.id if plan else None,
        number=next_number(session, company, now.year),
        status=InvoiceStatus.DRAFT,
        currency=currency,
        subtotal_minor=subtotal,
        tax_rate_bp=settings.billing_tax_rate_bp,
        tax_minor=tax,
        total_minor=total,
        bill_to_name=company.name[:200],
        period_start=period_start,
        period_end=period_end,
    )
    session.add(invoice)
    session.flush()
    for line in all_lines:
        session.add(
            InvoiceLineItem(
                company_id=company.id,
                invoice_id=invoice.id,
                description=line.description[:300],
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                amount_minor=line.quantity * line.unit_price_minor,
            )
        )
    for charge in pending:
        charge.invoice_id = invoice.id
        session.add(charge)
    session.flush()
    invoice.status = InvoiceStatus.OPEN
    invoice.issued_at = now
    invoice.due_at = now + timedelta(days=settings.billing_due_days)
    if total == 0:  # nothing to pay (a free plan): paid at once
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = now
    session.add(invoice)
    session.flush()
    if invoice.status is InvoiceStatus.OPEN:  # the mail goes if and only if this transaction commits
        jobqueue.enqueue(session, INVOICE_MAIL_TASK, {"invoice_id": str(invoice.id)})
    audit.record(
        session,
        actor=actor,
        action=AuditAction.INVOICE_ISSUED,
        company_id=company.id,
        target_type=AuditTarget.INVOICE,
        target_id=invoice.id,
        changes={
            "number": invoice.number,
            "total_minor": total,
            "currency": currency,
            "period_start": period_start,
            "period_end": period_end,
        },
    )
    return invoice


def send_invoice_mail(session: Session, invoice_id: uuid.UUID) -> bool:
    """System work (the worker): tell the company's managers an invoice was issued; False when it is
    gone or no longer open (nothing to pay)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.status is not InvoiceStatus.OPEN:
        return False
    total = money.format_money(invoice.total_minor, invoice.currency)
    due = mailer.mail_time(invoice.due_at) if invoice.due_at else ""
    for email in limits.manager_emails(session, invoice.company_id):
        mailer.send_mail(
            email,
            f"Invoice {invoice.number} ({total})",
            f"Invoice {invoice.number} for {total} was issued, due on {due}.\n"
            f"See it and download the PDF: {mailer.app_link('/billing')}\n",
        )
    return True


def plan_line(plan: Plan) -> Line:
    return Line(f"{PLAN_LINE_PREFIX}{plan.name} ({plan.interval.value})", 1, plan.price_minor)


# ---- reading --------------------------------------------------------------------------------


def paid_minor(session: Session, invoice_id: uuid.UUID) -> int:
    """What has been paid on an invoice, net of refunds."""
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(Payment.amount_minor), 0)).where(
            Payment.invoice_id == invoice_id,
            col(Payment.status).in_([PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED]),
        )
    ).one()
    return int(total)


def invoice_info(session: Session, invoice: Invoice, *, with_lines: bool = False) -> InvoiceInfo:
    company = session.get(Company, invoice.company_id)
    lines: tuple[LineInfo, ...] = ()
    if with_lines:
        rows = session.exec(
            select(InvoiceLineItem)
            .where(InvoiceLineItem.invoice_id == invoice.id, InvoiceLineItem.company_id == invoice.company_id)
            .order_by(col(InvoiceLineItem.amount_minor).desc(), col(InvoiceLineItem.description))
        ).all()
        lines = tuple(LineInfo(r.description, r.quantity, r.unit_price_minor, r.amount_minor) for r in rows)
    return InvoiceInfo(
        id=invoice.id,
        company_id=invoice.company_id,
        company_name=company.name if company else "",
        number=invoice.number,
        status=invoice.status,
        currency=invoice.currency,
        subtotal_minor=invoice.subtotal_minor,
        tax_rate_bp=invoice.tax_rate_bp,
        tax_minor=invoice.tax_minor,
        total_minor=invoice.total_minor,
        paid_minor=paid_minor(session, invoice.id),
        bill_to_name=invoice.bill_to_name,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        paid_at=invoice.paid_at,
        void_reason=invoice.void_reason,
        lines=lines,
    )


def get_invoice(
    session: Session, actor: Actor, invoice_id: uuid.UUID, action: Action = Action.INVOICE_DOWNLOAD
) -> InvoiceInfo:
    """One invoice with its lines (the PDF's data): the manager's own company's, or any for the
    operator; another company's is NotFound."""
    invoice = access_by_id(session, actor, action, Invoice, invoice_id)
    return invoice_info(session, invoice, with_lines=True)


@dataclass(frozen=True)
class InvoiceFilter:
    company_id: uuid.UUID | None = None
    status: InvoiceStatus | None = None
    limit: int = 200


def list_invoices(
    session: Session, actor: Actor, flt: InvoiceFilter | None = None, *, action: Action = Action.BILLING_VIEW
) -> list[InvoiceInfo]:
    """Newest first: the manager's company's (BILLING_VIEW), or across companies on the operator's
    console (action=BILLING_ADMIN), optionally one company's or one status."""
    flt = flt or InvoiceFilter()
    authorize(actor, action)
    query = select(Invoice).where(in_scope(actor, action, Invoice))
    if flt.company_id is not None:
        query = query.where(Invoice.company_id == flt.company_id)
    if flt.status is not None:
        query = query.where(Invoice.status == flt.status)
    rows = session.exec(
        query.order_by(col(Invoice.issued_at).desc().nulls_last(), col(Invoice.number).desc()).limit(
            max(1, min(flt.limit, 1000))
        )
    ).all()
    return [invoice_info(session, row) for row in rows]


def list_payments(
    session: Session, actor: Actor, company_id: uuid.UUID | None = None, *, action: Action = Action.BILLING_VIEW
) -> list[PaymentInfo]:
    query = (
        select(Payment, Invoice.number)
        .join(
            Invoice,
            sa.and_(col(Invoice.id) == col(Payment.invoice_id), col(Invoice.company_id) == col(Payment.company_id)),
        )
        .where(in_scope(actor, action, Payment))
    )
    if company_id is not None:
        query = query.where(Payment.company_id == company_id)
    rows = session.exec(query.order_by(col(Payment.created_at).desc()).limit(200)).all()
    return [
        PaymentInfo(
            id=p.id,
            invoice_id=p.invoice_id,
            invoice_number=number,
            amount_minor=p.amount_minor,
            currency=p.currency,
            status=p.status,
            method=p.method.value,
            reference=p.reference,
            reason=p.reason,
            paid_at=p.paid_at,
        )
        for p, number in rows
    ]


# ---- voiding --------------------------------------------------------------------------------


def void_invoice(
    session: Session, actor: Actor, invoice_id: uuid.UUID, *, reason: str, reissue: bool = False
) -> InvoiceInfo:
    """Void an open or uncollectible invoice that has no payments; with `reissue`, the corrected copy
    (returned instead of the void one)."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailed("error.void_reason_required")
    invoice = access_by_id(session, actor, Action.INVOICE_VOID, Invoice, invoice_id, for_update=True)
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE):
        raise Conflict("error.invoice_not_open")
    if session.exec(select(Payment.id).where(Payment.invoice_id == invoice.id)).first() is not None:
        raise Conflict("error.invoice_has_payments")
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = clock.now()
    invoice.void_reason = reason
    session.add(invoice)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.INVOICE_VOIDED,
        company_id=invoice.company_id,
        target_type=AuditTarget.INVOICE,
        target_id=invoice.id,
        changes={"number": invoice.number, "reason": reason, "reissue": reissue},
    )
    if not reissue:
        return invoice_info(session, invoice)
    return invoice_info(session, _reissue(session, actor, invoice), with_lines=True)


def _reissue(session: Session, actor: Actor, void: Invoice) -> Invoice:
    company = limits.row_of(session, Company, void.company_id)
    plan = session.get(Plan, void.plan_id) if void.plan_id else None
    subscription = session.get(Subscription, void.subscription_id) if void.subscription_id else None
    old_lines = session.exec(
        select(InvoiceLineItem).where(
            InvoiceLineItem.invoice_id == void.id, InvoiceLineItem.company_id == void.company_id
        )
    ).all()
    lines = [
        plan_line(plan)
        if plan is not None and row.description.startswith(PLAN_LINE_PREFIX)
        else Line(row.description, row.quantity, row.unit_price_minor)
        for row in old_lines
    ]
    new = issue_invoice(
        session,
        company=company,
        subscription=subscription,
        plan=plan,
        period_start=void.period_start,
        period_end=void.period_end,
        lines=lines,
        actor=actor,
        take_pending=False,  # its charges are among the copied lines; they now belong to the new one
    )
    for charge in session.exec(select(PendingCharge).where(PendingCharge.invoice_id == void.id)).all():
        charge.invoice_id = new.id
        session.add(charge)
    session.flush()
    return new
