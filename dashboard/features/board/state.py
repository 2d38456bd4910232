"""The board of one project (/projects/<project_id>/board) and its task drawer (?task=<number>).

Thin: each handler parses its arguments (dashboard/state/args.py), calls one service of
services.work in `tenant_scope(actor)` and copies the result into plain vars. Columns are separate
vars (`cards_<status>`), each holding its first COLUMN_PAGE cards ("show more" adds pages), so a
move re-sends two short lists, never the whole board.

Live: after the board loads, `follow` (a background handler, guarded like the others) waits for the
board's news (dashboard/features/board/live.py) and re-reads each changed card with the viewer's own
Actor, resolved again for every batch, and filters: a card the viewer may not see, or that no longer
matches the filters, leaves the board. It ends when the viewer loads another board, signs out or
disconnects.

Conflicts: a move or save with a stale version shows who changed the card and how (TaskConflict),
and the card takes the winner's state on this board too: nothing snaps back silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import secrets
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import reflex as rx
from sqlmodel import Session

from dashboard.features.board.live import HUB
from dashboard.features.files.state import FilesState
from dashboard.state.args import (
    form_arg,
    int_arg,
    task_fields_arg,
    task_filter_arg,
    text_arg,
    uuid_arg,
)
from dashboard.state.base import AuthState, actor_key, off_loop, requires
from dashboard.state.discussion import TaskDiscussionState
from models import TaskPriority, TaskStatus
from services import work
from services.core import clock
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import NotFound
from services.core.policy import Action, is_read_only, scope_for
from services.work import (
    LABEL_COLORS,
    MAX_DESCRIPTION,
    NO_FILTER,
    TaskCard,
    TaskConflict,
    TaskDetail,
    TaskFilter,
    TaskMove,
    news_origin,
)

PROJECT_PARAM = "project_id"
TASK_QUERY = "task"
LABEL_BOX = "label:"  # checkbox names of the task form: label:<label id>
STATUSES: list[str] = [s.value for s in TaskStatus]
# Where the team may put a card ("approved" and "rejected" are the client's decisions).
TEAM_STATUSES: list[str] = [s.value for s in TaskStatus if s not in (TaskStatus.APPROVED, TaskStatus.REJECTED)]
PRIORITIES: list[str] = [p.value for p in TaskPriority]
KEY_MOVES = ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown")
WAKE_S = 15.0  # a follower with no news checks this often that its viewer is still there


@dataclasses.dataclass
class LabelChip:
    id: str
    name: str
    color: str


@dataclasses.dataclass
class PersonOption:
    id: str
    name: str


@dataclasses.dataclass
class CardRow:
    id: str
    key: str
    number: int
    title: str
    status: str
    priority: str
    version: int
    position: float
    assignee: str
    due: str
    overdue: bool
    labels: list[LabelChip]


@dataclasses.dataclass
class TaskForm:
    """The drawer's task, as its form shows it."""

    id: str = ""
    key: str = ""
    number: int = 0
    version: int = 0
    title: str = ""
    description: str = ""
    status: str = TaskStatus.TODO.value
    priority: str = TaskPriority.MEDIUM.value
    assignee_id: str = ""
    due_date: str = ""
    label_ids: list[str] = dataclasses.field(default_factory=list)
    shared_with_client: bool = False
    created_by: str = ""
    updated_by: str = ""
    created_at: str = ""
    updated_at: str = ""


def _column_var(status: str) -> str:
    return f"cards_{status}"


