"""The Reflex app: every page from the registry (dashboard/registry.py) and the HTTP routes mounted
on its backend (dashboard/api)."""

from __future__ import annotations

from dashboard.api import App, api_app
from dashboard.i18n import text
from dashboard.registry import PAGES, available
from dashboard.state import discussion as _discussion  # noqa: F401  # see below
from dashboard.state.base import ActorChangeMiddleware
from services.core.db_roles import refuse_unsafe_database

TITLE = "WorkDash"

# Before any page is served, in every worker process: production never runs with a database role
# that could bypass row-level security (the launcher checks too; this covers a bare `reflex run`).
refuse_unsafe_database()

# The Radix theme is configured in rxconfig.py (RadixThemesPlugin); App adds the security headers.
app = App(api_transformer=api_app())
# TaskDiscussionState (a task's comments and history) belongs to the task drawer that mounts
# dashboard/components/task_discussion.py; it is imported above so its guarded handlers exist in
# every app process whichever page shows it.
# First: the previous user's states are reset before any middleware or handler sends a byte of them.
app.add_middleware(ActorChangeMiddleware(), index=0)

for page in PAGES:
    if available(page):
        app.add_page(
            page.component, route=page.route, on_load=list(page.on_load), title=f"{TITLE} · {text(page.title_key)}"
        )
