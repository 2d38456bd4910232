from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.my_tasks.state import MyTaskRow, MyTasksState
from dashboard.i18n import t_var


def _row(task: ObjectVar[MyTaskRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(task.key, href=task.href)),
        rx.table.cell(task.title),
        rx.table.cell(rx.badge(t_var(task.status, "task_status."))),
        rx.table.cell(t_var(task.priority, "task_priority.")),
        rx.table.cell(task.due),
        data_testid="my-task",
    )


def my_tasks_page() -> rx.Component:
    return page_frame(
        data_table(
            "my-tasks",
            ["my_tasks.task", "task.title", "task.status", "task.priority", "task.due_date"],
            MyTasksState.tasks,
            _row,
            loaded=MyTasksState.loaded,
            empty_key="my_tasks.empty",
        ),
        title_key="my_tasks.title",
    )