class BoardState(AuthState):
    project_id: str = ""
    project_name: str = ""
    project_key: str = ""
    archived: bool = False
    loaded: bool = False
    can_create: bool = False
    can_edit: bool = False
    can_delete: bool = False
    can_label: bool = False
    can_export: bool = False
    can_view_files: bool = False
    can_discuss: bool = False
    operator_view: bool = False
    counts: dict[str, int] = {}
    cards_backlog: rx.Field[list[CardRow]] = rx.field(default_factory=list)
    cards_todo: rx.Field[list[CardRow]] = rx.field(default_factory=list)
    cards_in_progress: rx.Field[list[CardRow]] = rx.field(default_factory=list)
    cards_review: rx.Field[list[CardRow]] = rx.field(default_factory=list)
    cards_done: rx.Field[list[CardRow]] = rx.field(default_factory=list)
    cards_approved: rx.Field[list[CardRow]] = rx.field(default_factory=list)
    cards_rejected: rx.Field[list[CardRow]] = rx.field(default_factory=list)
    labels: rx.Field[list[LabelChip]] = rx.field(default_factory=list)
    people: rx.Field[list[PersonOption]] = rx.field(default_factory=list)
    filters: dict[str, str] = {}
    filtered: bool = False
    # the last conflict: who won, and how (a column, or the fields they changed), or that it is gone
    conflict_by: str = ""
    conflict_status: str = ""
    conflict_fields: list[str] = []
    conflict_deleted: bool = False
    # the drawer
    drawer_open: bool = False
    task: rx.Field[TaskForm] = rx.field(default_factory=TaskForm)
    _filter: TaskFilter = NO_FILTER
    _follow_ticket: str = ""  # the running follower's (a new load starts a new one)

    @rx.var
    def export_href(self) -> str:
        """The CSV export of what the board shows (its filters as the query)."""
        query = urlencode({k: v for k, v in self.filters.items() if v})
        return f"/api/projects/{self.project_id}/tasks.csv" + (f"?{query}" if query else "")

    # ---- helpers (no handler: never callable from the browser) ----

    def _pid(self) -> uuid.UUID:
        return uuid_arg(self.project_id)

    def _labels_by_id(self) -> dict[str, LabelChip]:
        return {label.id: label for label in self.labels}

    def _row(self, card: TaskCard) -> CardRow:
        labels = self._labels_by_id()
        today = clock.now().date()
        return CardRow(
            id=str(card.id),
            key=card.key,
            number=card.number,
            title=card.title,
            status=card.status.value,
            priority=card.priority.value,
            version=card.version,
            position=card.position,
            assignee=card.assignee_name,
            due=card.due_date.isoformat() if card.due_date else "",
            overdue=card.due_date is not None
            and card.due_date < today
            and card.status not in (TaskStatus.DONE, TaskStatus.APPROVED),
            labels=[labels[str(i)] for i in card.label_ids if str(i) in labels],
        )

    def _column(self, status: str) -> list[CardRow]:
        cards: list[CardRow] = getattr(self, _column_var(status))
        return cards

    def _set_column(self, status: str, cards: list[CardRow]) -> None:
        setattr(self, _column_var(status), cards)

    def _remove(self, task_id: str) -> str | None:
        """Take a card off the board; the column it was in (None: it was not shown)."""
        for status in STATUSES:
            cards = self._column(status)
            if any(c.id == task_id for c in cards):
                self._set_column(status, [c for c in cards if c.id != task_id])
                return status
        return None

    def _place(self, card: TaskCard) -> None:
        """Show a card where it now belongs: in its column by position, if that part is loaded."""
        self._place_row(self._row(card))

    def _place_row(self, row: CardRow) -> None:
        self._remove(row.id)
        cards = self._column(row.status)
        total = self.counts.get(row.status, 0)
        if len(cards) + 1 >= total or row.position <= cards[-1].position:
            index = next(
                (i for i, c in enumerate(cards) if (c.position, c.number) > (row.position, row.number)), len(cards)
            )
            self._set_column(row.status, [*cards[:index], row, *cards[index:]])

    def _show_board(self, board: work.Board) -> None:
        """Copy a board in, assigning only what changed (an unchanged column is not sent again)."""
        self._update(
            labels=[LabelChip(id=str(x.id), name=x.name, color=x.color) for x in board.labels],
            project_name=board.project_name,
            project_key=board.project_key,
            archived=board.archived,
            counts={c.status.value: c.total for c in board.columns},
            people=[PersonOption(id=str(p.id), name=p.name) for p in board.people],
        )
        for column in board.columns:
            self._update(**{_column_var(column.status.value): [self._row(card) for card in column.cards]})

    def _show_task(self, detail: TaskDetail) -> None:
        card = detail.card
        self.task = TaskForm(
            id=str(card.id),
            key=card.key,
            number=card.number,
            version=card.version,
            title=card.title,
            description=detail.description,
            status=card.status.value,
            priority=card.priority.value,
            assignee_id=str(card.assignee_id) if card.assignee_id else "",
            due_date=card.due_date.isoformat() if card.due_date else "",
            label_ids=[str(i) for i in card.label_ids],
            shared_with_client=detail.shared_with_client,
            created_by=detail.created_by,
            updated_by=detail.updated_by,
            created_at=detail.created_at.strftime("%Y-%m-%d %H:%M"),
            updated_at=detail.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
        self.drawer_open = True

    def _rights(self, actor: Actor) -> None:
        # An archived project, and a read-only company (billing), offer no writes: the handlers refuse them anyway.
        writable = not self.archived and not is_read_only(actor)
        self._update(
            can_create=writable and scope_for(actor, Action.TASK_CREATE) is not None,
            can_edit=writable and scope_for(actor, Action.TASK_EDIT) is not None,
            can_delete=writable and scope_for(actor, Action.TASK_DELETE) is not None,
            can_label=writable and scope_for(actor, Action.LABEL_EDIT) is not None,
            can_export=scope_for(actor, Action.TASK_EXPORT) is not None,
            can_view_files=scope_for(actor, Action.FILE_VIEW) is not None,
            can_discuss=scope_for(actor, Action.COMMENT_LIST) is not None,
            operator_view=actor.is_admin,
        )

    def _clear_conflict(self) -> None:
        self._update(conflict_by="", conflict_status="", conflict_fields=[], conflict_deleted=False)

    def _lost(self, conflict: TaskConflict) -> None:
        """Tell who won and show their version (the card moves where they put it)."""
        self._update(
            conflict_by=conflict.by_name,
            conflict_status=conflict.moved_to.value if conflict.moved_to else "",
            conflict_fields=list(conflict.fields),
            conflict_deleted=conflict.current is None,
        )
        if conflict.current is None:
            return
        self._place(conflict.current)

    def _reload(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            board = work.board(session, actor, self._pid(), self._filter)
        self._show_board(board)
        self._rights(actor)

    def _origin(self) -> str:
        """This viewer's label on the news of its own changes (its follower skips them: already shown)."""
        return hashlib.sha256(self.router.session.client_token.encode()).hexdigest()[:16]

    @contextlib.contextmanager
    def _writing(self, actor: Actor) -> Iterator[Session]:
        """A unit of work whose board news names this viewer as its origin (published at the commit)."""
        with news_origin(self._origin()), tenant_scope(actor) as session:
            yield session

    def _status_of(self, task_id: str) -> str | None:
        return next((s for s in STATUSES if any(c.id == task_id for c in self._column(s))), None)

    def _new_follow_ticket(self) -> str:
        self._follow_ticket = secrets.token_hex(8)
        return self._follow_ticket

    # ---- page load, filters, paging ----

    @requires(Action.BOARD_VIEW)
    def load(self, actor: Actor) -> Any:
        """The board (and the drawer when the URL names a task). Starts the live follower."""
        project_id = uuid_arg(self._route_param(PROJECT_PARAM))
        number_text = self._query_param(TASK_QUERY, 12)
        same_board = self.loaded and self.project_id == str(project_id)
        self._clear_conflict()
        if not same_board:
            self._filter = NO_FILTER
            self._update(filters={}, filtered=False)
        try:
            # Read again even on the same board (the drawer's URL changed): what changed since is sent,
            # what did not is not (`_update`), and no news can fall between two followers.
            with tenant_scope(actor) as session:
                board = work.board(session, actor, project_id, self._filter)
        except NotFound:
            # Not a board for this actor: show nothing of the previous one.
            self._update(project_id="", loaded=False, drawer_open=False)
            for status in STATUSES:
                self._update(**{_column_var(status): []})
            raise
        self._update(project_id=str(project_id))
        self._show_board(board)
        self._rights(actor)
        self.loaded = True
        if number_text:
            self._open_task(actor, number_text)
        else:
            self.drawer_open = False
        # A fresh follower for every load: the previous one (another board, or before a reconnect) stops.
        events = [BoardState.follow(self._new_follow_ticket())]
        if self.drawer_open and self.task.id:
            # The drawer's discussion and attachments, each through its own guarded handler.
            if self.can_discuss:
                events.append(TaskDiscussionState.open(self.task.id))
            if self.can_view_files:
                events.append(FilesState.show_task(str(project_id), self.task.id))
        return events

    def _open_task(self, actor: Actor, number_text: str) -> None:
        number = int_arg(number_text, 1, 2**31 - 1) if number_text.isdigit() else 0
        try:
            if number == 0:
                raise NotFound()
            with tenant_scope(actor) as session:
                detail = work.task_detail(session, actor, self._pid(), number)
        except NotFound:
            self.drawer_open = False
            self.error_key = "task.not_found"
            return
        self._show_task(detail)

    @requires(Action.BOARD_VIEW)
    def apply_filters(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        self._filter = task_filter_arg(fields)
        self._update(
            filters={k: fields.get(k, "") for k in ("assignee", "label", "priority", "due", "search")},
            filtered=self._filter != NO_FILTER,
        )
        self._reload(actor)

    @requires(Action.BOARD_VIEW)
    def clear_filters(self, actor: Actor) -> None:
        self._filter = NO_FILTER
        self._update(filters={}, filtered=False)
        self._reload(actor)

    @requires(Action.BOARD_VIEW)
    def show_more(self, actor: Actor, status: str) -> None:
        column = TaskStatus(text_arg(status, 20)) if status in STATUSES else None
        if column is None:
            raise NotFound()
        shown = self._column(column.value)
        with tenant_scope(actor) as session:
            more = work.column_page(session, actor, self._pid(), column, self._filter, offset=len(shown))
        known = {c.id for c in shown}
        self._set_column(column.value, [*shown, *(self._row(c) for c in more if str(c.id) not in known)])

    # ---- moves ----

    def _move(self, actor: Actor, task_id: uuid.UUID, version: int, status: TaskStatus, before: str) -> None:
        self._clear_conflict()
        before_id = uuid_arg(before) if before else None
        old = self._status_of(str(task_id))
        # Unfiltered, the counts follow from the move itself; a filter (say "overdue", which depends on
        # the status) needs them counted again.
        recount = old is None or self._filter != NO_FILTER
        try:
            with self._writing(actor) as session:
                moved = work.move_task(session, actor, task_id, version, status, before_id)
                counts = work.column_counts(session, actor, self._pid(), self._filter) if recount else None
        except TaskConflict as conflict:
            self._lost(conflict)
            self.error_key = "error.task_conflict"
            return
        if counts is not None:
            self.counts = {s.value: n for s, n in counts.items()}
        elif old != moved.status.value and old is not None:
            self.counts = {
                **self.counts,
                old: self.counts.get(old, 1) - 1,
                moved.status.value: self.counts.get(moved.status.value, 0) + 1,
            }
        self._place_moved(actor, moved)
        if self.task.id == str(moved.id):
            self.task = dataclasses.replace(self.task, status=moved.status.value, version=moved.version)

    def _place_moved(self, actor: Actor, moved: TaskMove) -> None:
        """Show a moved card where it went: the shown card with its new place, or (not shown) re-read."""
        shown = next((c for s in STATUSES for c in self._column(s) if c.id == str(moved.id)), None)
        if shown is None:
            with tenant_scope(actor) as session:
                card = work.task_card(session, actor, moved.id, self._filter)
            if card is not None:
                self._place(card)
            return
        row = dataclasses.replace(shown, status=moved.status.value, position=moved.position, version=moved.version)
        self._place_row(row)

    @requires(Action.TASK_EDIT)
    def move_card(self, actor: Actor, task_id: str, version: int, status: str, before_id: str) -> None:
        """Put a card into `status` just above `before_id` ("" for the end of the column)."""
        target = TaskStatus(status) if status in STATUSES else None
        if target is None:
            raise NotFound()
        self._move(actor, uuid_arg(task_id), int_arg(version, 1, 2**31 - 1), target, text_arg(before_id, 64))

    @requires(Action.TASK_EDIT)
    def key_move(self, actor: Actor, task_id: str, key: str) -> Any:
        """The keyboard alternative: arrows move the focused card a column left or right (to the top)
        or a place up or down in its column."""
        if key not in KEY_MOVES:
            return None
        tid = text_arg(task_id, 64)
        for status in STATUSES:
            cards = self._column(status)
            index = next((i for i, c in enumerate(cards) if c.id == tid), None)
            if index is None:
                continue
            card = cards[index]
            if key in ("ArrowLeft", "ArrowRight"):
                order = TEAM_STATUSES
                here = order.index(status) if status in order else (0 if key == "ArrowRight" else len(order))
                target_index = here + (1 if key == "ArrowRight" else -1)
                if not 0 <= target_index < len(order):
                    return None
                target = order[target_index]
                first = self._column(target)
                self._move(actor, uuid_arg(card.id), card.version, TaskStatus(target), first[0].id if first else "")
            elif key == "ArrowUp":
                if index == 0:
                    return None
                self._move(actor, uuid_arg(card.id), card.version, TaskStatus(status), cards[index - 1].id)
            else:
                if index + 1 >= len(cards):
                    return None
                after_next = cards[index + 2].id if index + 2 < len(cards) else ""
                self._move(actor, uuid_arg(card.id), card.version, TaskStatus(status), after_next)
            return rx.set_focus(f"card-{card.id}")
        raise NotFound()

    # ---- create, edit, delete ----

    @requires(Action.TASK_CREATE)
    def create_task(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = task_fields_arg(form_arg(form_data, MAX_DESCRIPTION), LABEL_BOX)
        with self._writing(actor) as session:
            detail = work.create_task(session, actor, self._pid(), fields)
            counts = work.column_counts(session, actor, self._pid(), self._filter)
        self.counts = {s.value: n for s, n in counts.items()}
        self._place(detail.card)
        self.notice_key = "board.created"

    @requires(Action.TASK_EDIT)
    def save_task(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data, MAX_DESCRIPTION)
        version = int_arg(fields.get("version", ""), 1, 2**31 - 1)
        values = task_fields_arg(fields, LABEL_BOX)
        task_id = uuid_arg(fields.get("task_id", ""))
        self._clear_conflict()
        try:
            with self._writing(actor) as session:
                detail = work.edit_task(session, actor, task_id, version, values)
                counts = work.column_counts(session, actor, self._pid(), self._filter)
        except TaskConflict as conflict:
            self._lost(conflict)
            self.error_key = "error.task_conflict"
            self._refresh_drawer(actor, conflict)
            return
        self.counts = {s.value: n for s, n in counts.items()}
        self._place(detail.card)
        self._show_task(detail)
        self.notice_key = "board.saved"

    def _refresh_drawer(self, actor: Actor, conflict: TaskConflict) -> None:
        if conflict.current is None:
            self.drawer_open = False
            return
        with tenant_scope(actor) as session:
            self._show_task(work.task_detail(session, actor, self._pid(), conflict.current.number))

    @requires(Action.TASK_DELETE)
    def delete_task(self, actor: Actor, task_id: str, version: int) -> Any:
        tid = uuid_arg(task_id)
        self._clear_conflict()
        try:
            with self._writing(actor) as session:
                work.delete_task(session, actor, tid, int_arg(version, 1, 2**31 - 1))
                counts = work.column_counts(session, actor, self._pid(), self._filter)
        except TaskConflict as conflict:
            self._lost(conflict)
            self.error_key = "error.task_conflict"
            return None
        self.counts = {s.value: n for s, n in counts.items()}
        self._remove(str(tid))
        self.drawer_open = False
        self.notice_key = "board.deleted"
        return rx.redirect(f"/projects/{self.project_id}/board")

    @requires(Action.LABEL_EDIT)
    def create_label(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        color = text_arg(fields.get("color", LABEL_COLORS[0]), 7)
        with tenant_scope(actor) as session:
            info = work.create_label(session, actor, self._pid(), fields.get("name", ""), color)
        self.labels = [*self.labels, LabelChip(id=str(info.id), name=info.name, color=info.color)]
        self.notice_key = "board.label_created"

    # ---- live ----

    def _read_news(self, actor: Actor, task_ids: Sequence[uuid.UUID] | None) -> tuple[Any, ...]:
        """Blocking: the changed cards as this viewer may see them (None: the whole board again)."""
        project_id = self._pid()
        with tenant_scope(actor) as session:
            if task_ids is None:
                return ("board", work.board(session, actor, project_id, self._filter))
            cards = {t: work.task_card(session, actor, t, self._filter) for t in task_ids}
            counts = work.column_counts(session, actor, project_id, self._filter)
        return ("cards", cards, counts)

    @requires(Action.BOARD_VIEW, background=True, quiet=True)
    async def follow(self, actor: Actor, ticket: str) -> None:
        """Keep this viewer's board current until it loads another board, signs out or goes away."""
        async with self:
            if ticket != self._follow_ticket or not self.project_id:
                return
            project_id = self._pid()
            key = actor_key(actor)
            origin = self._origin()
        if not HUB.claim(origin, ticket):
            return  # this follower already runs
        queue = HUB.join(project_id, origin)
        try:
            while True:
                try:
                    news = await asyncio.wait_for(queue.get(), timeout=WAKE_S)
                except TimeoutError:
                    news = []
                while news is not None and not queue.empty():  # batch what arrived meanwhile
                    more = queue.get_nowait()
                    news = None if more is None else [*news, *more]
                async with self:
                    if ticket != self._follow_ticket or not _connected(self.router.session.client_token):
                        return
                    credentials = self._credentials()
                current = await credentials.actor_soon()
                if current is None or actor_key(current) != key or scope_for(current, Action.BOARD_VIEW) is None:
                    return
                if news == []:
                    continue
                try:
                    result = await off_loop(
                        self._read_news, current, None if news is None else list(dict.fromkeys(news))
                    )
                except NotFound:  # the board is gone (deleted project, membership removed)
                    return
                async with self:
                    if ticket != self._follow_ticket:
                        return
                    self._apply_news(result)
        finally:
            HUB.leave(project_id, queue)
            HUB.release(origin, ticket)

    def _apply_news(self, result: tuple[Any, ...]) -> None:
        if result[0] == "board":
            self._show_board(result[1])
            return
        _, cards, counts = result
        self.counts = {s.value: n for s, n in counts.items()}
        for task_id, card in cards.items():
            if card is None:
                self._remove(str(task_id))
            else:
                self._place(card)


def _connected(token: str) -> bool:
    """Whether this process still serves the token's websocket (a gone viewer's follower ends)."""
    try:
        from reflex_base.registry import RegistrationContext

        namespace = RegistrationContext.get().app.event_namespace
    except (LookupError, AttributeError):
        return True
    return namespace is None or token in namespace.token_to_sid
