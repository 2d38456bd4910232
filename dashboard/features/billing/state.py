"""The manager's billing page: plan, state, trial days left, usage meters, invoices, payments, and
the plan choice (subscribe / upgrade / downgrade), cancel and resume. Each handler calls one service."""

from __future__ import annotations

import dataclasses

import reflex as rx
from reflex.event import EventSpec

from dashboard.features.billing.rows import (
    InvoiceRow,
    PaymentRow,
    PlanRow,
    invoice_row,
    payment_row,
    pdf_route,
    plan_row,
)
from dashboard.state.args import uuid_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.rows import when
from services import billing
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action

MB = 1024 * 1024


@dataclasses.dataclass
class MeterRow:
    name: str  # seats | projects | storage
    used: int
    limit: int  # 0: no limit
    percent: int


def _meter(name: str, used: int, limit: int) -> MeterRow:
    return MeterRow(name, used, limit, min(100, used * 100 // limit) if limit else 0)


class BillingState(AuthState):
    loaded: bool = False
    state: str = ""
    plan_id: str = ""
    plan_name: str = ""
    plan_price: str = ""
    read_only: bool = False
    trial_days_left: int = -1  # -1: no trial shown
    trial_ends: str = ""
    period_end: str = ""
    cancel_at_period_end: bool = False
    scheduled_plan: str = ""
    seats_used: int = 0
    seats_limit: int = 0  # 0: no limit
    projects_used: int = 0
    projects_limit: int = 0
    storage_used_mb: int = 0
    storage_limit_mb: int = 0
    meters: rx.Field[list[MeterRow]] = rx.field(default_factory=list)
    plans: rx.Field[list[PlanRow]] = rx.field(default_factory=list)
    invoices: rx.Field[list[InvoiceRow]] = rx.field(default_factory=list)
    payments: rx.Field[list[PaymentRow]] = rx.field(default_factory=list)

    def _fill(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            view = billing.overview(session, actor)
            invoices = billing.list_invoices(session, actor)
            payments = billing.list_payments(session, actor)
        self.state = view.state
        self.plan_id = str(view.plan.id) if view.plan else ""
        self.plan_name = view.plan.name if view.plan else ""
        self.plan_price = billing.format_money(view.plan.price_minor, view.plan.currency) if view.plan else ""
        self.read_only = view.read_only
        self.trial_days_left = view.trial_days_left if view.trial_days_left is not None else -1
        self.trial_ends = when(view.trial_ends_at)
        self.period_end = when(view.period_end)
        self.cancel_at_period_end = view.cancel_at_period_end
        self.scheduled_plan = view.scheduled_plan.name if view.scheduled_plan else ""
        self.seats_used, self.seats_limit = view.seats.used, view.seats.limit or 0
        self.projects_used, self.projects_limit = view.projects.used, view.projects.limit or 0
        self.storage_used_mb = -(-view.storage_bytes.used // MB)
        self.storage_limit_mb = (view.storage_bytes.limit or 0) // MB
        self.meters = [
            _meter("seats", self.seats_used, self.seats_limit),
            _meter("projects", self.projects_used, self.projects_limit),
            _meter("storage", self.storage_used_mb, self.storage_limit_mb),
        ]
        self.plans = [plan_row(p) for p in view.plans]
        self.invoices = [invoice_row(i) for i in invoices]
        self.payments = [payment_row(p) for p in payments]
        self.loaded = True

    @requires(Action.BILLING_VIEW)
    def load(self, actor: Actor) -> None:
        self._fill(actor)

    @requires(Action.BILLING_MANAGE)
    def choose_plan(self, actor: Actor, plan_id: str) -> None:
        target = uuid_arg(plan_id)
        with tenant_scope(actor) as session:
            outcome = billing.choose_plan(session, actor, target)
        self._fill(actor)
        self.notice_key = f"billing.done_{outcome}"

    @requires(Action.BILLING_MANAGE)
    def cancel(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            billing.cancel(session, actor)
        self._fill(actor)
        self.notice_key = "billing.done_canceled"

    @requires(Action.BILLING_MANAGE)
    def resume(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            billing.resume(session, actor)
        self._fill(actor)
        self.notice_key = "billing.done_resumed"

    @requires(Action.INVOICE_DOWNLOAD)
    def download_invoice(self, actor: Actor, invoice_id: str) -> EventSpec:
        """Point the browser at the PDF route (which checks everything again); the manager's own
        company's invoice or, for the operator, any: another company's is "not found" here too."""
        target = uuid_arg(invoice_id)
        with tenant_scope(actor) as session:
            invoice = billing.get_invoice(session, actor, target)
        return rx.download(url=pdf_route(invoice.id), filename=f"{invoice.number}.pdf")
