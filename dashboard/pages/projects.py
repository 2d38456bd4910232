from __future__ import annotations

import reflex as rx

from dashboard.components.layout import page_frame
from dashboard.i18n import t, t_var
from dashboard.state.projects import TASK_STATUSES, ProjectsState


def _row(project: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(project["name"]),
        rx.table.cell(rx.badge(t_var(project["status"], "project_status."))),
        *[rx.table.cell(project[status], data_status=status) for status in TASK_STATUSES],
        rx.table.cell(project["total"]),
        data_testid="project-row",
    )


def projects_page() -> rx.Component:
    return page_frame(
        rx.cond(
            ProjectsState.projects.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(t("projects.name")),
                        rx.table.column_header_cell(t("projects.status")),
                        *[rx.table.column_header_cell(t(f"task_status.{s}")) for s in TASK_STATUSES],
                        rx.table.column_header_cell(t("projects.total")),
                    )
                ),
                rx.table.body(rx.foreach(ProjectsState.projects, _row)),
                id="projects-table",
                width="100%",
            ),
            rx.cond(ProjectsState.loaded, rx.text(t("projects.empty"), id="projects-empty")),
        ),
        title_key="projects.title",
    )
