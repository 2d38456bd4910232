"""/projects/<project_id>/board: a column per status, paged columns, cards that move by drag and drop,
by keyboard (arrows on a focused card) and by a "Move to…" menu; the task drawer at ?task=<number>."""

from __future__ import annotations

from typing import Any, cast

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.dnd import dnd_board, dnd_card, dnd_column
from dashboard.components.files_panel import files_panel
from dashboard.components.forms import SELECT_STYLE, confirm_button, labelled, native_select, option
from dashboard.components.layout import page_frame
from dashboard.components.task_discussion import task_discussion
from dashboard.features.board.state import (
    LABEL_BOX,
    PRIORITIES,
    STATUSES,
    TEAM_STATUSES,
    BoardState,
    CardRow,
    LabelChip,
    TaskForm,
)
from dashboard.i18n import t, t_var
from services.work import LABEL_COLORS

COLUMN_WIDTH = "17em"


def board_url(number: rx.Var[int] | None = None) -> rx.Var[str]:
    base = rx.Var.create("/projects/").to(str) + BoardState.project_id.to(str) + "/board"  # type: ignore[attr-defined]
    return cast(rx.Var[str], base + "?task=" + number.to(str) if number is not None else base)


def _label_chip(label: ObjectVar[LabelChip]) -> rx.Component:
    return rx.badge(label.name, style={"background": label.color, "color": "white"}, size="1", variant="solid")


def _move_menu(card: ObjectVar[CardRow]) -> rx.Component:
    """ "Move to…": a native select (light on a 2,000-card board, and what touch screens and screen
    readers handle best); it always shows its prompt, a choice moves the card to the column's end."""
    return rx.el.select(
        rx.el.option(t("board.move_to"), value="", disabled=True),
        *[
            rx.el.option(t(f"task_status.{status}"), value=status, disabled=card.status == status)
            for status in TEAM_STATUSES
        ],
        value="",
        on_change=lambda status: BoardState.move_card(card.id, card.version, status, ""),
        aria_label=t("board.move_to"),
        title=t("board.move_to"),
        class_name="card-move",
        style={"fontSize": "0.75em", "maxWidth": "6.5em", "border": "none", "background": "transparent"},
    )


def _card(card: ObjectVar[CardRow], editable: bool) -> rx.Component:
    """A card: dragged with the pointer, moved with the arrow keys when focused, or through its "Move
    to…" menu. A read-only viewer's card has none of these (the handlers would refuse them anyway)."""
    moves: dict[str, Any] = {"on_arrow": lambda key: BoardState.key_move(card.id, key)} if editable else {}
    return dnd_card(
        rx.box(
            rx.hstack(
                rx.link(card.key, href=board_url(card.number), size="1", color_scheme="gray", class_name="card-key"),
                rx.spacer(),
                rx.cond(card.priority != "medium", rx.badge(t_var(card.priority, "task_priority."), size="1")),
                _move_menu(card) if editable else rx.fragment(),
                align="center",
                width="100%",
            ),
            rx.text(card.title, size="2", weight="medium", class_name="card-title"),
            rx.hstack(
                rx.foreach(card.labels, _label_chip),
                rx.cond(
                    card.overdue,
                    rx.badge(card.due, color_scheme="red", size="1", variant="soft", class_name="card-overdue"),
                    rx.cond(card.due != "", rx.badge(card.due, color_scheme="gray", size="1", variant="soft")),
                ),
                rx.spacer(),
                rx.cond(card.assignee != "", rx.text(card.assignee, size="1", color_scheme="gray")),
                wrap="wrap",
                spacing="1",
                width="100%",
            ),
            padding="0.5em 0.6em",
            border_radius="var(--radius-3)",
            border=f"1px solid {rx.color('gray', 6)}",
            background=rx.color("gray", 1),
            width="100%",
        ),
        task_id=card.id,
        status=card.status,
        version=card.version,
        disabled=not editable,
        id="card-" + card.id.to(str),
        data_testid="card",
        data_key=card.key,
        aria_label=card.key.to(str) + " " + card.title.to(str),
        **moves,
    )


