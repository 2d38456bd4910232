"""Identity, tenancy and access control end to end: sign-up, invitations through the dev outbox,
acceptance in fresh browsers, role navigation, guards, sessions, the audit log and its CSV export."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import quote_plus, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from devtools.seed import COMPANIES, DEMO_USERS
from models import Role
from services.audit.records import CSV_HEADER
from services.identity.auth import SESSION_COOKIE
from tests.e2e.conftest import at, goto, login_as, nav_ids, submit_and_land, wait_hydrated

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def fresh_throttles(test_env: object) -> None:
    """Sign-ups count per IP (10 an hour): with long-lived test servers, earlier runs must not throttle this one."""
    from services.core import throttle

    throttle.clear_all()


NewContext = Callable[..., BrowserContext]
ADMIN = next(u for u in DEMO_USERS if u.role is Role.ADMIN)
CLIENT = next(u for u in DEMO_USERS if u.role is Role.CLIENT)
PASSWORD = "Plum-Harbor-Lantern-47"
INVITE_LINK = re.compile(r"https?://\S+?(/invite/[A-Za-z0-9_-]+)")
VERIFY_LINK = re.compile(r"https?://\S+?(/verify/[A-Za-z0-9_-]+)")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def sign_up(page: Page, app_url: str, company: str, name: str, email: str, password: str = PASSWORD) -> None:
    """Fill and send the sign-up form: the answer is "check your mail", whatever the address."""
    goto(page, app_url, "/signup")
    page.fill("#company_name", company)
    page.fill("#full_name", name)
    page.fill("#email", email)
    page.fill("#password", password)
    submit_and_land(page, "#signup-submit", "/signup", query=True)
    assert urlsplit(page.url).query == "sent=1", page.url  # nothing else: no address, no name
    expect(page.locator("#page-notice")).to_have_text("Check your mail.")
    expect(page.locator("#signup-submit")).to_have_count(0)


def mailed_link(email: str, pattern: re.Pattern[str]) -> str:
    """The newest link of `pattern` mailed to `email`, read from the dev outbox (Redis) the app writes to.
    Waits a little: some mails (a password reset's) are sent just after the answer."""
    from services.core import mailer
    from services.core.redis_client import get_redis

    deadline = time.monotonic() + 10
    while True:
        for raw in get_redis().lrange(mailer.OUTBOX_KEY, 0, mailer.OUTBOX_SIZE - 1):
            message = json.loads(raw)
            if message["to"] == email and (found := pattern.search(message["body"])):
                return str(found.group(1))
        if time.monotonic() > deadline:
            raise AssertionError(f"no link mailed to {email}")
        time.sleep(0.1)


def confirm(page: Page, app_url: str, link: str, company: str, email: str, password: str = PASSWORD) -> None:
    """Open the sign-up link, enter the password chosen at sign-up: signed in, at home."""
    goto(page, app_url, link)
    expect(page.locator("#verify-company")).to_have_text(company)
    expect(page.locator("#verify-email")).to_have_text(email)
    page.fill("#password", password)
    submit_and_land(page, "#verify-submit", "/")


def sign_up_and_confirm(page: Page, app_url: str, company: str, name: str, email: str) -> None:
    sign_up(page, app_url, company, name, email)
    confirm(page, app_url, mailed_link(email, VERIFY_LINK), company, email)


def invite(page: Page, email: str, role: Role) -> None:
    page.fill("#invite-email", email)
    page.select_option("#invite-role", role.value)
    page.click("#invite-submit")
    expect(page.locator("#page-notice")).to_have_text("Invitation sent.")
    expect(page.locator(f"[data-testid=invitation-row][data-email='{email}']")).to_be_visible()


def link_from_outbox_page(page: Page, app_url: str, email: str, pattern: re.Pattern[str] = INVITE_LINK) -> str:
    """The operator's way: the newest link of `pattern` to `email` on the dev outbox page."""
    goto(page, app_url, "/outbox")
    body = page.locator(f"[data-testid=mail][data-to='{email}'] [data-testid=mail-body]").first
    expect(body).to_contain_text(pattern)
    found = pattern.search(body.inner_text())
    assert found, body.inner_text()
    return found.group(1)


def accept(page: Page, app_url: str, link: str, company: str, email: str, role_label: str, name: str) -> None:
    goto(page, app_url, link)
    expect(page.locator("#invite-company")).to_have_text(company)
    expect(page.locator("#invite-email")).to_have_text(email)
    expect(page.locator("#invite-role")).to_have_text(role_label)
    page.fill("#full_name", name)
    page.fill("#password", PASSWORD)
    submit_and_land(page, "#invite-accept", "/")
    expect(page.locator("#header-user")).to_have_text(name)
    expect(page.locator("#header-role")).to_have_text(role_label)
    expect(page.locator("#header-company")).to_have_text(company)


def test_signup_invite_accept_and_role_navigation(page: Page, app_url: str, new_context: NewContext) -> None:
    company, manager_email = unique("Acme Rockets"), f"{unique('boss')}@example.com"
    worker_email, client_email = f"{unique('worker')}@example.com", f"{unique('client')}@example.com"

    # 1. A new company signs up: "check your mail". The operator's dev outbox has the link; before it
    #    is opened the manager cannot sign in. The link (with the password) signs the manager in.
    sign_up(page, app_url, company, "Bea Boss", manager_email)
    admin = new_context().new_page()
    login_as(admin, app_url, ADMIN.email, ADMIN.password)
    verify_link = link_from_outbox_page(admin, app_url, manager_email, VERIFY_LINK)
    goto(page, app_url, "/login")
    page.fill("#email", manager_email)
    page.fill("#password", PASSWORD)
    submit_and_land(page, "#login-submit", "/login", query=True)
    expect(page.locator("#page-error")).to_have_text("Wrong email or password.")
    confirm(page, app_url, verify_link, company, manager_email)
    expect(page.locator("#header-company")).to_have_text(company)
    expect(page.locator("#header-role")).to_have_text("Manager")
    assert nav_ids(page) == [
        "nav-home",
        "nav-projects",
        "nav-my_tasks",
        "nav-team",
        "nav-security",
        "nav-audit",
        "nav-billing",
        "nav-account",
    ]

    # 2. The manager invites a worker and a client from /team.
    page.click("#nav-team")
    page.wait_for_url(at("/team"))
    wait_hydrated(page)
    expect(page.locator(f"[data-testid=member-row][data-email='{manager_email}']")).to_be_visible()
    invite(page, worker_email, Role.WORKER)
    invite(page, client_email, Role.CLIENT)

    # 3. The demo admin reads both links in the dev outbox.
    worker_link = link_from_outbox_page(admin, app_url, worker_email)
    client_link = link_from_outbox_page(admin, app_url, client_email)

    # 4. Each accepts in a fresh browser and sees only their role's navigation.
    worker = new_context().new_page()
    accept(worker, app_url, worker_link, company, worker_email, "Worker", "Wes Worker")
    assert nav_ids(worker) == ["nav-home", "nav-projects", "nav-my_tasks", "nav-account"]

    client = new_context().new_page()
    accept(client, app_url, client_link, company, client_email, "Client", "Cleo Client")
    assert nav_ids(client) == ["nav-home", "nav-projects", "nav-account"]

    # 5. A client typing a manager page's URL is sent home, with no team data on the way.
    client.goto(app_url + "/team")
    client.wait_for_url(at("/"))
    wait_hydrated(client)
    expect(client.locator("#members-table")).to_have_count(0)
    expect(client.locator("#signed-in-as")).to_contain_text("Cleo Client")

    # 6. A used link is dead.
    goto(worker, app_url, worker_link)
    expect(worker.locator("#page-error")).to_contain_text("invalid, expired or already used")
    expect(worker.locator("#invite-accept")).to_have_count(0)

    # 7. The manager's team now lists both, and no pending invitation.
    goto(page, app_url, "/team")
    for email in (worker_email, client_email):
        expect(page.locator(f"[data-testid=member-row][data-email='{email}']")).to_be_visible()
    expect(page.locator("#invitations-empty")).to_be_visible()

    # 8. The audit log shows the sign-up and the invitations, to the manager.
    goto(page, app_url, "/audit")
    rows = page.locator("#audit-table [data-testid=audit-row]")
    expect(rows.first).to_be_visible()
    for action in ("signup", "member_invited", "invite_accepted"):
        expect(page.locator(f"#audit-table [data-action={action}]").first).to_be_visible()
    expect(page.locator("#audit-table")).not_to_contain_text(COMPANIES["globex"])  # another company's rows stay out

    # Filtering by action keeps only those rows.
    page.select_option("#filter-action", "member_invited")
    page.click("#filter-apply")
    expect(page.locator("#audit-count")).to_contain_text("of 2")
    expect(rows).to_have_count(2)

    # 9. The CSV export downloads with a header row (and only this company's rows, filtered).
    with page.expect_download() as download_info:
        page.click("#audit-export")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert tuple(lines[0]) == CSV_HEADER
    assert len(lines) == 3 and {row[5] for row in lines[1:]} == {"member_invited"}
    assert all(row[2] == company for row in lines[1:])


def add_project(database: tuple[str, str], company: str, name: str) -> str:
    """Projects have no UI yet: create one for the signed-up company directly (as seeding would)."""
    from sqlalchemy import create_engine
    from sqlmodel import select

    from models import Company
    from services.core.db import system_scope
    from tests.factories import make_project

    engine = create_engine(database[0])
    try:
        with system_scope(engine) as session:
            owner = session.exec(select(Company).where(Company.name == company)).one()
            return str(make_project(session, owner, name=name).id)
    finally:
        engine.dispose()


def test_team_management(page: Page, app_url: str, new_context: NewContext, e2e_database: tuple[str, str]) -> None:
    company, worker_email = unique("Team Co"), f"{unique('wes')}@example.com"
    sign_up_and_confirm(page, app_url, company, "Tom Team", f"{unique('tom')}@example.com")
    project = unique("Launch plan")
    project_id = add_project(e2e_database, company, project)

    # Invite a worker straight onto the project.
    goto(page, app_url, "/team")
    page.check(f"#invite-projects input[name='project:{project_id}']")
    invite(page, worker_email, Role.WORKER)
    admin = new_context().new_page()
    login_as(admin, app_url, ADMIN.email, ADMIN.password)
    worker = new_context().new_page()
    accept(worker, app_url, link_from_outbox_page(admin, app_url, worker_email), company, worker_email, "Worker", "Wes")
    goto(worker, app_url, "/projects")
    expect(worker.locator("[data-testid=project-row]")).to_contain_text(project)

    # Take the worker off the project: their project list empties.
    goto(page, app_url, "/team")
    row = page.locator(f"[data-testid=member-row][data-email='{worker_email}']")
    expect(row).to_contain_text(project)
    membership = page.locator("[data-testid=project-members-form]", has_text=project)
    checkbox = membership.locator("label", has_text="Wes").locator("input")
    expect(checkbox).to_be_checked()
    checkbox.uncheck()
    membership.locator("button[type=submit]").click()
    expect(page.locator("#page-notice")).to_have_text("Project members saved.")
    expect(row).not_to_contain_text(project)
    goto(worker, app_url, "/projects")
    expect(worker.locator("#projects-empty")).to_be_visible()

    # Deactivate (after confirming) and reactivate.
    row.locator("button[id^=deactivate-]").click()
    page.locator("[id^=deactivate-][id$=-confirm]").click()
    expect(row).to_contain_text("Deactivated")
    row.locator("button[id^=reactivate-]").click()
    expect(page.locator("#page-notice")).to_have_text("Member reactivated.")
    expect(row).to_contain_text("Active")

    # A new role ends the member's sessions: the worker's next page is the login form.
    row.locator("select").select_option("client")
    expect(page.locator("#page-notice")).to_contain_text("Role changed")
    worker.goto(app_url + "/projects")
    worker.wait_for_url(at("/login"))

    # The manager cannot demote themselves.
    own = page.locator("[data-testid=member-row]", has_text="Tom Team")
    own.locator("select").select_option("worker")
    expect(page.locator("#page-error")).to_have_text("You cannot change your own role.")
    expect(own.locator("select")).to_have_value("manager")

    # Pending invitations: resend, then revoke.
    pending = f"{unique('pending')}@example.com"
    invite(page, pending, Role.CLIENT)
    invitation = page.locator(f"[data-testid=invitation-row][data-email='{pending}']")
    invitation.locator("button[id^=resend-]").click()
    expect(page.locator("#page-notice")).to_have_text("Invitation sent again with a new link.")
    invitation.locator("button[id^=revoke-]").click()
    page.locator("[id^=revoke-][id$=-confirm]").click()
    expect(page.locator("#page-notice")).to_have_text("Invitation revoked.")
    expect(invitation).to_have_count(0)


def test_signup_errors_keep_the_entered_fields(new_context: NewContext, app_url: str) -> None:
    """The form is plain HTML (it posts before hydration); an error comes back with the fields, not the password."""
    no_js = new_context(java_script_enabled=False).new_page()
    no_js.goto(app_url + "/signup")
    email = f"{unique('weak')}@example.com"
    no_js.fill("#company_name", "Weak Passwords Ltd")
    no_js.fill("#full_name", "Wanda Weak")
    no_js.fill("#email", email)
    no_js.fill("#password", "password1234")
    no_js.click("#signup-submit")
    no_js.wait_for_url(at("/signup", query=True))
    assert "error=error.password_too_common" in no_js.url and "form=" in no_js.url
    for typed in ("password1234", "Wanda", "Weak+Passwords", quote_plus(email), email.split("@")[0]):
        assert typed not in no_js.url  # the fields wait on the server (proxy logs, browser history)

    page = new_context().new_page()
    page.goto(no_js.url)
    wait_hydrated(page)
    expect(page.locator("#page-error")).to_have_text("This password is too common or too simple. Choose another one.")
    expect(page.locator("#company_name")).to_have_value("Weak Passwords Ltd")
    expect(page.locator("#email")).to_have_value(email)
    expect(page.locator("#password")).to_have_value("")
    assert not any(c["name"] == SESSION_COOKIE for c in page.context.cookies())

    # The page is translated like every other.
    page.click("#lang-ru")
    expect(page.locator("#signup-title")).to_have_text("Создание компании")
    page.click("#lang-en")


def test_a_known_address_gets_the_same_answer_and_a_warning_mail(page: Page, app_url: str) -> None:
    manager = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
    sign_up(page, app_url, unique("Account Security"), "Mallory", manager.email)  # the same "check your mail"
    from services.core import mailer
    from services.core.redis_client import get_redis

    newest = json.loads(get_redis().lindex(mailer.OUTBOX_KEY, 0) or "{}")
    assert newest["to"] == manager.email and "tried to sign up" in newest["subject"]
    assert "Account Security" not in newest["body"] and "/verify/" not in newest["body"]


def test_a_dead_sign_up_link_says_so(page: Page, app_url: str) -> None:
    goto(page, app_url, "/verify/" + secrets.token_urlsafe(32))
    expect(page.locator("#page-error")).to_contain_text("invalid, expired or already used")
    expect(page.locator("#verify-submit")).to_have_count(0)
    expect(page.locator("#verify-signup-link")).to_be_visible()


def test_login_page_links_to_signup(page: Page, app_url: str) -> None:
    goto(page, app_url, "/login")
    page.click("#signup-link")
    page.wait_for_url(at("/signup"))
    wait_hydrated(page)
    expect(page.locator("#signup-title")).to_have_text("Create your company")


def test_invalid_invite_link_says_so(page: Page, app_url: str) -> None:
    goto(page, app_url, "/invite/" + secrets.token_urlsafe(32))
    expect(page.locator("#page-error")).to_contain_text("invalid, expired or already used")
    expect(page.locator("#invite-accept")).to_have_count(0)
    expect(page.locator("#invite-login-link")).to_be_visible()


def test_account_sessions_and_log_out_everywhere(page: Page, app_url: str, new_context: NewContext) -> None:
    other = new_context().new_page()  # the same user on another device
    login_as(other, app_url, CLIENT.email, CLIENT.password)
    login_as(page, app_url, CLIENT.email, CLIENT.password)

    page.click("#nav-account")
    page.wait_for_url(at("/account"))
    wait_hydrated(page)
    sessions = page.locator("[data-testid=session-row]")
    expect(sessions.first).to_be_visible()
    assert sessions.count() >= 2
    expect(page.locator("#this-session")).to_have_count(1)

    page.click("#logout-all")
    page.click("#logout-all-confirm")
    page.wait_for_url(at("/login"))
    wait_hydrated(page)

    # Every session ended: this browser and the other device are both signed out.
    for browser_page in (page, other):
        browser_page.goto(app_url + "/account")
        browser_page.wait_for_url(at("/login"))
        wait_hydrated(browser_page)
        expect(browser_page.locator("#login-title")).to_be_visible()


def test_password_change_checks_the_current_password(page: Page, app_url: str, new_context: NewContext) -> None:
    email = f"{unique('pw')}@example.com"
    sign_up_and_confirm(page, app_url, unique("Password Co"), "Pat Password", email)
    goto(page, app_url, "/account")

    page.fill("#current_password", "not-my-password-at-all")
    page.fill("#new_password", "Quartz-Meadow-Violin-88")
    page.fill("#repeat_password", "Quartz-Meadow-Violin-88")
    page.click("#change-password")
    expect(page.locator("#page-error")).to_have_text("The current password is wrong.")

    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "Quartz-Meadow-Violin-88")
    page.fill("#repeat_password", "Quartz-Meadow-Violin-88")
    page.click("#change-password")
    expect(page.locator("#page-notice")).to_contain_text("Password changed")

    fresh = new_context().new_page()
    login_as(fresh, app_url, email, "Quartz-Meadow-Violin-88")


