"""The Reflex app: pages and the HTTP routes mounted on its backend.

Every page's on_load handlers check the actor themselves (dashboard/state/base.py); the routes of
the pages in navigation come from PAGE_ROUTES, one per services.policy.Page.
"""

from __future__ import annotations

import reflex as rx

from dashboard.api import api_app
from dashboard.pages.account import account_page
from dashboard.pages.audit import audit_page
from dashboard.pages.companies import companies_page, company_detail_page
from dashboard.pages.home import home_page
from dashboard.pages.invite import invite_page
from dashboard.pages.login import login_page
from dashboard.pages.outbox import outbox_page
from dashboard.pages.projects import projects_page
from dashboard.pages.signup import signup_page
from dashboard.pages.team import team_page
from dashboard.state.account import AccountState
from dashboard.state.audit import AuditState
from dashboard.state.base import PAGE_ROUTES
from dashboard.state.companies import DETAIL_PARAM, CompaniesState, CompanyDetailState
from dashboard.state.home import HomeState
from dashboard.state.invite import TOKEN_PARAM, InviteState
from dashboard.state.login import LoginState
from dashboard.state.outbox import OutboxState
from dashboard.state.projects import ProjectsState
from dashboard.state.signup import SignupState
from dashboard.state.team import TeamState
from services.policy import Page

TITLE = "WorkDash"

# The Radix theme is configured in rxconfig.py (RadixThemesPlugin).
app = rx.App(api_transformer=api_app())

# Pages anyone may open.
app.add_page(login_page, route="/login", on_load=LoginState.load, title=f"{TITLE} · Sign in")
app.add_page(signup_page, route="/signup", on_load=SignupState.load, title=f"{TITLE} · Sign up")
app.add_page(invite_page, route=f"/invite/[{TOKEN_PARAM}]", on_load=InviteState.load, title=f"{TITLE} · Invitation")

# Signed-in pages. Where a page shows several lists, the main list loads last (each handler starts
# by clearing the previous call's message, so the main list's error is the one that stays).
PAGES = {
    Page.HOME: (home_page, HomeState.load, "Home"),
    Page.PROJECTS: (projects_page, ProjectsState.load, "Projects"),
    Page.TEAM: (team_page, [TeamState.load_projects, TeamState.load_invitations, TeamState.load_members], "Team"),
    Page.AUDIT: (
        audit_page,
        [AuditState.load_actions, AuditState.load_users, AuditState.load_companies, AuditState.load_entries],
        "Audit log",
    ),
    Page.COMPANIES: (companies_page, CompaniesState.load, "Companies"),
    Page.OUTBOX: (outbox_page, OutboxState.load, "Outbox"),
    Page.ACCOUNT: (account_page, AccountState.load, "Account"),
}
for page, (component, on_load, title) in PAGES.items():
    app.add_page(component, route=PAGE_ROUTES[page.value], on_load=on_load, title=f"{TITLE} · {title}")

app.add_page(
    company_detail_page,
    route=f"/companies/[{DETAIL_PARAM}]",
    on_load=CompanyDetailState.load,
    title=f"{TITLE} · Company",
)
