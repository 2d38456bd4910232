"""The operator's billing console: subscriptions and invoices across companies (filters), record a
payment, void an invoice, revenue and MRR by month; and the plan catalogue. One service per handler."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import reflex as rx

from dashboard.features.billing.rows import InvoiceRow, PlanRow, invoice_row, plan_row
from dashboard.state.args import bool_arg, enum_arg, form_arg, int_arg, money_arg, text_arg, uuid_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.rows import when
from models import BillingInterval, InvoiceStatus, PaymentMethod
from services import billing
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action

MAX_TEXT = 300


@dataclasses.dataclass
class SubscriptionRow:
    company: str
    company_id: str
    plan: str
    status: str
    period_end: str
    cancel_at_period_end: bool
    monthly: str


@dataclasses.dataclass
class CompanyOption:
    id: str
    name: str


def _main_currency(points: list[billing.MonthAmount]) -> str:
    """The currency with the most money in `points` (amounts in different currencies never add up)."""
    totals: dict[str, int] = {}
    for point in points:
        totals[point.currency] = totals.get(point.currency, 0) + abs(point.amount_minor)
    return max(sorted(totals), key=lambda c: totals[c]) if totals else "USD"


def _chart(points: list[billing.MonthAmount], currency: str) -> list[dict[str, Any]]:
    """One point per month in `currency`, in major units (for drawing only)."""
    return [{"month": p.month, "amount": p.amount_minor / 100} for p in points if p.currency == currency]


class BillingAdminState(AuthState):
    loaded: bool = False
    subscriptions: rx.Field[list[SubscriptionRow]] = rx.field(default_factory=list)
    invoices: rx.Field[list[InvoiceRow]] = rx.field(default_factory=list)
    companies: rx.Field[list[CompanyOption]] = rx.field(default_factory=list)
    chart_currency: str = "USD"
    revenue: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mrr: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    filter_company: str = ""
    filter_status: str = ""

    def _fill(self, actor: Actor) -> None:
        company = uuid.UUID(self.filter_company) if self.filter_company else None
        status = InvoiceStatus(self.filter_status) if self.filter_status else None
        with tenant_scope(actor) as session:
            subscriptions = billing.list_subscriptions(session, actor, company_id=company)
            invoices = billing.list_invoices(
                session, actor, billing.InvoiceFilter(company_id=company, status=status), action=Action.BILLING_ADMIN
            )
            revenue = billing.revenue_by_month(session, actor)
            mrr = billing.mrr_by_month(session, actor)
        self.subscriptions = [
            SubscriptionRow(
                company=s.company_name,
                company_id=str(s.company_id),
                plan=s.plan_name,
                status=s.status.value,
                period_end=when(s.current_period_end),
                cancel_at_period_end=s.cancel_at_period_end,
                monthly=billing.format_money(s.monthly_minor, s.currency),
            )
            for s in subscriptions
        ]
        if not self.companies or company is None:
            seen = {s.company_id: s.company_name for s in subscriptions}
            self.companies = [CompanyOption(str(k), v) for k, v in sorted(seen.items(), key=lambda kv: kv[1])]
        self.invoices = [invoice_row(i) for i in invoices]
        self.chart_currency = _main_currency([*revenue, *mrr])
        self.revenue = _chart(revenue, self.chart_currency)
        self.mrr = _chart(mrr, self.chart_currency)
        self.loaded = True

    @requires(Action.BILLING_ADMIN)
    def load(self, actor: Actor) -> None:
        self.filter_company, self.filter_status = "", ""
        self._fill(actor)

    @requires(Action.BILLING_ADMIN)
    def apply_filters(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        company = fields.get("company_id", "")
        status = fields.get("status", "")
        self.filter_company = str(uuid_arg(company)) if company else ""
        self.filter_status = enum_arg(status, list(InvoiceStatus)).value if status else ""
        self._fill(actor)

    @requires(Action.PAYMENT_RECORD)
    def record_payment(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        invoice_id = uuid_arg(fields.get("invoice_id", ""))
        amount = money_arg(fields.get("amount", ""))
        currency = text_arg(fields.get("currency", ""), 3)
        reference = text_arg(fields.get("reference", ""), 200)
        with tenant_scope(actor) as session:
            billing.record_payment(
                session,
                actor,
                invoice_id,
                amount_minor=amount,
                currency=currency,
                method=PaymentMethod.BANK_TRANSFER,
                reference=reference,
            )
        self._fill(actor)
        self.notice_key = "billing.payment_recorded"

    @requires(Action.INVOICE_VOID)
    def void_invoice(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        invoice_id = uuid_arg(fields.get("invoice_id", ""))
        reason = text_arg(fields.get("reason", ""), MAX_TEXT)
        reissue = fields.get("reissue", "") == "on"
        with tenant_scope(actor) as session:
            billing.void_invoice(session, actor, invoice_id, reason=reason, reissue=reissue)
        self._fill(actor)
        self.notice_key = "billing.invoice_voided"


class PlansState(AuthState):
    loaded: bool = False
    plans: rx.Field[list[PlanRow]] = rx.field(default_factory=list)

    def _fill(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            plans = billing.list_plans(session, actor, action=Action.PLAN_MANAGE)
        self.plans = [plan_row(p) for p in plans]
        self.loaded = True

    @requires(Action.PLAN_MANAGE)
    def load(self, actor: Actor) -> None:
        self._fill(actor)

    @requires(Action.PLAN_MANAGE)
    def save_plan(self, actor: Actor, form_data: dict[str, Any]) -> None:
        """Create a plan, or edit the one with the form's code."""
        fields = form_arg(form_data)
        data = billing.PlanInput(
            name=text_arg(fields.get("name", ""), 100),
            price_minor=int_arg(fields.get("price_minor", ""), 0, 10**10),
            max_seats=int_arg(fields.get("max_seats", ""), 1, 10**9),
            max_projects=int_arg(fields.get("max_projects", ""), 1, 10**9),
            max_storage_mb=int_arg(fields.get("max_storage_mb", ""), 1, 10**9),
            trial_days=int_arg(fields.get("trial_days", ""), 0, 365),
            code=text_arg(fields.get("code", ""), 40),
            currency=text_arg(fields.get("currency", "") or "USD", 3),
            interval=enum_arg(fields.get("interval", "") or "month", list(BillingInterval)),
        )
        with tenant_scope(actor) as session:
            billing.save_plan(session, actor, data)
        self._fill(actor)
        self.notice_key = "billing.plan_saved"

    @requires(Action.PLAN_MANAGE)
    def set_plan_active(self, actor: Actor, plan_id: str, active: bool) -> None:
        target = uuid_arg(plan_id)
        active = bool_arg(active)
        with tenant_scope(actor) as session:
            billing.set_plan_active(session, actor, target, active)
        self._fill(actor)
