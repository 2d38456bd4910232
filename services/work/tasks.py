"""Tasks on a project's board: create, edit, move, delete; the board and its filters; My tasks.

Who may call: the policy's BOARD_VIEW (read), TASK_CREATE / TASK_EDIT / TASK_DELETE (write); every
write goes through `project_for_work`, so another company's project, a project the worker is not on
and a missing one are the same NotFound, and an archived project is read-only (ProjectArchived).

Invariants:
- Numbers: `projects.task_counter` is incremented by one UPDATE … RETURNING in the creating
  transaction: concurrent creates queue on the project row, a number is never issued twice, and a
  deleted task's number is never reused.
- Versions: every change of a task bumps `version`. An edit or move names the version its caller
  saw; the task row is locked (FOR UPDATE) and a different version raises TaskConflict naming who
  changed the card last and how (from the audit log), so two people end in one state and the one
  who lost is told. Nothing is half-written: the caller's transaction holds every row of the change.
- Order: `position` is a float; a move writes only the moved row, at the midpoint between its new
  neighbours (GAP apart at the ends). When neighbours get closer than RENUMBER_GAP, the column is
  renumbered after the commit in a thread of its own (one UPDATE); moves into a column take a shared
  advisory lock on it and the renumber an exclusive one, so a renumber never interleaves with a move.
- Status: the team moves cards up to "done"; "approved" and "rejected" are the client portal's
  decisions (CLIENT_DECISIONS): a team edit may neither set them nor move a card out of "approved",
  and may move a rejected card back into work.
- Live: every committed change is published to the board's viewers (services.work.live), after the
  commit, so a viewer that re-reads sees it.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from models import (
    AuditLog,
    Label,
    Project,
    ProjectMember,
    Role,
    Task,
    TaskFollower,
    TaskLabel,
    TaskPriority,
    TaskStatus,
    User,
)
from services import audit
from services.audit import AuditAction, AuditTarget
from services.core import clock
from services.core.access import access_by_id, in_scope
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import Conflict, NotFound, ValidationFailed
from services.core.policy import Action, authorize
from services.work import live
from services.work.files import remove_files_after_commit
from services.work.notifications import notify_assigned, notify_status_changed
from services.work.projects import project_for_work

log = logging.getLogger(__name__)

MAX_TITLE = 300
MAX_DESCRIPTION = 20_000
MAX_SEARCH = 200
GAP = 1024.0  # distance between neighbours after a renumber, and past the ends of a column
RENUMBER_GAP = 1e-3  # neighbours closer than this: renumber the column (after the commit)
COLUMN_PAGE = 30  # cards per column sent with the board (a first screen); "show more" fetches the next page
CLIENT_DECISIONS = frozenset({TaskStatus.APPROVED, TaskStatus.REJECTED})
OPEN_STATUSES = frozenset(s for s in TaskStatus if s not in (TaskStatus.DONE, TaskStatus.APPROVED))
TEAM_ROLES = (Role.MANAGER, Role.WORKER)  # who may be assigned a task


class TaskConflict(Conflict):
    """The card changed since the caller saw it: who changed it, how, and the card as it is now."""

    message_key = "error.task_conflict"

    def __init__(self, by_name: str, moved_to: TaskStatus | None, fields: Sequence[str], current: TaskCard | None):
        super().__init__()
        self.by_name = by_name
        self.moved_to = moved_to  # set when the winning change was a move to another column
        self.fields = tuple(fields)  # the fields the winning edit changed
        self.current = current  # None when the card was deleted


class StatusNotAllowed(ValidationFailed):
    message_key = "error.status_not_allowed"


class DueFilter(StrEnum):
    ANY = ""
    OVERDUE = "overdue"
    THIS_WEEK = "week"
    NONE = "none"


@dataclass(frozen=True)
class TaskFilter:
    """What the board shows: every field optional (the default shows everything)."""

    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    label_id: uuid.UUID | None = None
    priority: TaskPriority | None = None
    due: DueFilter = DueFilter.ANY
    search: str = ""


NO_FILTER = TaskFilter()


@dataclass(frozen=True)
class TaskFields:
    """Every field a person edits on a task (the drawer's form, the create form)."""

    title: str
    description: str = ""
    status: TaskStatus = TaskStatus.TODO
    priority: TaskPriority = TaskPriority.MEDIUM
    assignee_id: uuid.UUID | None = None
    due_date: date | None = None
    label_ids: tuple[uuid.UUID, ...] = ()
    shared_with_client: bool = False


@dataclass(frozen=True)
class TaskCard:
    id: uuid.UUID
    project_id: uuid.UUID
    key: str  # WEB-42
    number: int
    title: str
    status: TaskStatus
    priority: TaskPriority
    position: float
    version: int
    assignee_id: uuid.UUID | None
    assignee_name: str
    due_date: date | None
    label_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class TaskMove:
    """Where a moved card went."""

    id: uuid.UUID
    status: TaskStatus
    position: float
    version: int


@dataclass(frozen=True)
class TaskDetail:
    card: TaskCard
    description: str
    shared_with_client: bool
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LabelInfo:
    id: uuid.UUID
    name: str
    color: str


@dataclass(frozen=True)
class PersonOption:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Column:
    status: TaskStatus
    total: int  # matching the filter
    cards: list[TaskCard]


@dataclass(frozen=True)
class Board:
    project_id: uuid.UUID
    project_name: str
    project_key: str
    archived: bool
    columns: list[Column]
    labels: list[LabelInfo]
    people: list[PersonOption]  # who may be assigned


# ---- reading ---------------------------------------------------------------------------------------


def _visible_project(session: Session, actor: Actor, project_id: uuid.UUID) -> Project:
    """The project for reading its board; the operator's look is written to the audit log."""
    project = access_by_id(session, actor, Action.BOARD_VIEW, Project, project_id)
    return project


def _operator_viewed(session: Session, actor: Actor, project: Project, target: str, what: str) -> None:
    if actor.is_admin:
        audit.record(
            session,
            actor=actor,
            action=AuditAction.BOARD_VIEWED,
            company_id=project.company_id,
            target_type=AuditTarget.TASK if what == "task" else AuditTarget.PROJECT,
            target_id=target,
            changes={"project": project.name, "viewed": what},
        )


def _card_query() -> Any:
    assignee = aliased(User)
    return (
        select(Task, assignee.full_name)
        .outerjoin(
            assignee,
            sa.and_(col(assignee.id) == col(Task.assignee_id), col(assignee.company_id) == col(Task.company_id)),
        )
        .order_by(col(Task.position), col(Task.number))
    )


def _card(task: Task, key: str, assignee_name: str | None, label_ids: Sequence[uuid.UUID] = ()) -> TaskCard:
    return TaskCard(
        id=task.id,
        project_id=task.project_id,
        key=f"{key}-{task.number}",
        number=task.number,
        title=task.title,
        status=task.status,
        priority=task.priority,
        position=task.position,
        version=task.version,
        assignee_id=task.assignee_id,
        assignee_name=assignee_name or "",
        due_date=task.due_date,
        label_ids=tuple(label_ids),
    )


def _labels_of(session: Session, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    if not task_ids:
        return found
    rows = session.exec(
        select(TaskLabel.task_id, TaskLabel.label_id)
        .join(Label, sa.and_(col(Label.id) == col(TaskLabel.label_id), col(Label.company_id) == TaskLabel.company_id))
        .where(col(TaskLabel.task_id).in_(list(task_ids)))
        .order_by(col(Label.name))
    ).all()
    for task_id, label_id in rows:
        found.setdefault(task_id, []).append(label_id)
    return found


def filter_conditions(filters: TaskFilter, today: date) -> list[ColumnElement[bool]]:
    """The board's filters as WHERE conditions on Task."""
    conditions: list[ColumnElement[bool]] = []
    if filters.unassigned:
        conditions.append(col(Task.assignee_id).is_(None))
    elif filters.assignee_id is not None:
        conditions.append(col(Task.assignee_id) == filters.assignee_id)
    if filters.label_id is not None:
        conditions.append(
            sa.exists().where(col(TaskLabel.task_id) == col(Task.id), col(TaskLabel.label_id) == filters.label_id)
        )
    if filters.priority is not None:
        conditions.append(col(Task.priority) == filters.priority)
    if filters.due is DueFilter.NONE:
        conditions.append(col(Task.due_date).is_(None))
    elif filters.due is DueFilter.OVERDUE:
        conditions.append(col(Task.due_date) < today)
        conditions.append(col(Task.status).in_(list(OPEN_STATUSES)))
    elif filters.due is DueFilter.THIS_WEEK:
        monday = today - timedelta(days=today.weekday())
        conditions.append(col(Task.due_date).between(monday, monday + timedelta(days=6)))
    if filters.search:
        conditions.append(search_condition(filters.search))
    return conditions


def search_condition(text: str) -> ColumnElement[bool]:
    """Full-text search over title (weight A) and description (B), in English, Russian and exact words:
    the three parses of the query OR'ed, against the stored vector (GIN index ix_tasks_search)."""
    query = (
        sa.func.websearch_to_tsquery(sa.literal_column("'simple'::regconfig"), text)
        .op("||")(sa.func.websearch_to_tsquery(sa.literal_column("'english'::regconfig"), text))
        .op("||")(sa.func.websearch_to_tsquery(sa.literal_column("'russian'::regconfig"), text))
    )
    return sa.literal_column("tasks.search_vector").op("@@")(query)


def _today() -> date:
    return clock.now().date()


def board(
    session: Session,
    actor: Actor,
    project_id: uuid.UUID,
    filters: TaskFilter = NO_FILTER,
    per_column: int = COLUMN_PAGE,
) -> Board:
    """A project's board: each column's count and first `per_column` cards (in order), the project's
    labels and who may be assigned. A fixed number of statements whatever the number of tasks."""
    project = _visible_project(session, actor, project_id)
    conditions = [
        col(Task.company_id) == project.company_id,
        col(Task.project_id) == project.id,
        *filter_conditions(filters, _today()),
    ]
    counts = dict(
        session.exec(select(Task.status, sa.func.count()).where(*conditions).group_by(col(Task.status))).all()
    )
    rank = sa.func.row_number().over(partition_by=col(Task.status), order_by=(col(Task.position), col(Task.number)))
    ranked = select(col(Task.id).label("id"), rank.label("rank")).where(*conditions).subquery()
    rows = session.exec(
        _card_query().join(ranked, ranked.c.id == col(Task.id)).where(ranked.c.rank <= per_column)
    ).all()
    labels_of = _labels_of(session, [task.id for task, _ in rows])
    by_status: dict[TaskStatus, list[TaskCard]] = {s: [] for s in TaskStatus}
    for task, name in rows:
        by_status[task.status].append(_card(task, project.key, name, labels_of.get(task.id, ())))
    _operator_viewed(session, actor, project, str(project.id), "board")
    return Board(
        project_id=project.id,
        project_name=project.name,
        project_key=project.key,
        archived=project.status.value == "archived",
        columns=[Column(status=s, total=counts.get(s, 0), cards=by_status[s]) for s in TaskStatus],
        labels=project_labels(session, project),
        people=assignable_people(session, project),
    )


def column_counts(
    session: Session, actor: Actor, project_id: uuid.UUID, filters: TaskFilter = NO_FILTER
) -> dict[TaskStatus, int]:
    """How many cards each column holds under `filters` (one grouped count; the project is checked by
    the same rule as the board, here inside the statement)."""
    authorize(actor, Action.BOARD_VIEW)
    rows = session.exec(
        select(Task.status, sa.func.count())
        .where(
            col(Task.project_id) == project_id,
            in_scope(actor, Action.BOARD_VIEW, Task),
            *filter_conditions(filters, _today()),
        )
        .group_by(col(Task.status))
    ).all()
    found = dict(rows)
    return {s: found.get(s, 0) for s in TaskStatus}


def column_page(
    session: Session,
    actor: Actor,
    project_id: uuid.UUID,
    status: TaskStatus,
    filters: TaskFilter,
    offset: int,
    limit: int = COLUMN_PAGE,
) -> list[TaskCard]:
    """The next cards of one column ("show more")."""
    project = _visible_project(session, actor, project_id)
    rows = session.exec(
        _card_query()
        .where(
            col(Task.company_id) == project.company_id,
            col(Task.project_id) == project.id,
            col(Task.status) == status,
            *filter_conditions(filters, _today()),
        )
        .offset(max(0, offset))
        .limit(max(1, min(limit, 500)))
    ).all()
    labels_of = _labels_of(session, [task.id for task, _ in rows])
    return [_card(task, project.key, name, labels_of.get(task.id, ())) for task, name in rows]


def project_labels(session: Session, project: Project) -> list[LabelInfo]:
    rows = session.exec(
        select(Label)
        .where(col(Label.company_id) == project.company_id, col(Label.project_id) == project.id)
        .order_by(sa.func.lower(col(Label.name)))
    ).all()
    return [LabelInfo(id=label.id, name=label.name, color=label.color) for label in rows]


def _assignable(project: Project) -> ColumnElement[bool]:
    """Active managers of the company and active workers on the project (never clients)."""
    return sa.and_(
        col(User.company_id) == project.company_id,
        col(User.is_active).is_(True),
        sa.or_(
            col(User.role) == Role.MANAGER,
            sa.and_(
                col(User.role) == Role.WORKER,
                sa.exists().where(
                    col(ProjectMember.company_id) == project.company_id,
                    col(ProjectMember.project_id) == project.id,
                    col(ProjectMember.user_id) == col(User.id),
                ),
            ),
        ),
    )


def assignable_people(session: Session, project: Project) -> list[PersonOption]:
    rows = session.exec(select(User.id, User.full_name).where(_assignable(project)).order_by(col(User.full_name))).all()
    return [PersonOption(id=user_id, name=name) for user_id, name in rows]


def _task_in_project(session: Session, actor: Actor, action: Action, project: Project, number: int) -> Task:
    task = session.exec(
        select(Task).where(
            col(Task.company_id) == project.company_id,
            col(Task.project_id) == project.id,
            col(Task.number) == number,
            in_scope(actor, action, Task),
        )
    ).first()
    if task is None:
        raise NotFound()
    return task


def _detail(session: Session, project: Project, task: Task) -> TaskDetail:
    ids = [i for i in (task.assignee_id, task.created_by_id, task.updated_by_id) if i is not None]
    names = dict(session.exec(select(User.id, User.full_name).where(col(User.id).in_(ids))).all()) if ids else {}
    labels = _labels_of(session, [task.id]).get(task.id, [])
    return TaskDetail(
        card=_card(task, project.key, names.get(task.assignee_id) if task.assignee_id else None, labels),
        description=task.description,
        shared_with_client=task.shared_with_client,
        created_by=names.get(task.created_by_id, "") if task.created_by_id else "",
        updated_by=names.get(task.updated_by_id, "") if task.updated_by_id else "",
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def task_detail(session: Session, actor: Actor, project_id: uuid.UUID, number: int) -> TaskDetail:
    """One task by its number on the project (the drawer's URL): NotFound for anything not visible."""
    project = _visible_project(session, actor, project_id)
    task = _task_in_project(session, actor, Action.BOARD_VIEW, project, number)
    _operator_viewed(session, actor, project, str(task.id), "task")
    return _detail(session, project, task)


def task_card(session: Session, actor: Actor, task_id: uuid.UUID, filters: TaskFilter = NO_FILTER) -> TaskCard | None:
    """A task as a board card if the actor may see it and it matches `filters`, else None (the live
    update's re-read: a card that no longer matches leaves the viewer's board)."""
    authorize(actor, Action.BOARD_VIEW)
    row = session.exec(
        _card_query()
        .add_columns(Project.key)
        .join(
            Project, sa.and_(col(Project.id) == col(Task.project_id), col(Project.company_id) == col(Task.company_id))
        )
        .where(col(Task.id) == task_id, in_scope(actor, Action.BOARD_VIEW, Task), *filter_conditions(filters, _today()))
    ).first()
    if row is None:
        return None
    task, name, key = row
    return _card(task, key, name, _labels_of(session, [task.id]).get(task.id, ()))


def my_tasks(session: Session, actor: Actor, include_done: bool = False, limit: int = 500) -> list[TaskCard]:
    """Tasks assigned to the actor in the projects they may work on, due first."""
    authorize(actor, Action.MY_TASKS)
    conditions: list[ColumnElement[bool]] = [
        col(Task.assignee_id) == actor.user_id,
        in_scope(actor, Action.MY_TASKS, Task),
    ]
    if not include_done:
        conditions.append(col(Task.status).in_(list(OPEN_STATUSES - {TaskStatus.DONE})))
    rows = session.exec(
        select(Task, Project.key)
        .join(
            Project, sa.and_(col(Project.id) == col(Task.project_id), col(Project.company_id) == col(Task.company_id))
        )
        .where(*conditions)
        .order_by(col(Task.due_date).asc().nulls_last(), col(Task.updated_at).desc())
        .limit(limit)
    ).all()
    return [_card(task, key, actor.full_name) for task, key in rows]


# ---- CSV export ------------------------------------------------------------------------------------

CSV_HEADER = ("key", "title", "status", "priority", "assignee", "due_date", "labels", "created_at", "updated_at")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def export_csv(session: Session, actor: Actor, project_id: uuid.UUID, filters: TaskFilter) -> str:
    """The filtered board as CSV: UTF-8 with a byte-order mark (so spreadsheets read Russian text),
    RFC 4180 quoting, in column order then card order. Audited."""
    authorize(actor, Action.TASK_EXPORT)
    project = access_by_id(session, actor, Action.TASK_EXPORT, Project, project_id)
    order = sa.case({s.value: i for i, s in enumerate(TaskStatus)}, value=sa.cast(col(Task.status), sa.String))
    assignee = aliased(User)
    rows = session.exec(
        select(Task, assignee.full_name)
        .outerjoin(assignee, col(assignee.id) == col(Task.assignee_id))
        .where(
            col(Task.company_id) == project.company_id,
            col(Task.project_id) == project.id,
            *filter_conditions(filters, _today()),
        )
        .order_by(order, col(Task.position), col(Task.number))
    ).all()
    names = {label.id: label.name for label in project_labels(session, project)}
    labels_of = _labels_of(session, [task.id for task, _ in rows])
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for task, name in rows:
        writer.writerow(
            [
                _csv_safe(cell)
                for cell in (
                    f"{project.key}-{task.number}",
                    task.title,
                    task.status.value,
                    task.priority.value,
                    name or "",
                    task.due_date.isoformat() if task.due_date else "",
                    ", ".join(names[i] for i in labels_of.get(task.id, []) if i in names),
                    task.created_at.isoformat(),
                    task.updated_at.isoformat(),
                )
            ]
        )
    audit.record(
        session,
        actor=actor,
        action=AuditAction.TASKS_EXPORTED,
        company_id=project.company_id,
        target_type=AuditTarget.PROJECT,
        target_id=project.id,
        changes={"project": project.name, "rows": len(rows)},
    )
    return out.getvalue()


# ---- writing ---------------------------------------------------------------------------------------


def _check_fields(session: Session, project: Project, fields: TaskFields) -> TaskFields:
    title = fields.title.strip()
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed("error.task_title")
    if len(fields.description) > MAX_DESCRIPTION:
        raise ValidationFailed("error.task_description_too_long")
    if fields.assignee_id is not None:
        found = session.exec(select(User.id).where(col(User.id) == fields.assignee_id, _assignable(project))).first()
        if found is None:
            raise ValidationFailed("error.task_assignee")
    if fields.label_ids:
        found_labels = session.exec(
            select(Label.id).where(
                col(Label.company_id) == project.company_id,
                col(Label.project_id) == project.id,
                col(Label.id).in_(list(fields.label_ids)),
            )
        ).all()
        if len(set(found_labels)) != len(set(fields.label_ids)):
            raise NotFound()
    return TaskFields(
        title=title,
        description=fields.description,
        status=fields.status,
        priority=fields.priority,
        assignee_id=fields.assignee_id,
        due_date=fields.due_date,
        label_ids=tuple(dict.fromkeys(fields.label_ids)),
        shared_with_client=fields.shared_with_client,
    )


def _check_status_change(old: TaskStatus | None, new: TaskStatus) -> None:
    """The team's moves: never into a client decision, never out of "approved"."""
    if old == new:
        return
    if new in CLIENT_DECISIONS or old is TaskStatus.APPROVED:
        raise StatusNotAllowed()


def _lock_column(session: Session, project_id: uuid.UUID, status: TaskStatus, *, exclusive: bool) -> None:
    """Moves into a column share its advisory lock; the renumber holds it alone (transaction-scoped)."""
    fn = sa.func.pg_advisory_xact_lock if exclusive else sa.func.pg_advisory_xact_lock_shared
    session.execute(select(fn(sa.func.hashtextextended(f"board:{project_id}:{status.value}", 0))))


def _end_position(session: Session, project: Project, status: TaskStatus) -> float:
    last = session.exec(
        select(sa.func.max(col(Task.position))).where(
            col(Task.company_id) == project.company_id, col(Task.project_id) == project.id, col(Task.status) == status
        )
    ).one()
    return (last if last is not None else 0.0) + GAP


def _position_before(
    session: Session, project: Project, status: TaskStatus, before_id: uuid.UUID | None, moving: uuid.UUID | None
) -> tuple[float, bool]:
    """Where a card placed just above `before_id` in `status` goes (the end when None or when that card
    is no longer in the column), and whether the column needs renumbering. At most two indexed reads."""
    column = [
        col(Task.company_id) == project.company_id,
        col(Task.project_id) == project.id,
        col(Task.status) == status,
    ]
    if moving is not None:
        column.append(col(Task.id) != moving)
    if before_id is None:
        return _end_position(session, project, status), False
    # The anchor and the card above it in one statement.
    above = aliased(Task)
    previous = (
        select(sa.func.max(col(above.position)))
        .where(
            col(above.company_id) == project.company_id,
            col(above.project_id) == project.id,
            col(above.status) == status,
            col(above.id) != (moving if moving is not None else before_id),
            col(above.position) < col(Task.position),
        )
        .scalar_subquery()
    )
    row = session.exec(select(Task.position, previous).where(col(Task.id) == before_id, *column)).first()
    if row is None:  # no longer in that column: the end
        return _end_position(session, project, status), False
    anchor, lower = row
    low = lower if lower is not None else anchor - 2 * GAP
    position = (low + anchor) / 2
    return position, (anchor - low) < RENUMBER_GAP * 2 or not (low < position < anchor)


def _next_number(session: Session, project: Project) -> int:
    number: int = session.execute(
        sa.update(Project)
        .where(col(Project.id) == project.id, col(Project.company_id) == project.company_id)
        .values(task_counter=col(Project.task_counter) + 1)
        .returning(col(Project.task_counter))
    ).scalar_one()
    return number


def _follow(session: Session, task: Task, user_ids: Sequence[uuid.UUID | None]) -> None:
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return
    session.execute(
        sa.dialects.postgresql.insert(TaskFollower)
        .values([{"task_id": task.id, "user_id": u, "company_id": task.company_id} for u in sorted(wanted)])
        .on_conflict_do_nothing()
    )


def _set_labels(session: Session, task: Task, label_ids: Sequence[uuid.UUID]) -> None:
    session.execute(sa.delete(TaskLabel).where(col(TaskLabel.task_id) == task.id))
    if label_ids:
        session.execute(
            sa.insert(TaskLabel).values(
                [{"task_id": task.id, "label_id": label, "company_id": task.company_id} for label in label_ids]
            )
        )


def create_task(session: Session, actor: Actor, project_id: uuid.UUID, fields: TaskFields) -> TaskDetail:
    """A new task at the end of its column, numbered from the project's counter; the creator and the
    assignee follow it."""
    project = project_for_work(session, actor, Action.TASK_CREATE, project_id)
    fields = _check_fields(session, project, fields)
    _check_status_change(None, fields.status)
    _lock_column(session, project.id, fields.status, exclusive=False)
    task = Task(
        company_id=project.company_id,
        project_id=project.id,
        number=_next_number(session, project),
        title=fields.title,
        description=fields.description,
        status=fields.status,
        priority=fields.priority,
        position=_end_position(session, project, fields.status),
        assignee_id=fields.assignee_id,
        due_date=fields.due_date,
        shared_with_client=fields.shared_with_client,
        created_by_id=actor.user_id,
        updated_by_id=actor.user_id,
    )
    session.add(task)
    session.flush()
    _set_labels(session, task, fields.label_ids)
    _follow(session, task, [actor.user_id, fields.assignee_id])
    notify_assigned(session, actor, task, fields.assignee_id)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.TASK_CREATED,
        company_id=project.company_id,
        target_type=AuditTarget.TASK,
        target_id=task.id,
        changes={"task": f"{project.key}-{task.number}", **audit.snapshot(task, _AUDITED)},
    )
    live.publish_after_commit(session, project.id, task.id)
    return _detail(session, project, task)


_AUDITED = ("title", "description", "status", "priority", "assignee_id", "due_date", "shared_with_client")


def _locked_task(session: Session, actor: Actor, action: Action, task_id: uuid.UUID) -> tuple[Project, Task]:
    """The task for a write, locked, after the project gate (archived: read-only)."""
    task = access_by_id(session, actor, action, Task, task_id, for_update=True)
    return project_for_work(session, actor, action, task.project_id), task


def _refuse_stale(session: Session, project: Project, task: Task, version: int) -> None:
    """TaskConflict when the caller saw another version than the row's: who changed it and how."""
    if task.version == version:
        return
    last = session.exec(
        select(AuditLog)
        .where(
            col(AuditLog.company_id) == task.company_id,
            col(AuditLog.target_type) == AuditTarget.TASK.value,
            col(AuditLog.target_id) == str(task.id),
            col(AuditLog.action).in_([AuditAction.TASK_MOVED.value, AuditAction.TASK_UPDATED.value]),
        )
        .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
        .limit(1)
    ).first()
    name = ""
    if task.updated_by_id is not None:
        name = session.exec(select(User.full_name).where(col(User.id) == task.updated_by_id)).first() or ""
    changes: dict[str, Any] = dict(last.changes or {}) if last is not None else {}
    moved_to = TaskStatus(task.status) if last is not None and last.action == AuditAction.TASK_MOVED.value else None
    fields = [k for k in changes if k in _AUDITED or k == "labels"]
    name_of = (
        session.exec(select(User.full_name).where(col(User.id) == task.assignee_id)).first()
        if task.assignee_id
        else None
    )
    raise TaskConflict(
        name, moved_to, fields, _card(task, project.key, name_of, _labels_of(session, [task.id]).get(task.id, ()))
    )


def edit_task(session: Session, actor: Actor, task_id: uuid.UUID, version: int, fields: TaskFields) -> TaskDetail:
    """Set every field of a task as the caller's form has them, if nobody changed it since `version`.
    A status change puts the card at the end of its new column. A new assignee follows the task."""
    project, task = _locked_task(session, actor, Action.TASK_EDIT, task_id)
    _refuse_stale(session, project, task, version)
    fields = _check_fields(session, project, fields)
    _check_status_change(task.status, fields.status)
    old_status = task.status
    before = audit.snapshot(task, _AUDITED)
    old_labels = _labels_of(session, [task.id]).get(task.id, [])
    if fields.status != task.status:
        _lock_column(session, project.id, fields.status, exclusive=False)
        task.position = _end_position(session, project, fields.status)
    for name in _AUDITED:
        setattr(task, name, getattr(fields, name))
    changes = audit.diff(before, audit.snapshot(task, _AUDITED))
    if set(old_labels) != set(fields.label_ids):
        _set_labels(session, task, fields.label_ids)
        changes["labels"] = {"from": [str(i) for i in old_labels], "to": [str(i) for i in fields.label_ids]}
    if not changes:
        return _detail(session, project, task)
    _save_change(session, actor, project, task, AuditAction.TASK_UPDATED, changes)
    if "assignee_id" in changes:
        _follow(session, task, [fields.assignee_id])
        notify_assigned(session, actor, task, fields.assignee_id)
    if "status" in changes:
        notify_status_changed(session, actor, task, old_status)
    return _detail(session, project, task)


def move_task(
    session: Session,
    actor: Actor,
    task_id: uuid.UUID,
    version: int,
    status: TaskStatus,
    before_id: uuid.UUID | None = None,
) -> TaskMove:
    """Put a card into `status`, just above `before_id` (None: at the end), writing only its row.
    Returns where it went (the rest of the card is unchanged by a move)."""
    project, task = _locked_task(session, actor, Action.TASK_EDIT, task_id)
    _refuse_stale(session, project, task, version)
    _check_status_change(task.status, status)
    if before_id == task.id:
        raise ValidationFailed("error.invalid_input")
    _lock_column(session, project.id, status, exclusive=False)
    position, crowded = _position_before(session, project, status, before_id, task.id)
    changes: dict[str, Any] = {"task": f"{project.key}-{task.number}"}
    old_status = task.status
    if task.status != status:
        changes["status"] = {"from": task.status.value, "to": status.value}
    task.status, task.position = status, position
    _save_change(session, actor, project, task, AuditAction.TASK_MOVED, changes)
    if old_status != status:
        notify_status_changed(session, actor, task, old_status)
    if crowded:
        renumber_after_commit(session, actor, project.id, status)
    return TaskMove(id=task.id, status=task.status, position=task.position, version=task.version)


def _save_change(
    session: Session, actor: Actor, project: Project, task: Task, action: AuditAction, changes: dict[str, Any]
) -> None:
    task.version += 1
    task.updated_by_id = actor.user_id
    task.updated_at = clock.now()
    session.add(task)
    session.flush()
    changes.setdefault("task", f"{project.key}-{task.number}")
    audit.record(
        session,
        actor=actor,
        action=action,
        company_id=project.company_id,
        target_type=AuditTarget.TASK,
        target_id=task.id,
        changes=changes,
    )
    live.publish_after_commit(session, project.id, task.id)


def delete_task(session: Session, actor: Actor, task_id: uuid.UUID, version: int) -> None:
    """Delete a task (its comments, labels, followers go with it, docs/db_cascades.md); its number
    stays used."""
    project, task = _locked_task(session, actor, Action.TASK_DELETE, task_id)
    _refuse_stale(session, project, task, version)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.TASK_DELETED,
        company_id=project.company_id,
        target_type=AuditTarget.TASK,
        target_id=task.id,
        changes={"task": f"{project.key}-{task.number}", "title": task.title},
    )
    remove_files_after_commit(session, project.company_id, task_id=task.id)  # its attachments' objects
    session.delete(task)
    session.flush()
    live.publish_after_commit(session, project.id, task.id)


# ---- renumbering -----------------------------------------------------------------------------------

_RENUMBER_KEY = "workdash.columns_to_renumber"


def renumber_column(session: Session, actor: Actor, project_id: uuid.UUID, status: TaskStatus) -> int:
    """Spread a column's cards GAP apart again, keeping their order; versions are untouched (the order
    a viewer sees does not change). Returns how many cards were renumbered."""
    project = access_by_id(session, actor, Action.TASK_EDIT, Project, project_id)
    _lock_column(session, project.id, status, exclusive=True)
    ranked = (
        select(
            col(Task.id).label("id"),
            sa.func.row_number().over(order_by=(col(Task.position), col(Task.number))).label("rank"),
        )
        .where(
            col(Task.company_id) == project.company_id, col(Task.project_id) == project.id, col(Task.status) == status
        )
        .subquery()
    )
    result = session.execute(
        sa.update(Task)
        .where(col(Task.id) == ranked.c.id)
        .values(position=ranked.c.rank * GAP)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def renumber_after_commit(session: Session, actor: Actor, project_id: uuid.UUID, status: TaskStatus) -> None:
    """Once this transaction commits, renumber the column in a thread of its own (its own transaction)."""
    pending: set[tuple[uuid.UUID, TaskStatus]] | None = session.info.get(_RENUMBER_KEY)
    if pending is None:
        pending = session.info[_RENUMBER_KEY] = set()

        def start(_: Session) -> None:
            for project, column in list(pending):
                threading.Thread(target=_renumber, args=(actor, project, column), daemon=True).start()
            pending.clear()

        event.listen(session, "after_commit", start)
        event.listen(session, "after_rollback", lambda _: pending.clear())
    pending.add((project_id, status))


def _renumber(actor: Actor, project_id: uuid.UUID, status: TaskStatus) -> None:
    try:
        with tenant_scope(actor) as session:
            renumber_column(session, actor, project_id, status)
    except Exception:  # positions still order correctly; the next crowded move tries again
        log.exception("could not renumber column %s of project %s", status.value, project_id)


# ---- labels ----------------------------------------------------------------------------------------

LABEL_COLORS = ("#6b7280", "#ef4444", "#f97316", "#eab308", "#22c55e", "#14b8a6", "#3b82f6", "#8b5cf6", "#ec4899")
MAX_LABEL_NAME = 50


def create_label(session: Session, actor: Actor, project_id: uuid.UUID, name: str, color: str) -> LabelInfo:
    project = project_for_work(session, actor, Action.LABEL_EDIT, project_id)
    name = name.strip()
    if not name or len(name) > MAX_LABEL_NAME:
        raise ValidationFailed("error.label_name")
    if color not in LABEL_COLORS:
        raise ValidationFailed("error.invalid_input")
    taken = session.exec(
        select(Label.id).where(
            col(Label.company_id) == project.company_id,
            col(Label.project_id) == project.id,
            sa.func.lower(col(Label.name)) == name.lower(),
        )
    ).first()
    if taken is not None:
        raise Conflict("error.label_taken")
    label = Label(company_id=project.company_id, project_id=project.id, name=name, color=color)
    session.add(label)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.LABEL_CREATED,
        company_id=project.company_id,
        target_type=AuditTarget.LABEL,
        target_id=label.id,
        changes={"project": project.name, "name": name, "color": color},
    )
    return LabelInfo(id=label.id, name=label.name, color=label.color)


def delete_label(session: Session, actor: Actor, label_id: uuid.UUID) -> None:
    label = access_by_id(session, actor, Action.LABEL_EDIT, Label, label_id)
    project = project_for_work(session, actor, Action.LABEL_EDIT, label.project_id)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.LABEL_DELETED,
        company_id=project.company_id,
        target_type=AuditTarget.LABEL,
        target_id=label.id,
        changes={"project": project.name, "name": label.name},
    )
    session.delete(label)
    session.flush()
