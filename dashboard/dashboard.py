"""The Reflex app: pages and the HTTP routes mounted on its backend."""

from __future__ import annotations

import reflex as rx

from dashboard.api import api_app
from dashboard.pages.companies import companies_page
from dashboard.pages.home import home_page
from dashboard.pages.login import login_page
from dashboard.pages.projects import projects_page
from dashboard.state.companies import CompaniesState
from dashboard.state.home import HomeState
from dashboard.state.login import LoginState
from dashboard.state.projects import ProjectsState

TITLE = "WorkDash"

# The Radix theme is configured in rxconfig.py (RadixThemesPlugin).
app = rx.App(api_transformer=api_app())

app.add_page(login_page, route="/login", on_load=LoginState.load, title=f"{TITLE} · Sign in")
app.add_page(home_page, route="/", on_load=HomeState.load, title=TITLE)
app.add_page(projects_page, route="/projects", on_load=ProjectsState.load, title=f"{TITLE} · Projects")
app.add_page(companies_page, route="/companies", on_load=CompaniesState.load, title=f"{TITLE} · Companies")
