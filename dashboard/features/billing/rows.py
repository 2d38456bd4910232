"""Plain rows of the billing pages (strings and numbers only: no model, no UUID object)."""

from __future__ import annotations

import dataclasses

from dashboard.state.rows import when
from services import billing


@dataclasses.dataclass
class PlanRow:
    id: str
    code: str
    name: str
    price: str
    interval: str
    seats: int
    projects: int
    storage_mb: int
    trial_days: int
    active: bool
    price_minor: int = 0
    currency: str = ""


@dataclasses.dataclass
class InvoiceRow:
    id: str
    number: str
    company: str
    status: str
    total: str
    balance: str
    issued: str
    due: str
    period: str


@dataclasses.dataclass
class PaymentRow:
    invoice: str
    amount: str
    status: str
    method: str
    reference: str
    reason: str
    paid: str


def pdf_route(invoice_id: object) -> str:
    """dashboard/api/billing.py's invoice PDF route."""
    return f"/api/billing/invoices/{invoice_id}/pdf"


def plan_row(plan: billing.PlanInfo) -> PlanRow:
    return PlanRow(
        id=str(plan.id),
        code=plan.code,
        name=plan.name,
        price=billing.format_money(plan.price_minor, plan.currency),
        interval=plan.interval.value,
        seats=plan.max_seats,
        projects=plan.max_projects,
        storage_mb=plan.max_storage_mb,
        trial_days=plan.trial_days,
        active=plan.is_active,
        price_minor=plan.price_minor,
        currency=plan.currency,
    )


def invoice_row(invoice: billing.InvoiceInfo) -> InvoiceRow:
    period = (
        f"{invoice.period_start:%Y-%m-%d} – {invoice.period_end:%Y-%m-%d}"
        if invoice.period_start and invoice.period_end
        else ""
    )
    return InvoiceRow(
        id=str(invoice.id),
        number=invoice.number,
        company=invoice.company_name,
        status=invoice.status.value,
        total=billing.format_money(invoice.total_minor, invoice.currency),
        balance=billing.format_money(invoice.balance_minor, invoice.currency),
        issued=when(invoice.issued_at),
        due=when(invoice.due_at),
        period=period,
    )


def payment_row(payment: billing.PaymentInfo) -> PaymentRow:
    return PaymentRow(
        invoice=payment.invoice_number,
        amount=billing.format_money(payment.amount_minor, payment.currency),
        status=payment.status.value,
        method=payment.method,
        reference=payment.reference,
        reason=payment.reason,
        paid=when(payment.paid_at),
    )
