"""/billing/admin (the operator): revenue and MRR charts, subscriptions and invoices across companies
with filters, record a payment, void an invoice; /plans: the plan catalogue."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.forms import labelled, native_select, option, text_field
from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.billing.rows import InvoiceRow, PlanRow
from dashboard.features.billing.state import BillingState
from dashboard.features.billing_admin.state import BillingAdminState, CompanyOption, PlansState, SubscriptionRow
from dashboard.i18n import t, t_var
from models import InvoiceStatus


def _chart(title_key: str, data: Any, chart_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(t(title_key), " (", BillingAdminState.chart_currency, ")", weight="bold"),
            rx.recharts.bar_chart(
                rx.recharts.bar(data_key="amount", fill="var(--accent-9)"),
                rx.recharts.x_axis(data_key="month"),
                rx.recharts.y_axis(),
                rx.recharts.graphing_tooltip(),
                data=data,
                width="100%",
                height=220,
            ),
            width="100%",
            id=chart_id,
        ),
        width="100%",
    )


def _subscription_row(row: ObjectVar[SubscriptionRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.company),
        rx.table.cell(row.plan),
        rx.table.cell(rx.badge(t_var(row.status, "subscription_status."))),
        rx.table.cell(row.period_end, rx.cond(row.cancel_at_period_end, rx.fragment(" · ", t("billing.cancels")))),
        rx.table.cell(row.monthly),
        data_testid="subscription-row",
    )


def _invoice_row(row: ObjectVar[InvoiceRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.number),
        rx.table.cell(row.company),
        rx.table.cell(rx.badge(t_var(row.status, "invoice_status."), data_testid="admin-invoice-status")),
        rx.table.cell(row.total),
        rx.table.cell(row.balance),
        rx.table.cell(row.due),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    t("billing.pdf"), size="1", variant="outline", on_click=BillingState.download_invoice(row.id)
                ),
                rx.cond(
                    row.status == "open",
                    rx.hstack(
                        rx.popover.root(
                            rx.popover.trigger(
                                rx.button(t("billing.record_payment"), size="1", data_testid="pay-open")
                            ),
                            rx.popover.content(
                                rx.form(
                                    rx.vstack(
                                        rx.el.input(type="hidden", name="invoice_id", value=row.id),
                                        text_field("billing.amount", "amount", field_id="pay-amount"),
                                        text_field(
                                            "billing.currency", "currency", field_id="pay-currency", default_value="USD"
                                        ),
                                        text_field("billing.reference", "reference", field_id="pay-reference"),
                                        rx.popover.close(
                                            rx.button(t("billing.record_payment"), type="submit", id="pay-submit")
                                        ),
                                    ),
                                    on_submit=BillingAdminState.record_payment,
                                    reset_on_submit=True,
                                )
                            ),
                        ),
                        rx.popover.root(
                            rx.popover.trigger(
                                rx.button(t("billing.void"), size="1", color_scheme="red", variant="soft")
                            ),
                            rx.popover.content(
                                rx.form(
                                    rx.vstack(
                                        rx.el.input(type="hidden", name="invoice_id", value=row.id),
                                        text_field("billing.void_reason", "reason", field_id="void-reason"),
                                        rx.el.label(
                                            rx.el.input(type="checkbox", name="reissue", id="void-reissue"),
                                            " ",
                                            t("billing.reissue"),
                                        ),
                                        rx.popover.close(
                                            rx.button(t("billing.void"), type="submit", color_scheme="red")
                                        ),
                                    ),
                                    on_submit=BillingAdminState.void_invoice,
                                    reset_on_submit=True,
                                )
                            ),
                        ),
                        spacing="2",
                    ),
                ),
                spacing="2",
                align="center",
            )
        ),
        data_testid="admin-invoice-row",
    )


def _company_option(company: ObjectVar[CompanyOption]) -> rx.Component:
    return option(company.id, company.name)


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            labelled(
                "billing.company",
                native_select(
                    "company_id", option("", t("billing.all")), rx.foreach(BillingAdminState.companies, _company_option)
                ),
                "company_id",
                full_width=False,
            ),
            labelled(
                "billing.status",
                native_select(
                    "status",
                    option("", t("billing.all")),
                    *[option(s.value, t(f"invoice_status.{s.value}")) for s in InvoiceStatus],
                ),
                "status",
                full_width=False,
            ),
            rx.button(t("billing.filter"), type="submit", id="billing-filter"),
            align="end",
            spacing="3",
        ),
        on_submit=BillingAdminState.apply_filters,
    )


def billing_admin_page() -> rx.Component:
    s = BillingAdminState
    return page_frame(
        rx.grid(
            _chart("billing.revenue", s.revenue, "revenue-chart"),
            _chart("billing.mrr", s.mrr, "mrr-chart"),
            columns="2",
            spacing="3",
            width="100%",
        ),
        _filters(),
        rx.heading(t("billing.subscriptions"), size="4"),
        data_table(
            "subscriptions",
            ["billing.company", "billing.plan", "billing.status", "billing.period_end", "billing.monthly"],
            s.subscriptions,
            _subscription_row,
            loaded=s.loaded,
        ),
        rx.heading(t("billing.invoices"), size="4"),
        data_table(
            "admin-invoices",
            [
                "billing.number",
                "billing.company",
                "billing.status",
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
        title_key="billing.admin_title",
    )


def _plan_row(plan: ObjectVar[PlanRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(plan.name, " ", rx.code(plan.code)),
        rx.table.cell(plan.price, " / ", t_var(plan.interval, "billing.interval_")),
        rx.table.cell(plan.seats),
        rx.table.cell(plan.projects),
        rx.table.cell(plan.storage_mb.to(str), " MB"),
        rx.table.cell(plan.trial_days),
        rx.table.cell(
            rx.cond(
                plan.active,
                rx.button(
                    t("billing.retire"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=PlansState.set_plan_active(plan.id, False),
                ),
                rx.button(
                    t("billing.restore"), size="1", variant="soft", on_click=PlansState.set_plan_active(plan.id, True)
                ),
            )
        ),
        data_testid="catalogue-row",
    )


def _plan_form() -> rx.Component:
    return rx.form(
        rx.flex(
            text_field("billing.code", "code", field_id="plan-code"),
            text_field("billing.plan", "name", field_id="plan-name"),
            text_field("billing.price_minor", "price_minor", field_id="plan-price"),
            text_field("billing.currency", "currency", field_id="plan-currency", default_value="USD"),
            labelled(
                "billing.interval",
                native_select(
                    "interval", option("month", t("billing.interval_month")), option("year", t("billing.interval_year"))
                ),
                "interval",
            ),
            text_field("billing.meter_seats", "max_seats", field_id="plan-seats"),
            text_field("billing.meter_projects", "max_projects", field_id="plan-projects"),
            text_field("billing.storage_mb", "max_storage_mb", field_id="plan-storage"),
            text_field("billing.trial_days", "trial_days", field_id="plan-trial", default_value="14"),
            rx.button(t("billing.save_plan"), type="submit", id="plan-save"),
            wrap="wrap",
            spacing="3",
            align="end",
        ),
        on_submit=PlansState.save_plan,
    )


def plans_page() -> rx.Component:
    return page_frame(
        _plan_form(),
        data_table(
            "catalogue",
            [
                "billing.plan",
                "billing.price",
                "billing.meter_seats",
                "billing.meter_projects",
                "billing.meter_storage",
                "billing.trial_days",
                "billing.actions",
            ],
            PlansState.plans,
            _plan_row,
            loaded=PlansState.loaded,
        ),
        title_key="billing.plans_title",
    )