def test_admin_company_console(page: Page, app_url: str, new_context: NewContext) -> None:
    company = unique("Console Test")
    owner = new_context().new_page()
    sign_up_and_confirm(owner, app_url, company, "Olive Owner", f"{unique('owner')}@example.com")

    login_as(page, app_url, ADMIN.email, ADMIN.password)
    goto(page, app_url, "/companies")
    page.fill("#company-search", company)
    page.click("#company-search-submit")
    rows = page.locator("[data-testid=company-row]")
    expect(rows).to_have_count(1)
    page.locator("[data-testid=company-link]").first.click()
    page.wait_for_url(re.compile(r".*/companies/[0-9a-f-]{36}/?$"))
    wait_hydrated(page)
    expect(page.locator("#company-name")).to_have_text(company)
    expect(page.locator("#members-manager")).to_have_text("1")
    expect(page.locator("#company-audit-table [data-action=signup]")).to_be_visible()

    # Deactivating (after confirming) signs its users out at once; reactivating lets them back in.
    page.click("#company-deactivate")
    page.click("#company-deactivate-confirm")
    expect(page.locator("#company-status")).to_have_text("Deactivated")
    owner.goto(app_url + "/team")
    owner.wait_for_url(at("/login"))
    wait_hydrated(owner)
    page.click("#company-reactivate")
    page.click("#company-reactivate-confirm")
    expect(page.locator("#company-status")).to_have_text("Active")

    # A malformed or unknown id: the same "not found" view.
    for bad in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        goto(page, app_url, f"/companies/{bad}")
        expect(page.locator("#company-not-found")).to_be_visible()
        expect(page.locator("#company-name")).to_have_count(0)


