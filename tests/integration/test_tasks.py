"""services.work tasks: numbering, versions and conflicts, positions, filters and search, permissions,
archived projects, My tasks, CSV export, live news. Real PostgreSQL and Redis."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from models import (
    AuditLog,
    Company,
    Notification,
    Project,
    ProjectStatus,
    Role,
    Task,
    TaskFollower,
    TaskPriority,
    TaskStatus,
    User,
)
from services.core import clock
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import NotFound, PermissionDenied, ValidationFailed
from services.core.redis_client import get_redis
from services.identity import auth
from services.work import (
    DueFilter,
    ProjectArchived,
    StatusNotAllowed,
    TaskConflict,
    TaskFields,
    TaskFilter,
    board,
    column_page,
    create_label,
    create_task,
    delete_label,
    delete_task,
    edit_task,
    export_csv,
    live,
    move_task,
    my_tasks,
    renumber_column,
    task_card,
    task_detail,
)
from services.work.tasks import GAP
from tests.conftest import committed_session, delete_committed
from tests.factories import add_member, make_admin, make_company, make_label, make_project, make_task, make_user

pytestmark = pytest.mark.integration

NO_FILTER = TaskFilter()


class Team:
    def __init__(self, db: Session, name: str = "Acme") -> None:
        self.company = make_company(db, name)
        self.manager_user = make_user(db, self.company, Role.MANAGER, full_name="Maria Manager")
        self.worker_user = make_user(db, self.company, Role.WORKER, full_name="Greg Worker")
        self.outsider_user = make_user(db, self.company, Role.WORKER, full_name="Olga Outsider")
        self.client_user = make_user(db, self.company, Role.CLIENT, full_name="Carl Client")
        self.project = make_project(db, self.company, "Website", key="WEB")
        add_member(db, self.project, self.worker_user)
        add_member(db, self.project, self.client_user)

    @property
    def manager(self) -> Actor:
        return auth.actor_for(self.manager_user, self.company)

    @property
    def worker(self) -> Actor:
        return auth.actor_for(self.worker_user, self.company)

    @property
    def outsider(self) -> Actor:
        return auth.actor_for(self.outsider_user, self.company)

    @property
    def client(self) -> Actor:
        return auth.actor_for(self.client_user, self.company)


@pytest.fixture
def team(db: Session) -> Team:
    return Team(db)


def new(db: Session, actor: Actor, team: Team, title: str = "A task", **fields: Any) -> Any:
    return create_task(db, actor, team.project.id, TaskFields(title=title, **fields))


def column(db: Session, actor: Actor, team: Team, status: TaskStatus, filters: TaskFilter = NO_FILTER) -> list[str]:
    found = board(db, actor, team.project.id, filters)
    return [c.title for c in next(col for col in found.columns if col.status is status).cards]


# ---- numbering --------------------------------------------------------------------------------------


def test_numbers_come_from_the_project_counter_and_are_never_reused(db: Session, team: Team) -> None:
    first = new(db, team.manager, team, "One")
    second = new(db, team.worker, team, "Two")
    assert (first.card.key, second.card.key) == ("WEB-1", "WEB-2")
    delete_task(db, team.manager, second.card.id, second.card.version)
    assert new(db, team.manager, team, "Three").card.key == "WEB-3"
    db.refresh(team.project)
    assert team.project.task_counter == 3


def test_concurrent_creates_get_distinct_numbers(owner_engine: Engine, app_engine: Engine) -> None:
    with committed_session(owner_engine) as setup:
        company = make_company(setup, "Numbers")
        manager = make_user(setup, company, Role.MANAGER)
        project = make_project(setup, company, "Counted", key="CNT")
    actor = auth.actor_for(manager, company)
    numbers: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def create(i: int) -> None:
        try:
            barrier.wait()
            with tenant_scope(actor, app_engine) as session:
                numbers.append(create_task(session, actor, project.id, TaskFields(title=f"T{i}")).card.number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    finally:
        delete_committed(owner_engine, companies=[company.id], users=[])


# ---- versions and conflicts --------------------------------------------------------------------------


def test_a_stale_move_names_who_moved_the_card_and_where(db: Session, team: Team) -> None:
    task = new(db, team.manager, team, "Shared card").card
    move_task(db, team.worker, task.id, task.version, TaskStatus.REVIEW)
    with pytest.raises(TaskConflict) as lost:
        move_task(db, team.manager, task.id, task.version, TaskStatus.DONE)
    assert lost.value.by_name == "Greg Worker"
    assert lost.value.moved_to is TaskStatus.REVIEW
    assert lost.value.current is not None and lost.value.current.status is TaskStatus.REVIEW
    assert lost.value.message == "error.task_conflict"
    db.refresh(db.get(Task, task.id))
    assert db.get(Task, task.id).status is TaskStatus.REVIEW  # type: ignore[union-attr]


def test_a_stale_edit_names_the_fields_and_changes_nothing(db: Session, team: Team) -> None:
    detail = new(db, team.manager, team, "Before")
    edit_task(db, team.worker, detail.card.id, detail.card.version, TaskFields(title="Greg's title"))
    with pytest.raises(TaskConflict) as lost:
        edit_task(db, team.manager, detail.card.id, detail.card.version, TaskFields(title="Maria's title"))
    assert lost.value.fields == ("title",) and lost.value.moved_to is None
    assert task_detail(db, team.manager, team.project.id, detail.card.number).card.title == "Greg's title"


def test_every_change_bumps_the_version(db: Session, team: Team) -> None:
    detail = new(db, team.manager, team)
    moved = move_task(db, team.worker, detail.card.id, detail.card.version, TaskStatus.IN_PROGRESS)
    edited = edit_task(db, team.worker, moved.id, moved.version, TaskFields(title="x", status=TaskStatus.IN_PROGRESS))
    assert (detail.card.version, moved.version, edited.card.version) == (1, 2, 3)
    unchanged = edit_task(
        db, team.worker, moved.id, edited.card.version, TaskFields(title="x", status=TaskStatus.IN_PROGRESS)
    )
    assert unchanged.card.version == 3


def test_concurrent_moves_end_in_one_state_and_one_loser(owner_engine: Engine, app_engine: Engine) -> None:
    with committed_session(owner_engine) as setup:
        company = make_company(setup, "Race")
        a, b = make_user(setup, company, Role.MANAGER), make_user(setup, company, Role.MANAGER)
        project = make_project(setup, company, "Raced", key="RACE")
        task = make_task(setup, project, "Contended")
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def move(user: User, status: TaskStatus) -> None:
        actor = auth.actor_for(user, company)
        barrier.wait()
        try:
            with tenant_scope(actor, app_engine) as session:
                move_task(session, actor, task.id, 1, status)
            outcomes[status.value] = "won"
        except TaskConflict:
            outcomes[status.value] = "lost"

    threads = [
        threading.Thread(target=move, args=(a, TaskStatus.REVIEW)),
        threading.Thread(target=move, args=(b, TaskStatus.DONE)),
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes.values()) == ["lost", "won"]
        winner = next(s for s, o in outcomes.items() if o == "won")
        with committed_session(owner_engine) as check:
            row = check.get(Task, task.id)
            assert row is not None and row.status.value == winner and row.version == 2
    finally:
        delete_committed(owner_engine, companies=[company.id], users=[])


# ---- positions ----------------------------------------------------------------------------------------


def test_moves_place_cards_between_neighbours_writing_one_row(db: Session, team: Team) -> None:
    cards = [new(db, team.manager, team, t).card for t in ("a", "b", "c")]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    bind = db.connection()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        move_task(db, team.manager, cards[2].id, cards[2].version, TaskStatus.TODO, before_id=cards[0].id)
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    assert column(db, team.manager, team, TaskStatus.TODO) == ["c", "a", "b"]
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE TASKS")]
    assert len(updates) == 1
    moved = move_task(db, team.manager, cards[0].id, cards[0].version, TaskStatus.IN_PROGRESS)
    assert column(db, team.manager, team, TaskStatus.IN_PROGRESS) == ["a"] and moved.version == 2
    assert column(db, team.manager, team, TaskStatus.TODO) == ["c", "b"]


def test_a_crowded_column_is_renumbered_keeping_its_order(db: Session, team: Team) -> None:
    new(db, team.manager, team, "a")
    above = new(db, team.manager, team, "b").card
    for i in range(25):  # each new card goes just above the previous one: the gap halves every time
        card = new(db, team.manager, team, f"m{i}").card
        above = move_task(db, team.manager, card.id, card.version, TaskStatus.TODO, before_id=above.id)
    order = column(db, team.manager, team, TaskStatus.TODO)
    assert order[:2] == ["a", "m24"] and order[-1] == "b"
    assert renumber_column(db, team.manager, team.project.id, TaskStatus.TODO) == 27
    positions = db.exec(
        select(Task.position)
        .where(col(Task.project_id) == team.project.id, col(Task.status) == TaskStatus.TODO)
        .order_by(col(Task.position))
    ).all()
    assert positions == [GAP * (i + 1) for i in range(27)]
    assert column(db, team.manager, team, TaskStatus.TODO) == order


def test_the_team_cannot_set_a_client_decision_but_may_reopen_a_rejected_task(db: Session, team: Team) -> None:
    card = new(db, team.manager, team).card
    for status in (TaskStatus.APPROVED, TaskStatus.REJECTED):
        with pytest.raises(StatusNotAllowed):
            move_task(db, team.worker, card.id, card.version, status)
    rejected = make_task(db, team.project, "Rejected", status=TaskStatus.REJECTED)
    assert move_task(db, team.worker, rejected.id, 1, TaskStatus.IN_PROGRESS).status is TaskStatus.IN_PROGRESS
    approved = make_task(db, team.project, "Approved", status=TaskStatus.APPROVED)
    with pytest.raises(StatusNotAllowed):
        move_task(db, team.worker, approved.id, 1, TaskStatus.TODO)


# ---- filters and search -----------------------------------------------------------------------------


def test_filters_by_assignee_label_priority_and_due(db: Session, team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    today = date(2026, 12, 2)  # a Wednesday
    monkeypatch.setattr(clock, "now", lambda: clock_now(today))
    label = make_label(db, team.project, "Bug")
    new(db, team.manager, team, "mine", assignee_id=team.worker_user.id, label_ids=(label.id,))
    new(db, team.manager, team, "urgent", priority=TaskPriority.URGENT, due_date=today - timedelta(days=3))
    new(db, team.manager, team, "this week", due_date=today + timedelta(days=4))
    new(db, team.manager, team, "next week", due_date=today + timedelta(days=5))
    m = team.manager
    todo = TaskStatus.TODO
    assert column(db, m, team, todo, TaskFilter(assignee_id=team.worker_user.id)) == ["mine"]
    assert column(db, m, team, todo, TaskFilter(label_id=label.id)) == ["mine"]
    assert column(db, m, team, todo, TaskFilter(priority=TaskPriority.URGENT)) == ["urgent"]
    assert column(db, m, team, todo, TaskFilter(due=DueFilter.OVERDUE)) == ["urgent"]
    assert column(db, m, team, todo, TaskFilter(due=DueFilter.THIS_WEEK)) == ["this week"]
    assert column(db, m, team, todo, TaskFilter(due=DueFilter.NONE)) == ["mine"]
    assert set(column(db, m, team, todo, TaskFilter(unassigned=True))) == {"urgent", "this week", "next week"}


def clock_now(day: date) -> Any:
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_search_finds_english_and_russian_word_forms(db: Session, team: Team) -> None:
    new(db, team.manager, team, "Fix the running servers", description="deploy scripts")
    new(db, team.manager, team, "Починить платежи", description="Клиенты жалуются на ошибки оплаты")
    new(db, team.manager, team, "Unrelated")
    m, todo = team.manager, TaskStatus.TODO
    assert column(db, m, team, todo, TaskFilter(search="server run")) == ["Fix the running servers"]
    assert column(db, m, team, todo, TaskFilter(search="deployed")) == ["Fix the running servers"]  # stemmed
    assert column(db, m, team, todo, TaskFilter(search="deploy")) == ["Fix the running servers"]
    assert column(db, m, team, todo, TaskFilter(search="платежами")) == ["Починить платежи"]
    assert column(db, m, team, todo, TaskFilter(search="ошибка")) == ["Починить платежи"]
    assert column(db, m, team, todo, TaskFilter(search="nothing-like-it")) == []


def test_board_counts_and_pages_columns(db: Session, team: Team) -> None:
    for i in range(7):
        make_task(db, team.project, f"t{i}", position=float(i))
    found = board(db, team.manager, team.project.id, per_column=5)
    todo = next(c for c in found.columns if c.status is TaskStatus.TODO)
    assert todo.total == 7 and [c.title for c in todo.cards] == [f"t{i}" for i in range(5)]
    rest = column_page(db, team.manager, team.project.id, TaskStatus.TODO, TaskFilter(), offset=5)
    assert [c.title for c in rest] == ["t5", "t6"]


def test_opening_a_board_runs_the_same_number_of_statements_at_20_and_2000_tasks(db: Session, team: Team) -> None:
    label = make_label(db, team.project, "Bug")

    def statements_for_board() -> int:
        count = 0

        def seen(*args: Any) -> None:
            nonlocal count
            count += 1

        bind = db.connection()
        event.listen(bind, "before_cursor_execute", seen)
        try:
            board(db, team.manager, team.project.id)
        finally:
            event.remove(bind, "before_cursor_execute", seen)
        return count

    def add(n: int) -> None:
        statuses = list(TaskStatus)
        start = team.project.task_counter
        db.add_all(
            Task(
                company_id=team.company.id,
                project_id=team.project.id,
                number=start + i + 1,
                title=f"task {start + i}",
                status=statuses[i % len(statuses)],
                position=float(i),
                assignee_id=team.worker_user.id if i % 2 else None,
            )
            for i in range(n)
        )
        team.project.task_counter += n
        db.add(team.project)
        db.flush()

    add(20)
    first = db.exec(select(Task).where(col(Task.project_id) == team.project.id)).first()
    assert first is not None
    from tests.factories import label_task

    label_task(db, first, label)
    at_20 = statements_for_board()
    add(1980)
    at_2000 = statements_for_board()
    assert at_20 == at_2000 <= 8


# ---- permissions and tenancy --------------------------------------------------------------------------


def test_clients_and_outsiders_see_nothing_of_the_board(db: Session, team: Team) -> None:
    detail = new(db, team.manager, team)
    with pytest.raises(PermissionDenied):
        board(db, team.client, team.project.id)
    with pytest.raises(NotFound):
        board(db, team.outsider, team.project.id)
    with pytest.raises(NotFound):
        task_detail(db, team.outsider, team.project.id, detail.card.number)
    with pytest.raises(NotFound):
        move_task(db, team.outsider, detail.card.id, detail.card.version, TaskStatus.DONE)
    assert task_card(db, team.outsider, detail.card.id) is None


def test_another_company_cannot_reach_a_board_task_or_task_id(db: Session, team: Team) -> None:
    detail = new(db, team.manager, team)
    other = Team(db, "Other")
    for call in (
        lambda: board(db, other.manager, team.project.id),
        lambda: task_detail(db, other.manager, team.project.id, detail.card.number),
        lambda: move_task(db, other.manager, detail.card.id, detail.card.version, TaskStatus.DONE),
        lambda: edit_task(db, other.manager, detail.card.id, detail.card.version, TaskFields(title="x")),
        lambda: delete_task(db, other.manager, detail.card.id, detail.card.version),
        lambda: create_task(db, other.manager, team.project.id, TaskFields(title="x")),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(NotFound):  # a label of another project
        new(db, other.manager, other, label_ids=(make_label(db, team.project, "Theirs").id,))


def test_workers_cannot_delete_and_assignees_must_be_on_the_team(db: Session, team: Team) -> None:
    detail = new(db, team.worker, team)
    with pytest.raises(PermissionDenied):
        delete_task(db, team.worker, detail.card.id, detail.card.version)
    for user in (team.client_user, team.outsider_user):
        with pytest.raises(ValidationFailed):
            new(db, team.manager, team, assignee_id=user.id)


def test_an_archived_project_is_read_only_but_readable(db: Session, team: Team) -> None:
    detail = new(db, team.manager, team)
    team.project.status = ProjectStatus.ARCHIVED
    db.add(team.project)
    db.flush()
    assert board(db, team.worker, team.project.id).archived
    for call in (
        lambda: new(db, team.manager, team),
        lambda: move_task(db, team.worker, detail.card.id, detail.card.version, TaskStatus.DONE),
        lambda: edit_task(db, team.worker, detail.card.id, detail.card.version, TaskFields(title="x")),
        lambda: delete_task(db, team.manager, detail.card.id, detail.card.version),
        lambda: create_label(db, team.manager, team.project.id, "Bug", "#ef4444"),
    ):
        with pytest.raises(ProjectArchived):
            call()


def test_the_operator_reads_a_board_and_each_view_is_audited(db: Session, team: Team) -> None:
    detail = new(db, team.manager, team, "Visible to support")
    admin = make_admin(db)
    operator = auth.actor_for(admin, None)
    assert [c.title for c in board(db, operator, team.project.id).columns[1].cards] == ["Visible to support"]
    task_detail(db, operator, team.project.id, detail.card.number)
    views = db.exec(select(AuditLog).where(col(AuditLog.actor_user_id) == admin.id)).all()
    assert [v.action for v in views] == ["board_viewed", "board_viewed"]
    assert all(v.company_id == team.company.id for v in views)
    with pytest.raises(PermissionDenied):
        move_task(db, operator, detail.card.id, detail.card.version, TaskStatus.DONE)


# ---- followers, audit, my tasks, export ----------------------------------------------------------------


def test_creator_and_assignee_follow_and_every_change_is_audited(db: Session, team: Team) -> None:
    detail = new(db, team.manager, team, assignee_id=team.worker_user.id)
    followers = set(db.exec(select(TaskFollower.user_id).where(col(TaskFollower.task_id) == detail.card.id)).all())
    assert followers == {team.manager_user.id, team.worker_user.id}
    moved = move_task(db, team.worker, detail.card.id, detail.card.version, TaskStatus.REVIEW)
    delete_task(db, team.manager, moved.id, moved.version)
    actions = db.exec(
        select(AuditLog.action).where(col(AuditLog.target_id) == str(detail.card.id)).order_by(col(AuditLog.created_at))
    ).all()
    assert actions == ["task_created", "task_moved", "task_deleted"]


def test_my_tasks_lists_open_tasks_assigned_to_me_across_projects(db: Session, team: Team) -> None:
    second = make_project(db, team.company, "Second", key="SEC")
    add_member(db, second, team.worker_user)
    make_task(db, team.project, "mine here", assignee=team.worker_user)
    make_task(db, second, "mine there", assignee=team.worker_user, due_date=date(2026, 1, 1))
    make_task(db, second, "done", assignee=team.worker_user, status=TaskStatus.DONE)
    make_task(db, second, "someone else's", assignee=team.manager_user)
    assert [c.title for c in my_tasks(db, team.worker)] == ["mine there", "mine here"]
    with pytest.raises(PermissionDenied):
        my_tasks(db, team.client)


def test_export_is_utf8_with_bom_quoted_and_filtered(db: Session, team: Team) -> None:
    new(db, team.manager, team, 'Счёт, "срочно"', priority=TaskPriority.HIGH)
    new(db, team.manager, team, "=HYPERLINK(1)", priority=TaskPriority.HIGH)
    new(db, team.manager, team, "low one", priority=TaskPriority.LOW)
    text = export_csv(db, team.worker, team.project.id, TaskFilter(priority=TaskPriority.HIGH))
    assert text.startswith("\ufeffkey,title,")
    assert '"Счёт, ""срочно"""' in text and "'=HYPERLINK(1)" in text and "low one" not in text
    with pytest.raises(PermissionDenied):
        export_csv(db, team.client, team.project.id, TaskFilter())


