"""/companies (the operator): the list with search, and /companies/[company_ref], one company's detail."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.audit_table import audit_table
from dashboard.components.forms import confirm_button
from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.companies.state import CompaniesState, CompanyDetailState, CompanyRow
from dashboard.i18n import t, t_var
from services.tenants import MAX_SEARCH_LENGTH


def _plan(plan: rx.Var[str], on_trial: rx.Var[bool]) -> rx.Component:
    return rx.fragment(
        rx.cond(plan != "", plan, t("companies.no_plan")),  # type: ignore[call-overload]  # mypy misses rx.cond's Var overloads (components/controls.py)
        rx.cond(on_trial, rx.fragment(" (", t("companies.trial"), ")")),
    )


def _row(company: ObjectVar[CompanyRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.link(company.name, href="/companies/" + company.id.to(str), data_testid="company-link")
        ),
        rx.table.cell(rx.badge(t_var(company.status, "company_status."))),
        rx.table.cell(company.members),
        rx.table.cell(_plan(company.plan, company.on_trial)),
        data_testid="company-row",
    )


def companies_page() -> rx.Component:
    return page_frame(
        rx.form(
            rx.hstack(
                rx.input(
                    name="q",
                    id="company-search",
                    placeholder=t("companies.search"),
                    max_length=MAX_SEARCH_LENGTH,
                    width="20em",
                ),
                rx.button(t("companies.search"), type="submit", id="company-search-submit"),
                spacing="2",
            ),
            on_submit=CompaniesState.search,
        ),
        data_table(
            "companies",
            ["companies.name", "companies.status", "companies.members", "companies.plan"],
            CompaniesState.companies,
            _row,
            loaded=CompaniesState.loaded,
            empty_key="companies.empty",
        ),
        title_key="companies.title",
    )


def _fact(label_key: str, value: rx.Component | rx.Var[Any], fact_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(t(label_key), size="1", color_scheme="gray"),
            rx.text(value, weight="bold", id=fact_id),
            spacing="1",
        ),
        min_width="11em",
    )


def _detail() -> rx.Component:
    s = CompanyDetailState
    return rx.vstack(
        rx.hstack(
            rx.heading(s.name, size="5", id="company-name"),
            rx.badge(t_var(s.status, "company_status."), id="company-status"),
            rx.spacer(),
            rx.cond(
                s.status == "active",
                confirm_button(
                    "company.deactivate",
                    "company.deactivate_question",
                    CompanyDetailState.set_active(s.company_id, False),
                    button_id="company-deactivate",
                ),
                confirm_button(
                    "company.reactivate",
                    "company.reactivate_question",
                    CompanyDetailState.set_active(s.company_id, True),
                    button_id="company-reactivate",
                    color_scheme="green",
                ),
            ),
            width="100%",
            align="center",
        ),
        rx.text(s.slug, " · ", t("company.created"), " ", s.created, color_scheme="gray", size="2"),
        # The operator's read-only, audited view of the company's projects (and from there its boards).
        rx.link(t("projects.operator_link"), href="/companies/" + s.company_id + "/projects", id="company-projects"),
        rx.flex(
            *[
                # A Var on the class, an int for mypy: the dict stays a plain annotation, as Reflex's
                # rx.Field[dict[...]] resolves to ArrayVar[Never] under mypy.
                _fact(f"role.{role}", s.members_by_role[role], f"members-{role}")  # type: ignore[arg-type]
                for role in ("manager", "worker", "client")
            ],
            _fact("company.active_members", s.active_members, "active-members"),
            _fact("company.projects", s.project_count, "project-count"),
            _fact(
                "companies.plan",
                rx.cond(s.plan != "", s.plan, t("companies.no_plan")),  # type: ignore[call-overload]  # mypy misses rx.cond's Var overloads (components/controls.py)
                "company-plan",
            ),
            _fact(
                "company.trial",
                rx.cond(
                    s.trial_status != "",
                    rx.fragment(t_var(s.trial_status, "trial_status."), " · ", s.trial_ends),
                    "—",
                ),
                "company-trial",
            ),
            _fact(
                "company.subscription",
                rx.cond(
                    s.subscription_status != "",
                    rx.fragment(t_var(s.subscription_status, "subscription_status."), " · ", s.period_end),
                    "—",
                ),
                "company-subscription",
            ),
            wrap="wrap",
            spacing="3",
        ),
        rx.heading(t("company.recent_audit"), size="4"),
        audit_table("company-audit", s.recent_audit),
        width="100%",
        spacing="4",
    )


def company_detail_page() -> rx.Component:
    return page_frame(
        rx.cond(
            CompanyDetailState.found,
            _detail(),
            rx.cond(
                CompanyDetailState.loaded,
                rx.callout(t("company.not_found"), icon="search_x", color_scheme="gray", id="company-not-found"),
            ),
        ),
        rx.link(t("company.back"), href="/companies", size="2"),
        title_key="company.title",
    )
