"""/billing (a company's manager): plan and state, trial days left, usage against the plan's limits,
the plans to choose from, invoices (PDF download) and payments."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.forms import confirm_button
from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.billing.rows import InvoiceRow, PaymentRow, PlanRow
from dashboard.features.billing.state import BillingState, MeterRow
from dashboard.i18n import t, t_var


def _fact(label_key: str, value: rx.Component | rx.Var[str], fact_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(t(label_key), size="1", color_scheme="gray"),
            rx.text(value, weight="bold", id=fact_id),
            spacing="1",
        ),
        min_width="11em",
    )


def _meter(meter: ObjectVar[MeterRow]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(t_var(meter.name, "billing.meter_"), size="1", color_scheme="gray"),
            rx.text(
                meter.used.to(str),
                " / ",
                rx.cond(meter.limit.to(int) > 0, meter.limit.to(str), "∞"),  # type: ignore[call-overload]  # mypy misses rx.cond's Var overloads
                weight="bold",
                id="meter-" + meter.name.to(str),
            ),
            rx.progress(value=meter.percent, max=100, width="10em"),
            spacing="1",
        )
    )


def _plan_row(plan: ObjectVar[PlanRow]) -> rx.Component:
    s = BillingState
    return rx.table.row(
        rx.table.row_header_cell(plan.name),
        rx.table.cell(plan.price, " / ", t_var(plan.interval, "billing.interval_")),
        rx.table.cell(plan.seats),
        rx.table.cell(plan.projects),
        rx.table.cell(plan.storage_mb.to(str), " MB"),
        rx.table.cell(
            rx.cond(
                (plan.id == s.plan_id) & (s.state != "trialing") & (s.state != "none") & (s.state != "canceled"),
                rx.badge(t("billing.current_plan")),
                rx.button(
                    t("billing.choose"),
                    size="1",
                    on_click=BillingState.choose_plan(plan.id),
                    id="choose-" + plan.code.to(str),
                ),
            )
        ),
        data_testid="plan-row",
    )


def _invoice_row(invoice: ObjectVar[InvoiceRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(invoice.number),
        rx.table.cell(rx.badge(t_var(invoice.status, "invoice_status."), data_testid="invoice-status")),
        rx.table.cell(invoice.period),
        rx.table.cell(invoice.total),
        rx.table.cell(invoice.balance),
        rx.table.cell(invoice.due),
        rx.table.cell(
            rx.button(
                t("billing.pdf"),
                size="1",
                variant="outline",
                on_click=BillingState.download_invoice(invoice.id),
                data_testid="invoice-pdf",
            )
        ),
        data_testid="invoice-row",
    )


def _payment_row(payment: ObjectVar[PaymentRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(payment.invoice),
        rx.table.cell(payment.amount),
        rx.table.cell(t_var(payment.status, "payment_status.")),
        rx.table.cell(payment.reference, " ", payment.reason),
        rx.table.cell(payment.paid),
    )


def _summary() -> rx.Component:
    s = BillingState
    return rx.vstack(
        rx.cond(
            s.trial_days_left >= 0,
            rx.callout(
                rx.fragment(t("billing.trial_left"), " ", rx.el.strong(s.trial_days_left, id="trial-days-left")),
                icon="clock",
                color_scheme="blue",
                id="trial-callout",
            ),
        ),
        rx.cond(s.read_only, rx.callout(t("error.company_read_only"), icon="lock", color_scheme="red", id="read-only")),
        rx.flex(
            _fact("billing.state", t_var(s.state, "billing.state_"), "billing-state"),
            _fact("billing.plan", rx.cond(s.plan_name != "", s.plan_name, "—"), "billing-plan"),  # type: ignore[call-overload]  # mypy misses rx.cond's Var overloads
            _fact("billing.period_end", rx.cond(s.period_end != "", s.period_end, "—"), "billing-period-end"),  # type: ignore[call-overload]
            rx.foreach(s.meters, _meter),
            wrap="wrap",
            spacing="3",
        ),
        rx.cond(
            s.scheduled_plan != "",
            rx.text(t("billing.scheduled"), " ", rx.el.strong(s.scheduled_plan), id="scheduled-plan"),
        ),
        rx.cond(
            (s.state == "active") | (s.state == "past_due"),
            rx.cond(
                s.cancel_at_period_end,
                rx.hstack(
                    rx.text(t("billing.cancels_at"), " ", s.period_end, id="cancel-notice"),
                    rx.button(t("billing.resume"), size="1", on_click=BillingState.resume, id="billing-resume"),
                    align="center",
                ),
                confirm_button(
                    "billing.cancel", "billing.cancel_question", BillingState.cancel, button_id="billing-cancel"
                ),
            ),
        ),
        spacing="3",
        width="100%",
    )


def billing_page() -> rx.Component:
    s = BillingState
    return page_frame(
        rx.cond(s.loaded, _summary()),
        rx.heading(t("billing.plans"), size="4"),
        data_table(
            "plans",
            [
                "billing.plan",
                "billing.price",
                "billing.meter_seats",
                "billing.meter_projects",
                "billing.meter_storage",
                "billing.actions",
            ],
            s.plans,
            _plan_row,
            loaded=s.loaded,
        ),
        rx.heading(t("billing.invoices"), size="4"),
        data_table(
            "invoices",
            [
                "billing.number",
                "billing.status",
                "billing.period",
                "billing.total",
                "billing.balance",
                "billing.due",
                "billing.actions",
            ],
            s.invoices,
            _invoice_row,
            loaded=s.loaded,
            empty_key="billing.no_invoices",
        ),
        rx.heading(t("billing.payments"), size="4"),
        data_table(
            "payments",
            ["billing.number", "billing.amount", "billing.status", "billing.reference", "billing.paid_at"],
            s.payments,
            _payment_row,
            loaded=s.loaded,
            empty_key="billing.no_payments",
        ),
        title_key="billing.title",
    )
