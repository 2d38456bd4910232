"""The task board in two browsers: a manager creates tasks, a worker sees them appear live, drags one
to "review" and moves another with the keyboard, and the manager sees both moves without reloading;
two people save one card at once and the loser is told; another company's user reaches nothing."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from dashboard.features.board.state import PROJECT_PARAM, BoardState
from devtools.seed import DEMO_USERS
from models import Role
from tests.e2e.conftest import goto, login_as
from tests.e2e.ws import EventSocket, login_cookie, merged_delta

pytestmark = pytest.mark.e2e

MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER and u.email.endswith("acme.example.com"))
WORKER = next(u for u in DEMO_USERS if u.role is Role.WORKER and u.email.endswith("acme.example.com"))
STRANGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER and u.email.endswith("globex.example.com"))
LIVE_MS = 5_000  # generous for a loaded CI machine; bench/board_live.py measures the real latency


@pytest.fixture(scope="module")
def project(e2e_database: tuple[str, str]) -> tuple[str, str]:
    """Acme's "Mobile app" project (the worker is a member): (id, key)."""
    engine = create_engine(e2e_database[0])
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
            row = conn.execute(text("SELECT id, key FROM projects WHERE key = 'APP'")).one()
    finally:
        engine.dispose()
    return str(row.id), str(row.key)


@pytest.fixture
def two(browser: Browser, app_url: str) -> Iterator[tuple[Page, Page]]:
    manager_context, worker_context = browser.new_context(), browser.new_context()
    manager, worker = manager_context.new_page(), worker_context.new_page()
    login_as(manager, app_url, MANAGER.email, MANAGER.password)
    login_as(worker, app_url, WORKER.email, WORKER.password)
    yield manager, worker
    manager_context.close()
    worker_context.close()


def board_path(project_id: str) -> str:
    return f"/projects/{project_id}/board"


def card(page: Page, title: str, status: str | None = None) -> object:
    scope = f"#column-{status} " if status else ""
    return page.locator(f"{scope}[data-testid=card]", has_text=title)


def create(page: Page, title: str) -> None:
    if not page.locator("#new-title").is_visible():  # the form stays open after a create
        page.click("#new-task")
    page.fill("#new-title", title)
    page.click("#new-create")
    expect(page.locator("[data-testid=card]", has_text=title)).to_be_visible()


def drag(page: Page, title: str, status: str) -> None:
    """A real pointer drag (dnd-kit starts after a few pixels of movement)."""
    source = page.locator("[data-testid=card]", has_text=title).bounding_box()
    target = page.locator(f"#column-{status} .column-cards").bounding_box()
    assert source is not None and target is not None
    page.mouse.move(source["x"] + source["width"] / 2, source["y"] + 10)
    page.mouse.down()
    page.mouse.move(source["x"] + source["width"] / 2 + 10, source["y"] + 20, steps=4)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] - 5, steps=12)
    page.mouse.up()


def test_live_board_drag_and_keyboard(two: tuple[Page, Page], app_url: str, project: tuple[str, str]) -> None:
    manager, worker = two
    project_id, _ = project
    goto(manager, app_url, board_path(project_id))
    goto(worker, app_url, board_path(project_id))
    expect(worker.locator("#column-todo")).to_be_visible()
    dragged, keyed = f"Drag me {secrets.token_hex(3)}", f"Key me {secrets.token_hex(3)}"

    # The manager creates two tasks; the worker sees them appear without reloading.
    create(manager, dragged)
    create(manager, keyed)
    expect(card(worker, dragged, "todo")).to_be_visible(timeout=LIVE_MS)
    expect(card(worker, keyed, "todo")).to_be_visible(timeout=LIVE_MS)

    # The worker drags one to "review"; the manager sees it move.
    drag(worker, dragged, "review")
    expect(card(worker, dragged, "review")).to_be_visible()
    expect(card(manager, dragged, "review")).to_be_visible(timeout=LIVE_MS)

    # The worker moves the other with the keyboard: focus it, arrow right (to "in progress").
    card(worker, keyed, "todo").focus()  # type: ignore[attr-defined]
    worker.keyboard.press("ArrowRight")
    expect(card(worker, keyed, "in_progress")).to_be_visible()
    expect(card(manager, keyed, "in_progress")).to_be_visible(timeout=LIVE_MS)
    expect(manager.locator("#column-in_progress .column-count")).not_to_have_text("0")


def test_two_edits_of_one_card_the_loser_is_told(
    two: tuple[Page, Page], app_url: str, project: tuple[str, str]
) -> None:
    manager, worker = two
    project_id, _ = project
    goto(manager, app_url, board_path(project_id))
    title = f"Contended {secrets.token_hex(3)}"
    create(manager, title)
    number = card(manager, title).get_attribute("data-key").rsplit("-", 1)[1]  # type: ignore[attr-defined]
    task_url = f"{board_path(project_id)}?task={number}"
    goto(manager, app_url, task_url)
    goto(worker, app_url, task_url)
    expect(manager.locator("#task-drawer")).to_be_visible()
    expect(worker.locator("#task-drawer")).to_be_visible()
    # The drawer carries the task's attachments panel: uploads there go to this task.
    drop = manager.locator("#task-attachments #files-drop")
    expect(drop).to_have_attribute("data-project", project_id)
    expect(drop).to_have_attribute("data-task", re.compile(r"^[0-9a-f-]{36}$"))

    manager.fill("#task-title", title + " (manager)")
    manager.click("#task-save")
    expect(manager.locator("#page-notice")).to_be_visible()

    worker.fill("#task-title", title + " (worker)")
    worker.click("#task-save")
    expect(worker.locator("#conflict-message")).to_contain_text(MANAGER.full_name)
    expect(worker.locator("#task-title")).to_have_value(title + " (manager)")  # the winner's version, shown


def test_another_company_reaches_no_board_task_url_or_task_id(
    browser: Browser, app_url: str, project: tuple[str, str], e2e_database: tuple[str, str]
) -> None:
    project_id, _ = project
    context = browser.new_context()
    page = context.new_page()
    try:
        login_as(page, app_url, STRANGER.email, STRANGER.password)
        goto(page, app_url, board_path(project_id))
        expect(page.locator("#page-error")).to_be_visible()
        expect(page.locator("[data-testid=card]")).to_have_count(0)
        goto(page, app_url, f"{board_path(project_id)}?task=1")
        expect(page.locator("#task-drawer")).to_have_count(0)
    finally:
        context.close()

    # Over the websocket with a task id of the other company: nothing is shown and nothing moves.
    engine = create_engine(e2e_database[0])
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
            task = conn.execute(
                text("SELECT id, status, version FROM tasks WHERE project_id = :p ORDER BY number LIMIT 1"),
                {"p": project_id},
            ).one()
        socket = EventSocket(app_url, login_cookie(app_url, STRANGER.email, STRANGER.password))
        try:
            updates = socket.call(
                f"{BoardState.get_full_name()}.load",
                path=board_path(project_id),
                query={PROJECT_PARAM: project_id},
            )
            assert str(task.id) not in repr(merged_delta(updates))
            payload = {"task_id": str(task.id), "version": task.version, "status": "done", "before_id": ""}
            socket.call(f"{BoardState.get_full_name()}.move_card", payload)
        finally:
            socket.close()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
            after = conn.execute(text("SELECT status, version FROM tasks WHERE id = :i"), {"i": task.id}).one()
        assert (after.status, after.version) == (task.status, task.version)
    finally:
        engine.dispose()