def test_export_route_refuses_without_access(page: Page, app_url: str) -> None:
    anonymous = page.request.get(app_url + "/api/audit/export.csv", max_redirects=0)
    assert anonymous.status == 403 and "id,created_at" not in anonymous.text()

    login_as(page, app_url, CLIENT.email, CLIENT.password)  # clients may not read the audit log
    refused = page.request.get(app_url + "/api/audit/export.csv")
    assert refused.status == 403 and "id,created_at" not in refused.text()


def test_manager_cannot_export_another_company(page: Page, app_url: str) -> None:
    manager = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
    login_as(page, app_url, manager.email, manager.password)
    other_company = "00000000-0000-4000-8000-000000000000"
    refused = page.request.get(f"{app_url}/api/audit/export.csv?company_id={other_company}")
    assert refused.status == 403
    malformed = page.request.get(f"{app_url}/api/audit/export.csv?user_id=nope")
    assert malformed.status == 404
    own = page.request.get(f"{app_url}/api/audit/export.csv")
    assert own.status == 200 and own.headers["content-disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(own.text())))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) > 1 and {row[2] for row in rows[1:]} == {COMPANIES["acme"]}  # own company's rows only


@pytest.mark.parametrize(
    ("route", "back"),
    [("/api/auth/signup", "/signup"), ("/api/auth/verify-signup", "/verify/"), ("/api/auth/accept-invite", "/invite/")],
)
def test_cross_site_signup_and_accept_are_refused(page: Page, app_url: str, route: str, back: str) -> None:
    form = {"company_name": "Evil", "full_name": "Mallory", "email": "m@example.com", "password": PASSWORD}
    response = page.request.post(
        app_url + route, form=form | {"token": "x" * 43}, headers={"Origin": "https://evil.example"}, max_redirects=0
    )
    assert response.status == 303
    assert response.headers["location"].startswith(back) and "error=error.cross_site" in response.headers["location"]
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
