"""/audit (managers: their company; the operator: every company, with a company filter)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.audit_table import audit_table
from dashboard.components.forms import native_select, option
from dashboard.components.layout import page_frame
from dashboard.i18n import t
from dashboard.state.audit import AuditState


def _filter(label_key: str, control: rx.Component, html_for: str) -> rx.Component:
    return rx.vstack(rx.el.label(t(label_key), html_for=html_for), control, spacing="1")


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            _filter(
                "audit.user",
                native_select(
                    "user_id",
                    option("", t("audit.all_users")),
                    rx.foreach(AuditState.user_options, lambda o: option(o.value, o.label)),
                    select_id="filter-user",
                ),
                "filter-user",
            ),
            _filter(
                "audit.action",
                native_select(
                    "action",
                    option("", t("audit.all_actions")),
                    rx.foreach(AuditState.action_options, lambda a: option(a, a)),
                    select_id="filter-action",
                ),
                "filter-action",
            ),
            rx.cond(
                AuditState.company_options.length() > 0,
                _filter(
                    "audit.company",
                    native_select(
                        "company_id",
                        option("", t("audit.all_companies")),
                        rx.foreach(AuditState.company_options, lambda o: option(o.value, o.label)),
                        select_id="filter-company",
                    ),
                    "filter-company",
                ),
            ),
            _filter("audit.from", rx.input(type="date", name="date_from", id="filter-from"), "filter-from"),
            _filter("audit.to", rx.input(type="date", name="date_to", id="filter-to"), "filter-to"),
            rx.button(t("audit.apply"), type="submit", id="filter-apply"),
            align="end",
            spacing="3",
            wrap="wrap",
        ),
        on_submit=AuditState.apply_filters,
        id="audit-filters",
        width="100%",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(
            t("audit.showing"),
            " ",
            rx.cond(AuditState.total > 0, AuditState.offset + 1, 0),
            "–",
            AuditState.page_end,
            " ",
            t("audit.of"),
            " ",
            AuditState.total,
            id="audit-count",
        ),
        rx.spacer(),
        rx.button(
            t("audit.previous"),
            id="audit-previous",
            size="1",
            variant="soft",
            disabled=~AuditState.has_previous,
            on_click=AuditState.turn_page(False),
        ),
        rx.button(
            t("audit.next"),
            id="audit-next",
            size="1",
            variant="soft",
            disabled=~AuditState.has_next,
            on_click=AuditState.turn_page(True),
        ),
        rx.button(t("audit.export"), id="audit-export", size="1", variant="outline", on_click=AuditState.export),
        width="100%",
        align="center",
        spacing="3",
    )


def audit_page() -> rx.Component:
    return page_frame(
        _filters(),
        _pager(),
        audit_table("audit", AuditState.entries, loaded=AuditState.loaded),
        title_key="audit.title",
    )
