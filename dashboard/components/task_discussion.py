"""A task's discussion, for the task drawer: comments (safe markdown, internal ones marked), the
add-comment form with the internal flag, edit and delete of one's own, and the task's history.

Mount `task_discussion()` where the task is shown and call `TaskDiscussionState.open(task_id)` when it
opens. The HTML shown is the services' (services.work.render_markdown): no raw HTML, safe links.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.forms import confirm_button
from dashboard.i18n import t, t_var
from dashboard.state.discussion import CommentRow, HistoryRow, TaskDiscussionState


def _edit_form(comment: ObjectVar[CommentRow]) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.input(type="hidden", name="comment_id", value=comment.id),
            rx.text_area(name="body", default_value=comment.body, rows="3", width="100%", id="edit-comment-body"),
            rx.hstack(
                rx.button(t("comments.save"), type="submit", size="1", id="save-comment"),
                rx.button(
                    t("common.cancel"),
                    type="button",
                    size="1",
                    variant="soft",
                    on_click=TaskDiscussionState.cancel_edit,
                ),
                spacing="2",
            ),
            width="100%",
            spacing="2",
        ),
        on_submit=TaskDiscussionState.save_edit,
        width="100%",
    )


def _comment(comment: ObjectVar[CommentRow]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(comment.author, weight="bold", size="2"),
                rx.text(comment.time, size="1", color_scheme="gray"),
                rx.cond(comment.edited, rx.text(t("comments.edited"), size="1", color_scheme="gray")),
                rx.cond(
                    comment.internal, rx.badge(t("comments.internal"), color_scheme="orange", data_testid="internal")
                ),
                rx.spacer(),
                rx.cond(
                    comment.can_edit,
                    rx.button(
                        t("comments.edit"),
                        size="1",
                        variant="ghost",
                        on_click=TaskDiscussionState.start_edit(comment.id),
                        id="edit-comment-" + comment.id.to(str),
                    ),
                ),
                rx.cond(
                    comment.can_delete,
                    confirm_button(
                        "comments.delete",
                        "comments.delete_question",
                        TaskDiscussionState.delete(comment.id),
                        button_id="delete-comment-" + comment.id.to(str),
                    ),
                ),
                width="100%",
                align="center",
                spacing="2",
            ),
            rx.cond(
                TaskDiscussionState.editing == comment.id,
                _edit_form(comment),
                rx.box(rx.html(comment.html), class_name="markdown", width="100%"),
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        data_testid="comment",
        data_internal=comment.internal.to(str),
    )


def _add_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text_area(
                name="body",
                id="comment-body",
                rows="3",
                width="100%",
                placeholder=t("comments.placeholder"),
            ),
            rx.hstack(
                rx.el.label(
                    rx.el.input(type="checkbox", name="internal", id="comment-internal", margin_right="0.4em"),
                    rx.text(t("comments.internal_label"), size="2"),
                    display="inline-flex",
                    align_items="center",
                ),
                rx.spacer(),
                rx.button(t("comments.send"), type="submit", id="send-comment", size="2"),
                width="100%",
                align="center",
            ),
            rx.text(t("comments.markdown_help"), size="1", color_scheme="gray"),
            width="100%",
            spacing="2",
        ),
        on_submit=TaskDiscussionState.add,
        key=TaskDiscussionState.sent,
        id="comment-form",
        width="100%",
    )


def _history_row(entry: ObjectVar[HistoryRow]) -> rx.Component:
    return rx.hstack(
        rx.text(entry.time, size="1", color_scheme="gray", min_width="10em"),
        rx.text(
            rx.cond(entry.actor != "", rx.text.span(entry.actor), rx.text.span(t("audit.operator"))),
            size="1",
            weight="bold",
        ),
        rx.text(t_var(entry.action, "history."), size="1"),
        rx.text(entry.changes, size="1", color_scheme="gray", style={"word_break": "break-all"}),
        spacing="2",
        data_testid="history-entry",
        data_action=entry.action,
    )


def task_discussion() -> rx.Component:
    s = TaskDiscussionState
    return rx.cond(
        s.loaded,
        rx.vstack(
            rx.heading(t("comments.title"), size="3"),
            rx.cond(
                s.comments.length() > 0,
                rx.vstack(rx.foreach(s.comments, _comment), width="100%", spacing="2", id="comments"),
                rx.text(t("comments.none"), size="2", color_scheme="gray", id="comments-empty"),
            ),
            rx.cond(s.can_comment, _add_form()),
            rx.cond(
                s.history.length() > 0,
                rx.vstack(
                    rx.heading(t("comments.history"), size="3"),
                    rx.foreach(s.history, _history_row),
                    width="100%",
                    spacing="1",
                    id="task-history",
                ),
            ),
            width="100%",
            spacing="3",
            id="task-discussion",
        ),
    )
