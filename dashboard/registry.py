"""Every page of the app in one table: route, component, on-load handlers, title key, the action it
needs (None: a public page), and whether it shows in the sidebar.

`dashboard.py` adds the pages from this table and `AuthState` builds the sidebar from it, so a page's
route, its navigation entry and who may open it can never disagree. The on-load handlers still check
the actor themselves (dashboard/state/base.py): a page guard is only UX.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import reflex as rx

from dashboard.features.account.page import account_page
from dashboard.features.account.state import AccountState, TwoFactorState
from dashboard.features.audit.page import audit_page
from dashboard.features.audit.state import AuditState
from dashboard.features.billing.page import billing_page
from dashboard.features.billing.state import BillingState
from dashboard.features.billing_admin.page import billing_admin_page, plans_page
from dashboard.features.billing_admin.state import BillingAdminState, PlansState
from dashboard.features.board.page import board_page
from dashboard.features.board.state import PROJECT_PARAM, BoardState
from dashboard.features.companies.page import companies_page, company_detail_page
from dashboard.features.companies.state import DETAIL_PARAM, CompaniesState, CompanyDetailState
from dashboard.features.files.page import files_page
from dashboard.features.files.state import PROJECT_PARAM as FILES_PROJECT_PARAM
from dashboard.features.files.state import FilesState
from dashboard.features.home.page import home_page
from dashboard.features.home.state import HomeState
from dashboard.features.invite.page import invite_page
from dashboard.features.invite.state import TOKEN_PARAM, InviteState
from dashboard.features.login.page import login_page
from dashboard.features.login.state import LoginState
from dashboard.features.my_tasks.page import my_tasks_page
from dashboard.features.my_tasks.state import MyTasksState
from dashboard.features.notifications.page import notifications_page
from dashboard.features.notifications.state import NotificationsState
from dashboard.features.outbox.page import outbox_page
from dashboard.features.outbox.state import OutboxState
from dashboard.features.projects.page import company_projects_page, project_detail_page, projects_page
from dashboard.features.projects.state import (
    COMPANY_PARAM,
    CompanyProjectsState,
    ProjectDetailState,
    ProjectsState,
)
from dashboard.features.reset.page import reset_password_page, reset_request_page
from dashboard.features.reset.state import TOKEN_PARAM as RESET_TOKEN_PARAM
from dashboard.features.reset.state import ResetPasswordState, ResetRequestState
from dashboard.features.security.page import security_page
from dashboard.features.security.state import SecurityState
from dashboard.features.signup.page import signup_page
from dashboard.features.signup.state import SignupState
from dashboard.features.sso.page import sso_sign_in_page
from dashboard.features.sso.state import SLUG_PARAM as SSO_SLUG_PARAM
from dashboard.features.sso.state import SsoSignInState
from dashboard.features.team.page import team_page
from dashboard.features.team.state import TeamState
from dashboard.features.two_factor.page import second_step_page
from dashboard.features.two_factor.state import SecondStepState
from dashboard.features.verify.page import verify_page
from dashboard.features.verify.state import TOKEN_PARAM as VERIFY_TOKEN_PARAM
from dashboard.features.verify.state import VerifyState
from dashboard.state.base import HOME_ROUTE, LOGIN_ROUTE, NavItem
from services.core.actor import Actor
from services.core.mailer import OUTBOX_ENVIRONMENTS
from services.core.policy import Action, scope_for
from services.core.settings import get_settings


@dataclass(frozen=True)
class PageSpec:
    name: str  # the sidebar entry's id (`nav-<name>`) and label key (`nav.<name>`)
    route: str
    component: Callable[[], rx.Component]
    # State handlers, e.g. `TeamState.load_members`: an EventHandler on the class (Reflex's state class
    # makes it one), typed as the `@requires`/`@public` decorators return it.
    on_load: Sequence[Callable[..., Any]]
    title_key: str
    action: Action | None  # None: anyone may open it
    in_nav: bool = True
    environments: tuple[str, ...] | None = None  # only in these ENVs (None: everywhere)


# Sidebar order. Where a page shows several lists, the main list loads last: each handler starts by
# clearing the previous call's message, so the main list's error is the one that stays.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("login", LOGIN_ROUTE, login_page, [LoginState.load], "login.title", None, in_nav=False),
    PageSpec(
        "two_factor",
        "/login/two-factor",
        second_step_page,
        [SecondStepState.load],
        "two_factor.title",
        None,
        in_nav=False,
    ),
    PageSpec(
        "sso",
        f"/login/sso/[{SSO_SLUG_PARAM}]",
        sso_sign_in_page,
        [SsoSignInState.load],
        "login.title",
        None,
        in_nav=False,
    ),
    PageSpec("signup", "/signup", signup_page, [SignupState.load], "signup.title", None, in_nav=False),
    PageSpec(
        "verify",
        f"/verify/[{VERIFY_TOKEN_PARAM}]",
        verify_page,
        [VerifyState.load],
        "signup.verify_title",
        None,
        in_nav=False,
    ),
    PageSpec(
        "reset_request",
        "/reset",
        reset_request_page,
        [ResetRequestState.load],
        "reset.request_title",
        None,
        in_nav=False,
    ),
    PageSpec(
        "reset",
        f"/reset/[{RESET_TOKEN_PARAM}]",
        reset_password_page,
        [ResetPasswordState.load],
        "reset.title",
        None,
        in_nav=False,
    ),
    PageSpec("invite", f"/invite/[{TOKEN_PARAM}]", invite_page, [InviteState.load], "invite.title", None, in_nav=False),
    PageSpec("home", HOME_ROUTE, home_page, [HomeState.load], "home.title", Action.HOME_VIEW),
    PageSpec("projects", "/projects", projects_page, [ProjectsState.load], "projects.title", Action.PROJECT_LIST),
    PageSpec("my_tasks", "/my-tasks", my_tasks_page, [MyTasksState.load], "my_tasks.title", Action.MY_TASKS),
    PageSpec(
        "board",
        f"/projects/[{PROJECT_PARAM}]/board",
        board_page,
        [BoardState.load],
        "board.title",
        Action.BOARD_VIEW,
        in_nav=False,
    ),
    PageSpec(
        "project",
        f"/projects/[{PROJECT_PARAM}]",
        project_detail_page,
        [ProjectDetailState.load],
        "projects.detail_title",
        Action.PROJECT_LIST,
        in_nav=False,
    ),
    PageSpec(
        "notifications",
        "/notifications",
        notifications_page,
        [NotificationsState.load],
        "notifications.title",
        Action.NOTIFICATION_LIST,
        in_nav=False,
    ),
    PageSpec(
        "files",
        f"/projects/[{FILES_PROJECT_PARAM}]/files",
        files_page,
        [FilesState.load_project],
        "files.title",
        Action.FILE_VIEW,
        in_nav=False,
    ),
    PageSpec(
        "team",
        "/team",
        team_page,
        [TeamState.load_projects, TeamState.load_invitations, TeamState.load_members],
        "team.title",
        Action.TEAM_VIEW,
    ),
    PageSpec(
        "security", "/security", security_page, [SecurityState.load], "security.title", Action.COMPANY_SECURITY_EDIT
    ),
    PageSpec(
        "audit",
        "/audit",
        audit_page,
        [AuditState.load_actions, AuditState.load_users, AuditState.load_companies, AuditState.load_entries],
        "audit.title",
        Action.AUDIT_VIEW,
    ),
    PageSpec("billing", "/billing", billing_page, [BillingState.load], "billing.title", Action.BILLING_VIEW),
    PageSpec(
        "billing_admin",
        "/billing/admin",
        billing_admin_page,
        [BillingAdminState.load],
        "billing.admin_title",
        Action.BILLING_ADMIN,
    ),
    PageSpec("plans", "/plans", plans_page, [PlansState.load], "billing.plans_title", Action.PLAN_MANAGE),
    PageSpec("companies", "/companies", companies_page, [CompaniesState.load], "companies.title", Action.COMPANY_LIST),
    PageSpec(
        "company",
        f"/companies/[{DETAIL_PARAM}]",
        company_detail_page,
        [CompanyDetailState.load],
        "company.title",
        Action.COMPANY_VIEW,
        in_nav=False,
    ),
    PageSpec(
        "company_projects",
        f"/companies/[{COMPANY_PARAM}]/projects",
        company_projects_page,
        [CompanyProjectsState.load],
        "projects.operator_title",
        Action.COMPANY_PROJECTS_VIEW,
        in_nav=False,
    ),
    PageSpec(
        "outbox",
        "/outbox",
        outbox_page,
        [OutboxState.load],
        "outbox.title",
        Action.OUTBOX_VIEW,
        environments=OUTBOX_ENVIRONMENTS,
    ),
    PageSpec(
        "account",
        "/account",
        account_page,
        [TwoFactorState.load_two_factor, AccountState.load],
        "account.title",
        Action.SESSION_LIST,
    ),
)


def available(page: PageSpec) -> bool:
    return page.environments is None or get_settings().env in page.environments


def nav_for(actor: Actor) -> list[NavItem]:
    """The sidebar of this actor: the pages their role may open, in table order."""
    return [
        NavItem(name=p.name, route=p.route)
        for p in PAGES
        if p.in_nav and p.action is not None and available(p) and scope_for(actor, p.action) is not None
    ]


def render_pages_markdown() -> str:
    """The pages section of docs/roles.md (scripts/docs.py)."""
    from models import Role
    from services.core.policy import RULES

    lines = ["## Pages", "", "| Page | Route | Opens with | Visible to |", "|---|---|---|---|"]
    for page in PAGES:
        if page.action is None:
            lines.append(f"| {page.name} | `{page.route}` | – | anyone (public) |")
            continue
        visible = ", ".join(role.value for role in Role if role in RULES[page.action])
        lines.append(f"| {page.name} | `{page.route}` | `{page.action.value}` | {visible} |")
    return "\n".join(lines) + "\n"
