from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.projects.state import TASK_STATUSES, ProjectsState
from dashboard.i18n import t_var


def _row(project: ObjectVar[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(project["name"]),
        rx.table.cell(rx.badge(t_var(project["status"], "project_status."))),
        *[rx.table.cell(project[status], data_status=status) for status in TASK_STATUSES],
        rx.table.cell(project["total"]),
        data_testid="project-row",
    )


def projects_page() -> rx.Component:
    return page_frame(
        data_table(
            "projects",
            ["projects.name", "projects.status", *[f"task_status.{s}" for s in TASK_STATUSES], "projects.total"],
            ProjectsState.projects,
            _row,
            loaded=ProjectsState.loaded,
            empty_key="projects.empty",
        ),
        title_key="projects.title",
    )