def _column(status: str) -> rx.Component:
    cards = getattr(BoardState, f"cards_{status}")
    total = cast(ObjectVar[dict[str, int]], BoardState.counts)[status].to(int)
    return rx.vstack(
        rx.hstack(
            rx.heading(t(f"task_status.{status}"), size="3"),
            rx.badge(total, variant="soft", class_name="column-count"),
            align="center",
        ),
        dnd_column(
            rx.cond(
                BoardState.can_edit,
                rx.foreach(cards, lambda card: _card(card, True)),
                rx.foreach(cards, lambda card: _card(card, False)),
            ),
            rx.cond(cards.length() == 0, rx.text(t("board.empty_column"), size="1", color_scheme="gray")),
            status=status,
            class_name="column-cards",
            data_status=status,
            style={"display": "flex", "flexDirection": "column", "gap": "0.5em", "width": "100%", "minHeight": "3em"},
        ),
        rx.cond(
            cards.length() < total,
            rx.button(
                t("board.show_more"),
                variant="soft",
                size="1",
                on_click=BoardState.show_more(status),
                id=f"more-{status}",
            ),
        ),
        id=f"column-{status}",
        data_testid="column",
        data_status=status,
        min_width=COLUMN_WIDTH,
        width=COLUMN_WIDTH,
        padding="0.6em",
        border_radius="var(--radius-4)",
        background=rx.color("gray", 3),
        spacing="2",
        align="start",
    )


def _people_options() -> rx.Component:
    return rx.foreach(BoardState.people, lambda p: option(p.id, p.name))


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            labelled(
                "board.search",
                rx.input(
                    name="search",
                    id="filter-search",
                    placeholder=t("board.search_placeholder"),
                    default_value=BoardState.filters.get("search", ""),
                ),
                "filter-search",
                full_width=False,
            ),
            labelled(
                "task.assignee",
                native_select(
                    "assignee",
                    option("", t("board.anyone")),
                    option("none", t("board.unassigned")),
                    _people_options(),
                    select_id="filter-assignee",
                    default_value=BoardState.filters.get("assignee", ""),
                ),
                "filter-assignee",
                full_width=False,
            ),
            labelled(
                "task.labels",
                native_select(
                    "label",
                    option("", t("board.any_label")),
                    rx.foreach(BoardState.labels, lambda label: option(label.id, label.name)),
                    select_id="filter-label",
                    default_value=BoardState.filters.get("label", ""),
                ),
                "filter-label",
                full_width=False,
            ),
            labelled(
                "task.priority",
                native_select(
                    "priority",
                    option("", t("board.any_priority")),
                    *[option(p, t(f"task_priority.{p}")) for p in PRIORITIES],
                    select_id="filter-priority",
                    default_value=BoardState.filters.get("priority", ""),
                ),
                "filter-priority",
                full_width=False,
            ),
            labelled(
                "task.due_date",
                native_select(
                    "due",
                    option("", t("board.any_due")),
                    option("overdue", t("board.due_overdue")),
                    option("week", t("board.due_week")),
                    option("none", t("board.due_none")),
                    select_id="filter-due",
                    default_value=BoardState.filters.get("due", ""),
                ),
                "filter-due",
                full_width=False,
            ),
            rx.button(t("board.filter"), type="submit", id="filter-apply"),
            rx.cond(
                BoardState.filtered,
                rx.button(
                    t("board.clear_filters"),
                    type="button",
                    variant="soft",
                    on_click=BoardState.clear_filters,
                    id="filter-clear",
                ),
            ),
            rx.cond(
                BoardState.can_export,
                rx.link(
                    t("board.export"),
                    href=BoardState.export_href,
                    id="export-csv",
                    is_external=True,
                ),
            ),
            align="end",
            wrap="wrap",
            spacing="3",
        ),
        on_submit=BoardState.apply_filters,
        id="board-filters",
        # Clearing the filters remounts the form, so its fields show "any" again.
        key="filters-" + cast(rx.Var[bool], BoardState.filtered).to(str),
    )


def _new_task() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.button(rx.icon("plus", size=16), t("board.new_task"), id="new-task")),
        rx.popover.content(
            rx.form(
                rx.vstack(
                    labelled("task.title", rx.input(name="title", id="new-title", required=True), "new-title"),
                    labelled(
                        "task.status",
                        native_select(
                            "status",
                            *[option(s, t(f"task_status.{s}")) for s in TEAM_STATUSES],
                            select_id="new-status",
                            default_value="todo",
                        ),
                        "new-status",
                    ),
                    labelled(
                        "task.assignee",
                        native_select(
                            "assignee", option("", t("board.unassigned")), _people_options(), select_id="new-assignee"
                        ),
                        "new-assignee",
                    ),
                    rx.button(t("board.create"), type="submit", id="new-create", width="100%"),
                    spacing="2",
                ),
                on_submit=BoardState.create_task,
                reset_on_submit=True,
            ),
            width="20em",
        ),
    )


