"""The state of a task's discussion (dashboard/components/task_discussion.py): its comments, the
add-comment form, editing and deleting, and the task's history from the audit log.

Whoever shows a task (the board's drawer) calls `TaskDiscussionState.open(task_id)`; every handler
asks the services again, which check the caller against the task (or the comment) whatever this
state holds. Comment HTML comes rendered and sanitised from services.work.render_markdown.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import reflex as rx

from dashboard.state.args import form_arg, text_arg, uuid_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.rows import when
from models import Role
from services import work
from services.audit import HistoryEntry
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action
from services.work import CommentInfo

MAX_HISTORY_TEXT = 300


@dataclasses.dataclass
class CommentRow:
    id: str
    author: str
    body: str
    html: str
    internal: bool
    time: str
    edited: bool
    can_edit: bool
    can_delete: bool


@dataclasses.dataclass
class HistoryRow:
    time: str
    actor: str  # "" for the operator (shown as "Operator")
    action: str
    changes: str


def comment_row(info: CommentInfo) -> CommentRow:
    return CommentRow(
        id=str(info.id),
        author=info.author_name,
        body=info.body,
        html=info.html,
        internal=info.is_internal,
        time=when(info.created_at),
        edited=info.edited,
        can_edit=info.can_edit,
        can_delete=info.can_delete,
    )


def history_row(entry: HistoryEntry) -> HistoryRow:
    changes = json.dumps(entry.changes, ensure_ascii=False, sort_keys=True, default=str) if entry.changes else ""
    if len(changes) > MAX_HISTORY_TEXT:
        changes = changes[: MAX_HISTORY_TEXT - 1] + "…"
    return HistoryRow(time=when(entry.created_at), actor=entry.actor_name, action=entry.action, changes=changes)


class TaskDiscussionState(AuthState):
    task_id: str = ""
    comments: rx.Field[list[CommentRow]] = rx.field(default_factory=list)
    history: rx.Field[list[HistoryRow]] = rx.field(default_factory=list)
    loaded: bool = False
    can_comment: bool = False  # the team comments; clients only read
    editing: str = ""  # the id of the comment being edited
    sent: int = 0  # bumped after each comment: a fresh, empty form

    def _reload(self, actor: Actor) -> None:
        task = uuid_arg(self.task_id)
        with tenant_scope(actor) as session:
            comments = work.list_comments(session, actor, task)
            history = work.task_history(session, actor, task)
        self.comments = [comment_row(c) for c in comments]
        self.history = [history_row(h) for h in history]
        self.can_comment = actor.role in (Role.MANAGER, Role.WORKER)
        self.loaded = True

    @requires(Action.COMMENT_LIST, quiet=True)
    def open(self, actor: Actor, task_id: str) -> None:
        """Show the discussion of `task_id` (another company's, a non-member's or no task: not found)."""
        self.loaded, self.editing, self.comments, self.history = False, "", [], []
        self.task_id = str(uuid_arg(task_id))
        self._reload(actor)  # the services check the task again on every later call

    @requires(Action.COMMENT_ADD)
    def add(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        body = text_arg(fields.get("body", ""), work.MAX_COMMENT_LENGTH + 100)
        internal = fields.get("internal", "") == "on"
        task = uuid_arg(self.task_id)
        with tenant_scope(actor) as session:
            work.add_comment(session, actor, task, body, internal=internal)
        self.sent += 1
        self._reload(actor)

    @requires(Action.COMMENT_EDIT)
    def start_edit(self, actor: Actor, comment_id: str) -> None:
        self.editing = str(uuid_arg(comment_id))

    @requires(Action.COMMENT_EDIT)
    def cancel_edit(self, actor: Actor) -> None:
        self.editing = ""

    @requires(Action.COMMENT_EDIT)
    def save_edit(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        body = text_arg(fields.get("body", ""), work.MAX_COMMENT_LENGTH + 100)
        comment = uuid_arg(fields.get("comment_id", ""))
        with tenant_scope(actor) as session:
            info = work.edit_comment(session, actor, comment, body)
        self.editing = ""
        row = comment_row(info)
        self.comments = [row if c.id == row.id else c for c in self.comments]

    @requires(Action.COMMENT_DELETE)
    def delete(self, actor: Actor, comment_id: str) -> None:
        comment = uuid_arg(comment_id)
        with tenant_scope(actor) as session:
            work.delete_comment(session, actor, comment)
        self.comments = [c for c in self.comments if c.id != str(comment)]
