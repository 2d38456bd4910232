"""Audit entries as a table: the audit page and a company's detail page show the same rows."""

from __future__ import annotations

from collections.abc import Sequence

import reflex as rx
from reflex.vars import ArrayVar, ObjectVar

from dashboard.components.table import data_table
from dashboard.i18n import t, t_var
from dashboard.state.rows import AuditRow

HEADERS = ["audit.time", "audit.company", "audit.actor", "audit.action", "audit.target", "audit.ip", "audit.changes"]


def _row(entry: ObjectVar[AuditRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(entry.time, white_space="nowrap"),
        rx.table.cell(entry.company),
        rx.table.cell(
            rx.cond(entry.by_operator, t("audit.operator"), entry.actor),  # type: ignore[call-overload]  # mypy misses rx.cond's Var overloads (components/controls.py)
            rx.cond(entry.role != "", rx.fragment(" (", t_var(entry.role, "role."), ")")),
        ),
        rx.table.cell(rx.code(entry.action), data_action=entry.action),
        rx.table.cell(entry.target, word_break="break-all"),
        rx.table.cell(entry.ip),
        rx.table.cell(rx.text(entry.changes, size="1", word_break="break-all")),
        data_testid="audit-row",
    )


def audit_table(name: str, rows: ArrayVar[Sequence[AuditRow]], *, loaded: rx.Var[bool] | bool = True) -> rx.Component:
    return data_table(name, HEADERS, rows, _row, loaded=loaded, empty_key="audit.empty")