def _new_label() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.button(t("board.new_label"), variant="soft", id="new-label")),
        rx.popover.content(
            rx.form(
                rx.vstack(
                    labelled("board.label_name", rx.input(name="name", id="label-name", required=True), "label-name"),
                    native_select("color", *[option(c, c) for c in LABEL_COLORS], select_id="label-color"),
                    rx.button(t("board.add_label"), type="submit", id="label-create"),
                    spacing="2",
                ),
                on_submit=BoardState.create_label,
                reset_on_submit=True,
            ),
        ),
    )


def _conflict() -> rx.Component:
    by = cast(rx.Var[str], BoardState.conflict_by)
    who = rx.cond(by != "", rx.text(by, as_="span"), rx.text(t("board.conflict_someone"), as_="span"))
    return rx.cond(
        (BoardState.conflict_by != "") | BoardState.conflict_deleted | (BoardState.conflict_status != ""),
        rx.callout.root(
            rx.callout.icon(rx.icon("git_merge")),
            rx.callout.text(
                rx.cond(
                    BoardState.conflict_deleted,
                    t("board.conflict_deleted"),
                    rx.cond(
                        BoardState.conflict_status != "",
                        rx.fragment(
                            who, " ", t("board.conflict_moved"), " ", t_var(BoardState.conflict_status, "task_status.")
                        ),
                        rx.fragment(
                            who,
                            " ",
                            t("board.conflict_edited"),
                            " ",
                            rx.foreach(BoardState.conflict_fields, lambda f: rx.code(f, margin_right="0.3em")),
                        ),
                    ),
                ),
                " ",
                t("board.conflict_kept"),
                id="conflict-message",
            ),
            color_scheme="amber",
            width="100%",
        ),
    )


def _label_box(label: ObjectVar[LabelChip]) -> rx.Component:
    return rx.el.label(
        rx.el.input(
            type="checkbox",
            name=LABEL_BOX + label.id.to(str),
            default_checked=cast(ObjectVar[TaskForm], BoardState.task).label_ids.contains(label.id),
        ),
        " ",
        _label_chip(label),
        margin_right="0.6em",
    )


