"""/projects/<project_id>/files: the project's Files tab (the projects page links here)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.files_panel import files_panel
from dashboard.components.layout import page_frame


def files_page() -> rx.Component:
    return page_frame(files_panel(), title_key="files.title")
