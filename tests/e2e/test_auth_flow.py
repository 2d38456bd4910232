"""Walking skeleton: sign in as every role, navigation per role, sign out, errors, language, guards."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from devtools.seed import DEMO_USERS
from models import Role
from services.identity.auth import SESSION_COOKIE
from tests.e2e.conftest import at, goto, login_as, nav_ids, wait_hydrated

pytestmark = pytest.mark.e2e

# One demo user per role (the first of each).
USERS = {role: next(u for u in DEMO_USERS if u.role is role) for role in Role}

EXPECTED_NAV = {
    Role.ADMIN: [
        "nav-home",
        "nav-audit",
        "nav-billing_admin",
        "nav-plans",
        "nav-companies",
        "nav-outbox",
        "nav-account",
    ],
    Role.MANAGER: [
        "nav-home",
        "nav-projects",
        "nav-my_tasks",
        "nav-team",
        "nav-security",
        "nav-audit",
        "nav-billing",
        "nav-account",
    ],
    Role.WORKER: ["nav-home", "nav-projects", "nav-my_tasks", "nav-account"],
    Role.CLIENT: ["nav-home", "nav-projects", "nav-account"],
}
ROLE_LABEL = {Role.ADMIN: "Administrator", Role.MANAGER: "Manager", Role.WORKER: "Worker", Role.CLIENT: "Client"}


def session_cookie(context: BrowserContext) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == SESSION_COOKIE), None)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_sees_its_navigation(page: Page, app_url: str, role: Role) -> None:
    user = USERS[role]
    login_as(page, app_url, user.email, user.password)

    expect(page.locator("#signed-in-as")).to_contain_text(user.full_name)
    expect(page.locator("#signed-in-as")).to_contain_text(ROLE_LABEL[role])
    expect(page.locator("#header-user")).to_have_text(user.full_name)
    assert nav_ids(page) == EXPECTED_NAV[role]

    cookie = session_cookie(page.context)
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    # The token is not readable from JavaScript.
    assert SESSION_COOKIE not in page.evaluate("document.cookie")

    # The page the role may open shows its list.
    if role is Role.ADMIN:
        page.click("#nav-companies")
        page.wait_for_url(at("/companies"))
        expect(page.locator("[data-testid=company-row]").first).to_be_visible()
    else:
        page.click("#nav-projects")
        page.wait_for_url(at("/projects"))
        expect(page.locator("#projects-table, #projects-empty").first).to_be_visible()


def test_manager_sees_projects_with_task_counts(page: Page, app_url: str) -> None:
    user = USERS[Role.MANAGER]
    login_as(page, app_url, user.email, user.password)
    goto(page, app_url, "/projects")
    rows = page.locator("[data-testid=project-row]")
    expect(rows.first).to_be_visible()
    # Counts per status are badges in each row (a status with no task shows none).
    expect(page.locator("#projects-table tbody")).to_contain_text("In progress")


def test_logout_returns_to_login_and_guards_pages(page: Page, app_url: str) -> None:
    user = USERS[Role.MANAGER]
    login_as(page, app_url, user.email, user.password)
    page.click("#logout")
    page.wait_for_url(at("/login"))
    wait_hydrated(page)
    assert session_cookie(page.context) is None

    page.goto(app_url + "/projects")
    page.wait_for_url(at("/login"))
    wait_hydrated(page)
    expect(page.locator("#login-title")).to_be_visible()


def test_wrong_password_shows_message_and_sets_no_cookie(page: Page, app_url: str) -> None:
    user = USERS[Role.WORKER]
    goto(page, app_url, "/login")
    page.fill("#email", user.email)
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    page.wait_for_url(at("/login", query=True))
    wait_hydrated(page)
    expect(page.locator("#page-error")).to_have_text("Wrong email or password.")
    assert session_cookie(page.context) is None

    # An unknown email gets exactly the same answer.
    goto(page, app_url, "/login")
    page.fill("#email", "nobody@example.com")
    page.fill("#password", "whatever-password")
    page.click("#login-submit")
    page.wait_for_url(at("/login", query=True))
    wait_hydrated(page)
    expect(page.locator("#page-error")).to_have_text("Wrong email or password.")
    assert session_cookie(page.context) is None


def test_language_switch_translates_login_page(page: Page, app_url: str) -> None:
    goto(page, app_url, "/login")
    expect(page.locator("#login-title")).to_have_text("Sign in")
    page.click("#lang-ru")
    expect(page.locator("#login-title")).to_have_text("Вход")
    expect(page.locator("#login-submit")).to_have_text("Войти")
    # The choice is kept in this browser.
    goto(page, app_url, "/login?error=error.bad_credentials")
    expect(page.locator("#login-title")).to_have_text("Вход")
    expect(page.locator("#page-error")).to_have_text("Неверная почта или пароль.")
    page.click("#lang-en")
    expect(page.locator("#login-title")).to_have_text("Sign in")


def test_worker_typing_companies_is_redirected_home(page: Page, app_url: str) -> None:
    user = USERS[Role.WORKER]
    login_as(page, app_url, user.email, user.password)
    page.goto(app_url + "/companies")
    page.wait_for_url(at("/"))
    wait_hydrated(page)
    expect(page.locator("#companies-table")).to_have_count(0)
    assert nav_ids(page) == EXPECTED_NAV[Role.WORKER]


def test_cross_site_login_post_is_refused(page: Page, app_url: str) -> None:
    user = USERS[Role.MANAGER]
    response = page.request.post(
        app_url + "/api/auth/login",
        form={"email": user.email, "password": user.password},
        headers={"Origin": "https://evil.example"},
        max_redirects=0,
    )
    assert response.status == 303
    assert "error=error.cross_site" in response.headers["location"]
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_login_form_works_without_javascript(browser: Browser, app_url: str) -> None:
    """The login form is plain HTML: it signs in even before (or without) hydration."""
    user = USERS[Role.CLIENT]
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(app_url + "/login")
        page.fill("#email", user.email)
        page.fill("#password", user.password)
        page.click("#login-submit")
        page.wait_for_url(at("/"))
        assert session_cookie(context) is not None
    finally:
        context.close()


def test_dark_mode_switch(page: Page, app_url: str) -> None:
    goto(page, app_url, "/login")
    html = page.locator("html")
    dark = re.compile(r"\bdark\b")
    started_dark = bool(dark.search(html.get_attribute("class") or ""))
    page.click("#dark-mode")
    if started_dark:
        expect(html).not_to_have_class(dark)
    else:
        expect(html).to_have_class(dark)