def _drawer() -> rx.Component:
    task = cast(ObjectVar[TaskForm], BoardState.task)
    status_options = [
        option(s, t(f"task_status.{s}"))
        if s in TEAM_STATUSES
        else rx.el.option(t(f"task_status.{s}"), value=s, disabled=task.status != s)
        for s in STATUSES
    ]
    editable = cast(rx.Var[bool], BoardState.can_edit)
    return rx.cond(
        BoardState.drawer_open,
        rx.box(
            rx.vstack(
                rx.hstack(
                    rx.heading(task.key, size="4", id="drawer-key"),
                    rx.spacer(),
                    rx.link(t("task.close"), href=board_url(), id="drawer-close"),
                    width="100%",
                    align="center",
                ),
                rx.form(
                    rx.vstack(
                        rx.el.input(type="hidden", name="task_id", value=task.id),
                        rx.el.input(type="hidden", name="version", value=task.version.to(str)),
                        labelled(
                            "task.title",
                            rx.input(name="title", id="task-title", default_value=task.title, read_only=~editable),
                            "task-title",
                        ),
                        labelled(
                            "task.description",
                            rx.text_area(
                                name="description",
                                id="task-description",
                                default_value=task.description,
                                rows="6",
                                read_only=~editable,
                            ),
                            "task-description",
                        ),
                        rx.hstack(
                            labelled(
                                "task.status",
                                native_select(
                                    "status", *status_options, select_id="task-status", default_value=task.status
                                ),
                                "task-status",
                            ),
                            labelled(
                                "task.priority",
                                native_select(
                                    "priority",
                                    *[option(p, t(f"task_priority.{p}")) for p in PRIORITIES],
                                    select_id="task-priority",
                                    default_value=task.priority,
                                ),
                                "task-priority",
                            ),
                            width="100%",
                        ),
                        rx.hstack(
                            labelled(
                                "task.assignee",
                                native_select(
                                    "assignee",
                                    option("", t("board.unassigned")),
                                    _people_options(),
                                    select_id="task-assignee",
                                    default_value=task.assignee_id,
                                ),
                                "task-assignee",
                            ),
                            labelled(
                                "task.due_date",
                                rx.el.input(
                                    type="date",
                                    name="due_date",
                                    id="task-due",
                                    default_value=task.due_date,
                                    style=SELECT_STYLE,
                                ),
                                "task-due",
                            ),
                            width="100%",
                        ),
                        rx.vstack(
                            rx.text(t("task.labels"), size="2"),
                            rx.flex(rx.foreach(BoardState.labels, _label_box), wrap="wrap"),
                            spacing="1",
                        ),
                        rx.el.label(
                            rx.el.input(
                                type="checkbox", name="shared_with_client", default_checked=task.shared_with_client
                            ),
                            " ",
                            t("task.shared_with_client"),
                        ),
                        rx.text(
                            t("task.created_by"),
                            ": ",
                            task.created_by,
                            " · ",
                            task.created_at,
                            " — ",
                            t("task.updated_by"),
                            ": ",
                            task.updated_by,
                            " · ",
                            task.updated_at,
                            size="1",
                            color_scheme="gray",
                        ),
                        rx.cond(
                            editable,
                            rx.hstack(
                                rx.button(t("task.save"), type="submit", id="task-save"),
                                rx.cond(
                                    BoardState.can_delete,
                                    confirm_button(
                                        "task.delete",
                                        "task.delete_question",
                                        BoardState.delete_task(task.id, task.version),
                                        button_id="task-delete",
                                    ),
                                ),
                            ),
                        ),
                        spacing="3",
                        width="100%",
                    ),
                    on_submit=BoardState.save_task,
                    # A new task or a new version remounts the form, so its fields show the new values.
                    key=task.id.to(str) + "-" + task.version.to(str),
                    width="100%",
                ),
                rx.divider(),
                rx.vstack(
                    rx.heading(t("task.discussion_place"), size="3"),
                    rx.cond(BoardState.can_discuss, task_discussion()),
                    id="task-discussion",
                    width="100%",
                ),
                rx.vstack(
                    rx.heading(t("task.attachments_place"), size="3"),
                    rx.cond(BoardState.can_view_files, files_panel()),
                    id="task-attachments",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            id="task-drawer",
            role="dialog",
            aria_labelledby="drawer-key",
            position="fixed",
            top="0",
            right="0",
            height="100vh",
            width="min(34em, 100vw)",
            overflow_y="auto",
            padding="1.2em",
            background=rx.color("gray", 1),
            border_left=f"1px solid {rx.color('gray', 6)}",
            box_shadow="-8px 0 24px rgba(0,0,0,0.12)",
            z_index="20",
        ),
    )


def board_page() -> rx.Component:
    return page_frame(
        rx.hstack(
            rx.link(t("board.back_to_projects"), href="/projects"),
            rx.text("/"),
            rx.heading(BoardState.project_name, size="4", id="board-project"),
            rx.badge(BoardState.project_key, variant="soft"),
            rx.spacer(),
            rx.cond(BoardState.can_label, _new_label()),
            rx.cond(BoardState.can_create, _new_task()),
            align="center",
            width="100%",
        ),
        rx.cond(BoardState.archived, rx.callout(t("board.archived"), icon="archive", color_scheme="gray")),
        rx.cond(BoardState.operator_view, rx.callout(t("board.read_only"), icon="eye", color_scheme="blue")),
        _conflict(),
        _filters(),
        rx.text(t("board.card_help"), size="1", color_scheme="gray", id="card-help"),
        rx.cond(
            BoardState.loaded,
            dnd_board(
                *[_column(status) for status in STATUSES],
                on_move=BoardState.move_card,
                id="board",
                style={
                    "display": "flex",
                    "gap": "0.75em",
                    "alignItems": "flex-start",
                    "overflowX": "auto",
                    "width": "100%",
                },
            ),
            rx.cond(BoardState.error_key == "", rx.spinner()),
        ),
        _drawer(),
        title_key="board.title",
    )