def test_labels_are_unique_per_project_and_checked(db: Session, team: Team) -> None:
    create_label(db, team.worker, team.project.id, "Bug", "#ef4444")
    with pytest.raises(Exception, match="label_taken"):
        create_label(db, team.worker, team.project.id, "bug", "#22c55e")
    with pytest.raises(ValidationFailed):
        create_label(db, team.worker, team.project.id, "Odd", "red; background:url(x)")


# ---- live news -------------------------------------------------------------------------------------


@pytest.fixture
def listener(test_env: Any) -> Iterator[Any]:
    pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
    yield pubsub
    pubsub.close()


def next_message(listener: Any, timeout: float) -> Any:
    """The next published message within `timeout` (subscription confirmations skipped), or None."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=max(0.01, deadline - time.monotonic()))
        if message is not None:
            return message
    return None


def test_a_committed_change_is_published_once_and_a_rolled_back_one_never(
    owner_engine: Engine, app_engine: Engine, listener: Any
) -> None:
    with committed_session(owner_engine) as setup:
        company: Company = make_company(setup, "Live")
        manager = make_user(setup, company, Role.MANAGER)
        project: Project = make_project(setup, company, "Live board", key="LIVE")
    actor = auth.actor_for(manager, company)
    listener.subscribe(live.channel(project.id))
    try:
        with tenant_scope(actor, app_engine) as session:
            created = create_task(session, actor, project.id, TaskFields(title="news"))
        message = next_message(listener, 2)
        assert message is not None and live.parse_message(message["data"]) == ([created.card.id], "")
        with pytest.raises(RuntimeError), tenant_scope(actor, app_engine) as session:
            move_task(session, actor, created.card.id, created.card.version, TaskStatus.DONE)
            raise RuntimeError("rolled back")
        assert next_message(listener, 0.3) is None
    finally:
        delete_committed(owner_engine, companies=[company.id], users=[])


def test_messages_carry_ids_only(db: Session) -> None:
    assert live.parse_message('{"tasks": ["not-a-uuid"]}') == ([], "")
    assert live.parse_message("garbage") == ([], "")
    task_id = uuid.uuid4()
    assert live.parse_message(f'{{"tasks": ["{task_id}"], "origin": "abc"}}') == ([task_id], "abc")


def test_news_names_its_origin_so_the_author_skips_it(owner_engine: Engine, app_engine: Engine, listener: Any) -> None:
    with committed_session(owner_engine) as setup:
        company = make_company(setup, "Origin")
        manager = make_user(setup, company, Role.MANAGER)
        project = make_project(setup, company, "Origin board", key="ORIG")
    actor = auth.actor_for(manager, company)
    listener.subscribe(live.channel(project.id))
    try:
        with live.news_origin("viewer-1"), tenant_scope(actor, app_engine) as session:
            created = create_task(session, actor, project.id, TaskFields(title="mine"))
        message = next_message(listener, 2)
        assert message is not None and live.parse_message(message["data"]) == ([created.card.id], "viewer-1")
    finally:
        delete_committed(owner_engine, companies=[company.id], users=[])


def test_a_deleted_label_leaves_its_tasks(db: Session, team: Team) -> None:
    label = create_label(db, team.manager, team.project.id, "Temporary", "#3b82f6")
    detail = new(db, team.manager, team, label_ids=(label.id,))
    delete_label(db, team.worker, label.id)
    assert task_detail(db, team.manager, team.project.id, detail.card.number).card.label_ids == ()
    other = Team(db, "Elsewhere")
    theirs = create_label(db, other.manager, other.project.id, "Theirs", "#3b82f6")
    with pytest.raises(NotFound):
        delete_label(db, team.manager, theirs.id)


# ---- notifications from the board's writes ------------------------------------------------------


def _bell(db: Session, user: User) -> list[tuple[str, str]]:
    rows = db.exec(select(Notification).where(col(Notification.user_id) == user.id)).all()
    return sorted((row.kind.value, row.detail) for row in rows)


def test_assigning_notifies_the_assignee_and_a_move_notifies_the_followers(db: Session, team: Team) -> None:
    created = new(db, team.manager, team, "Ship it", assignee_id=team.worker_user.id)
    assert _bell(db, team.worker_user) == [("assigned", "Ship it")]
    assert _bell(db, team.manager_user) == []  # the actor is never told about their own change

    moved = move_task(db, team.worker, created.card.id, created.card.version, TaskStatus.IN_PROGRESS)
    assert _bell(db, team.manager_user) == [("status_changed", "todo>in_progress")]  # the creator follows it
    assert len(_bell(db, team.worker_user)) == 1  # the mover hears nothing of their own move

    fields = TaskFields(title="Ship it", status=TaskStatus.REVIEW, assignee_id=team.worker_user.id)
    edit_task(db, team.manager, moved.id, moved.version, fields)
    assert ("status_changed", "in_progress>review") in _bell(db, team.worker_user)  # the assignee follows it too
