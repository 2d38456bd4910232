"""/audit (managers: their company; the operator: every company, with a company filter)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.audit_table import audit_table
from dashboard.components.forms import labelled, native_select, option
from dashboard.components.layout import page_frame
from dashboard.features.audit.state import AuditState
from dashboard.i18n import t


def _select_filter(label_key: str, name: str, filter_id: str, all_key: str, options: rx.Component) -> rx.Component:
    """A labelled native select whose first option, "", means every value."""
    select = native_select(name, option("", t(all_key)), options, select_id=filter_id)
    return labelled(label_key, select, filter_id, full_width=False)


def _date_filter(label_key: str, name: str, filter_id: str) -> rx.Component:
    return labelled(label_key, rx.input(type="date", name=name, id=filter_id), filter_id, full_width=False)


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            _select_filter(
                "audit.user",
                "user_id",
                "filter-user",
                "audit.all_users",
                rx.foreach(AuditState.user_options, lambda o: option(o.value, o.label)),
            ),
            _select_filter(
                "audit.action",
                "action",
                "filter-action",
                "audit.all_actions",
                rx.foreach(AuditState.action_options, lambda a: option(a, a)),
            ),
            rx.cond(
                AuditState.company_options.length() > 0,
                _select_filter(
                    "audit.company",
                    "company_id",
                    "filter-company",
                    "audit.all_companies",
                    rx.foreach(AuditState.company_options, lambda o: option(o.value, o.label)),
                ),
            ),
            _date_filter("audit.from", "date_from", "filter-from"),
            _date_filter("audit.to", "date_to", "filter-to"),
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
            rx.cond(AuditState.total > 0, AuditState.offset + 1, 0),  # type: ignore[call-overload]  # mypy misses rx.cond's Var overloads (components/controls.py)
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
