from __future__ import annotations

import reflex as rx

from dashboard.components.layout import page_frame
from dashboard.i18n import t, t_var
from dashboard.state.companies import CompaniesState


def _row(company: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(company["name"]),
        rx.table.cell(rx.badge(t_var(company["status"], "company_status."))),
        rx.table.cell(company["members"]),
        rx.table.cell(
            rx.cond(company["plan"] != "", company["plan"], t("companies.no_plan")),
            rx.cond(company["on_trial"] != "", rx.fragment(" (", t("companies.trial"), ")")),
        ),
        data_testid="company-row",
    )


def companies_page() -> rx.Component:
    return page_frame(
        rx.cond(
            CompaniesState.companies.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(t("companies.name")),
                        rx.table.column_header_cell(t("companies.status")),
                        rx.table.column_header_cell(t("companies.members")),
                        rx.table.column_header_cell(t("companies.plan")),
                    )
                ),
                rx.table.body(rx.foreach(CompaniesState.companies, _row)),
                id="companies-table",
                width="100%",
            ),
            rx.cond(CompaniesState.loaded, rx.text(t("companies.empty"), id="companies-empty")),
        ),
        title_key="companies.title",
    )
