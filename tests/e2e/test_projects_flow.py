"""Projects in the browser: a manager creates a project (key suggested from the name), puts a worker
on it, archives and restores it, and deletes it by typing its name; a worker sees only their projects
and no settings; another company's project URL is a plain "not found". Comments: an internal one
stays away from the client, and a @mention lights the mentioned worker's bell."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, create_engine, text

from dashboard.state.discussion import TaskDiscussionState
from tests.e2e.conftest import at, goto, login_as, wait_hydrated
from tests.e2e.ws import EventSocket, login_cookie, merged_delta

pytestmark = pytest.mark.e2e

MANAGER = ("manager@acme.example.com", "demo-manager-password")
WORKER = ("worker@acme.example.com", "demo-worker-password")
CLIENT = ("client@acme.example.com", "demo-client-password")
NEW_PROJECT = "Launch Party"
MENTION_MARK = "e2e-mention"


@pytest.fixture(scope="module")
def owner(e2e_database: tuple[str, str]) -> Iterator[Engine]:
    engine = create_engine(e2e_database[0])
    yield engine
    engine.dispose()


def scalar(owner: Engine, sql: str, **params: object) -> object:
    with owner.begin() as conn:
        conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
        return conn.execute(text(sql), params).scalar()


def test_manager_creates_staffs_archives_restores_and_deletes_a_project(page: Page, app_url: str) -> None:
    login_as(page, app_url, *MANAGER)
    goto(page, app_url, "/projects")
    expect(page.locator("[data-testid=project-row][data-name='Website redesign']")).to_be_visible()

    page.click("#new-project")
    page.fill("#create-name", NEW_PROJECT)
    page.locator("#create-name").blur()
    expect(page.locator("#create-key")).to_have_attribute("placeholder", "LP")  # suggested from the name
    page.fill("#create-description", "**Kick-off** <script>alert(1)</script>")
    page.click("#create-project")
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}/?$"))
    wait_hydrated(page)
    expect(page.locator("#project-name")).to_have_text(NEW_PROJECT)
    expect(page.locator("#project-key")).to_have_text("LP")
    description = page.locator("[data-testid=project-description]")
    expect(description.locator("strong")).to_have_text("Kick-off")
    expect(description).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    expect(page.locator("#open-board")).to_have_attribute("href", re.compile(r"/projects/[0-9a-f-]{36}/board$"))
    expect(page.locator("#open-files")).to_have_attribute("href", re.compile(r"/projects/[0-9a-f-]{36}/files$"))

    page.click("#tab-members")
    expect(page.locator("#project-members-empty")).to_be_visible()
    page.locator("[data-testid=member-box][data-name='Walter Worker']").check()
    page.click("#save-members")
    expect(page.locator("#page-notice")).to_be_visible()
    expect(page.locator("[data-testid=project-member-row][data-name='Walter Worker']")).to_be_visible()

    page.click("#tab-settings")
    page.click("#archive-project")
    page.click("#archive-project-confirm")
    expect(page.locator("#archived-note")).to_be_visible()
    page.click("#tab-settings")
    page.click("#restore-project")
    expect(page.locator("#archived-note")).to_have_count(0)

    page.click("#tab-settings")
    page.fill("#delete-confirm-name", "launch party")
    page.click("#delete-project")
    expect(page.locator("#page-error")).to_be_visible()
    page.fill("#delete-confirm-name", NEW_PROJECT)
    page.click("#delete-project")
    page.wait_for_url(at("/projects"))
    wait_hydrated(page)
    expect(page.locator("[data-testid=project-row][data-name='Website redesign']")).to_be_visible()
    expect(page.locator(f"[data-testid=project-row][data-name='{NEW_PROJECT}']")).to_have_count(0)


def test_list_filters(page: Page, app_url: str) -> None:
    login_as(page, app_url, *MANAGER)
    goto(page, app_url, "/projects")
    page.fill("#project-search", "mobile")
    page.click("#project-filter")
    expect(page.locator("[data-testid=project-row]")).to_have_count(1)
    expect(page.locator("[data-testid=project-row][data-name='Mobile app']")).to_be_visible()
    page.fill("#project-search", "")
    page.select_option("#project-status-filter", "archived")
    page.click("#project-filter")
    expect(page.locator("#projects-empty")).to_be_visible()


def test_worker_sees_only_their_projects_and_no_settings(page: Page, app_url: str, owner: Engine) -> None:
    login_as(page, app_url, *WORKER)
    goto(page, app_url, "/projects")
    rows = page.locator("[data-testid=project-row]")
    expect(rows).to_have_count(2)  # Website redesign and Mobile app, not Internal tooling
    expect(page.locator("#create-project-box")).to_have_count(0)
    project_id = scalar(owner, "SELECT id FROM projects WHERE key = 'WEB' AND name = 'Website redesign'")
    goto(page, app_url, f"/projects/{project_id}")
    expect(page.locator("#project-name")).to_have_text("Website redesign")
    expect(page.locator("#tab-settings")).to_have_count(0)
    for path in (
        f"/projects/{scalar(owner, 'SELECT id FROM projects WHERE name = :n', n='Internal tooling')}",  # not a member
        f"/projects/{scalar(owner, 'SELECT id FROM projects WHERE name = :n', n='Warehouse rollout')}",  # other company
        "/projects/not-a-uuid",
    ):
        goto(page, app_url, path)
        expect(page.locator("#project-not-found")).to_be_visible()


def _discussion(updates: list[dict[str, object]]) -> str:
    return repr(merged_delta(updates).get(TaskDiscussionState.get_full_name(), {}))


def test_internal_comments_stay_internal_and_a_mention_rings_the_bell(
    browser: Browser, app_url: str, owner: Engine
) -> None:
    task_id = scalar(
        owner,
        "SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id "
        "WHERE p.name = 'Website redesign' AND t.status = 'in_progress'",
    )
    scalar(owner, "UPDATE tasks SET shared_with_client = true WHERE id = :i RETURNING id", i=task_id)
    manager = EventSocket(app_url, login_cookie(app_url, *MANAGER))
    try:
        manager.call(f"{TaskDiscussionState.get_full_name()}.open", {"task_id": str(task_id)})
        internal = {"body": f"{MENTION_MARK} secret margin", "internal": "on"}
        manager.call(f"{TaskDiscussionState.get_full_name()}.add", {"form_data": internal})
        public = {"body": f"{MENTION_MARK} @worker please have a look"}
        seen = _discussion(manager.call(f"{TaskDiscussionState.get_full_name()}.add", {"form_data": public}))
        assert "secret margin" in seen and "please have a look" in seen
    finally:
        manager.close()

    client = EventSocket(app_url, login_cookie(app_url, *CLIENT))
    try:
        seen = _discussion(client.call(f"{TaskDiscussionState.get_full_name()}.open", {"task_id": str(task_id)}))
        assert "please have a look" in seen
        assert "secret margin" not in seen and "Internal note" not in seen  # the seed's internal comment too
    finally:
        client.close()

    context = browser.new_context(base_url=app_url)
    page = context.new_page()
    try:
        login_as(page, app_url, *WORKER)
        goto(page, app_url, "/projects")
        expect(page.locator("#bell-count")).to_be_visible()
        page.click("#bell")
        page.wait_for_url(at("/notifications"))
        wait_hydrated(page)
        mention = page.locator("[data-testid=notification][data-kind=mentioned]").first
        expect(mention).to_contain_text("Maria Manager")
        expect(mention.locator("[data-testid=notification-detail]")).to_contain_text("please have a look")
        page.click("#mark-all-read")
        expect(page.locator("#bell-count")).to_have_count(0)
    finally:
        context.close()
        scalar(owner, "DELETE FROM task_comments WHERE body LIKE :b RETURNING 1", b=f"{MENTION_MARK}%")
        scalar(owner, "UPDATE tasks SET shared_with_client = false WHERE id = :i RETURNING id", i=task_id)


def test_the_operator_opens_a_companys_projects_read_only(page: Page, app_url: str, owner: Engine) -> None:
    company = scalar(owner, "SELECT id FROM companies WHERE slug = 'acme'")
    login_as(page, app_url, "admin@example.com", "demo-admin-password")
    goto(page, app_url, f"/companies/{company}")
    page.click("#company-projects")
    page.wait_for_url(at(f"/companies/{company}/projects"))
    wait_hydrated(page)
    expect(page.locator("[data-testid=operator-project-row][data-name='Website redesign']")).to_be_visible()
    assert scalar(
        owner, "SELECT count(*) FROM audit_logs WHERE action = 'company_projects_viewed' AND company_id = :c", c=company
    )
