"""/projects (the list and the create form), /projects/[project_id] (overview, members, settings) and
/companies/[company_ref]/projects (the operator's read-only view)."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.forms import confirm_button, labelled, native_select, option, text_field
from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.projects.state import (
    MEMBER_BOX,
    CompanyProjectsState,
    MemberRow,
    ProjectDetailState,
    ProjectRow,
    ProjectsState,
)
from dashboard.i18n import t, t_var
from models import ProjectStatus


def board_link(project_id: rx.Var[str]) -> rx.Var[str]:
    """The project's board (built by the board feature)."""
    return "/projects/" + project_id.to(str) + "/board"


def files_link(project_id: rx.Var[str]) -> rx.Var[str]:
    """The project's files (built by the files feature)."""
    return "/projects/" + project_id.to(str) + "/files"


def _status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.badge(
        t_var(status, "project_status."),
        color_scheme=rx.cond(status == ProjectStatus.ARCHIVED.value, "gray", "green"),  # type: ignore[call-overload]  # Var overloads (components/controls.py)
        data_testid="project-status",
    )


def _counts(counts: Any) -> rx.Component:  # a list Var of StatusCount (a field, or a row's item)
    return rx.hstack(
        rx.foreach(
            counts,
            lambda c: rx.badge(
                t_var(c.status, "task_status."), " ", c.count, variant="soft", color_scheme="gray", data_status=c.status
            ),
        ),
        spacing="1",
        wrap="wrap",
    )


def _progress(done: rx.Var[int], total: rx.Var[int], percent: rx.Var[int]) -> rx.Component:
    return rx.vstack(
        rx.progress(value=percent, max=100, width="8em"),
        rx.text(done, " / ", total, " · ", percent, "%", size="1", data_testid="progress"),
        spacing="1",
    )


def _row(project: ObjectVar[ProjectRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(project.name, href="/projects/" + project.id.to(str))),
        rx.table.cell(rx.code(project.key)),
        rx.table.cell(_status_badge(project.status)),
        rx.table.cell(_progress(project.done, project.total, project.progress)),
        rx.table.cell(_counts(project.counts)),
        rx.table.cell(project.due),
        data_testid="project-row",
        data_name=project.name,
    )


LIST_HEADERS = [
    "projects.name",
    "projects.key",
    "projects.status",
    "projects.progress",
    "projects.tasks",
    "projects.due_date",
]


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            labelled(
                "projects.search",
                rx.input(id="project-search", name="q", width="16em", default_value=ProjectsState.search),
                "project-search",
                full_width=False,
            ),
            labelled(
                "projects.status",
                native_select(
                    "status",
                    option("", t("projects.all_statuses")),
                    *[option(s.value, t(f"project_status.{s.value}")) for s in ProjectStatus],
                    select_id="project-status-filter",
                    default_value=ProjectsState.status_filter,
                ),
                "project-status-filter",
                full_width=False,
            ),
            rx.button(t("projects.filter"), type="submit", id="project-filter"),
            align="end",
            spacing="3",
        ),
        on_submit=ProjectsState.apply_filters,
        id="project-filters",
    )


def _project_form_fields(
    *,
    name: rx.Var[str] | str = "",
    key: rx.Var[str] | str = "",
    description: rx.Var[str] | str = "",
    client_description: rx.Var[str] | str = "",
    start_date: rx.Var[str] | str = "",
    due_date: rx.Var[str] | str = "",
    prefix: str,
    key_placeholder: rx.Var[str] | str = "",
    on_name_blur: object = None,
) -> list[rx.Component]:
    name_props = {"on_blur": on_name_blur} if on_name_blur is not None else {}
    return [
        rx.hstack(
            text_field(
                "projects.field_name",
                "name",
                field_id=f"{prefix}-name",
                default_value=name,
                required=True,
                **name_props,
            ),
            labelled(
                "projects.key",
                rx.input(
                    id=f"{prefix}-key",
                    name="key",
                    default_value=key,
                    placeholder=key_placeholder,
                    max_length=10,
                    width="9em",
                    style={"text_transform": "uppercase"},
                ),
                f"{prefix}-key",
                full_width=False,
            ),
            width="100%",
            spacing="3",
            align="end",
        ),
        rx.text(t("projects.key_help"), size="1", color_scheme="gray"),
        labelled(
            "projects.description",
            rx.text_area(
                id=f"{prefix}-description", name="description", default_value=description, rows="4", width="100%"
            ),
            f"{prefix}-description",
        ),
        labelled(
            "projects.client_description",
            rx.text_area(
                id=f"{prefix}-client-description",
                name="client_description",
                default_value=client_description,
                rows="3",
                width="100%",
            ),
            f"{prefix}-client-description",
        ),
        rx.hstack(
            labelled(
                "projects.start_date",
                rx.input(id=f"{prefix}-start", name="start_date", type="date", default_value=start_date),
                f"{prefix}-start",
                full_width=False,
            ),
            labelled(
                "projects.due_date",
                rx.input(id=f"{prefix}-due", name="due_date", type="date", default_value=due_date),
                f"{prefix}-due",
                full_width=False,
            ),
            spacing="3",
        ),
    ]


def _create_form() -> rx.Component:
    return rx.el.details(
        rx.el.summary(t("projects.new"), id="new-project", style={"cursor": "pointer", "font_weight": "bold"}),
        rx.form(
            rx.vstack(
                *_project_form_fields(
                    prefix="create",
                    key_placeholder=ProjectsState.suggested_key,
                    on_name_blur=ProjectsState.suggest_key,
                ),
                rx.button(t("projects.create"), type="submit", id="create-project"),
                spacing="3",
                width="100%",
                max_width="40em",
                margin_top="0.75em",
            ),
            on_submit=ProjectsState.create,
            key=ProjectsState.created,
            id="create-project-form",
        ),
        id="create-project-box",
        open=ProjectsState.projects.length() == 0,
        width="100%",
    )


def _empty() -> rx.Component:
    filtered = (ProjectsState.search != "") | (ProjectsState.status_filter != "")
    return rx.cond(
        ProjectsState.loaded,
        rx.cond(
            filtered,
            rx.text(t("projects.no_match"), id="projects-empty", color_scheme="gray"),
            rx.callout(
                rx.cond(
                    ProjectsState.can_create,
                    rx.text(t("projects.empty_manager")),
                    rx.text(t("projects.empty_member")),
                ),
                icon="folder_plus",
                color_scheme="blue",
                id="projects-empty",
            ),
        ),
    )


def projects_page() -> rx.Component:
    return page_frame(
        rx.cond(ProjectsState.can_create, _create_form()),
        _filters(),
        rx.cond(
            ProjectsState.projects.length() > 0,
            data_table("projects", LIST_HEADERS, ProjectsState.projects, _row, loaded=False),
            _empty(),
        ),
        title_key="projects.title",
    )


# ---- one project --------------------------------------------------------------------------------


def _markdown(html: rx.Var[str], test_id: str) -> rx.Component:
    """Server-rendered safe HTML (services.work.render_markdown: no raw HTML, safe links)."""
    return rx.box(rx.html(html), class_name="markdown", data_testid=test_id)


def _overview() -> rx.Component:
    s = ProjectDetailState
    return rx.vstack(
        rx.hstack(_progress(s.done, s.total, s.progress), _counts(s.counts), spacing="5", align="center"),
        rx.hstack(
            rx.text(
                t("projects.start_date"),
                ": ",
                rx.cond(s.start_date != "", rx.text.span(s.start_date), rx.text.span("—")),
                size="2",
            ),
            rx.text(
                t("projects.due_date"),
                ": ",
                rx.cond(s.due_date != "", rx.text.span(s.due_date), rx.text.span("—")),
                size="2",
            ),
            rx.text(t("projects.created"), ": ", s.created, size="2", color_scheme="gray"),
            spacing="5",
        ),
        rx.cond(
            ~s.is_client,
            rx.vstack(
                rx.heading(t("projects.description"), size="3"),
                rx.cond(s.description_html != "", _markdown(s.description_html, "project-description"), rx.text("—")),
                spacing="1",
                width="100%",
            ),
        ),
        rx.heading(t("projects.client_description"), size="3"),
        rx.cond(
            s.client_description_html != "",
            _markdown(s.client_description_html, "project-client-description"),
            rx.text("—"),
        ),
        spacing="3",
        width="100%",
        padding_top="1em",
    )


def _member_row(member: ObjectVar[MemberRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(member.name),
        rx.table.cell(member.email),
        rx.table.cell(t_var(member.role, "role.")),
        data_testid="project-member-row",
        data_name=member.name,
    )


def _checkbox(member: ObjectVar[MemberRow], checked: bool) -> rx.Component:
    return rx.el.label(
        rx.el.input(
            type="checkbox",
            name=MEMBER_BOX + member.id.to(str),
            default_checked=checked,
            margin_right="0.4em",
            data_testid="member-box",
            data_name=member.name,
        ),
        rx.text(member.name, " (", t_var(member.role, "role."), ")", size="2"),
        display="flex",
        align_items="center",
    )


def _members() -> rx.Component:
    s = ProjectDetailState
    return rx.vstack(
        rx.cond(
            s.members.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(t("projects.member_name")),
                        rx.table.column_header_cell(t("projects.member_email")),
                        rx.table.column_header_cell(t("projects.member_role")),
                    )
                ),
                rx.table.body(rx.foreach(s.members, _member_row)),
                id="project-members-table",
                width="100%",
                variant="surface",
            ),
            rx.text(t("projects.no_members"), id="project-members-empty", color_scheme="gray"),
        ),
        rx.cond(
            s.manages & ~s.archived,
            rx.form(
                rx.vstack(
                    rx.heading(t("projects.choose_members"), size="3"),
                    rx.text(t("projects.members_help"), size="1", color_scheme="gray"),
                    rx.foreach(s.members, lambda m: _checkbox(m, True)),
                    rx.foreach(s.candidates, lambda m: _checkbox(m, False)),
                    rx.button(t("projects.save_members"), type="submit", id="save-members"),
                    spacing="2",
                ),
                on_submit=ProjectDetailState.save_members,
                key=s.form_key,
                id="members-form",
            ),
        ),
        spacing="4",
        width="100%",
        padding_top="1em",
    )


def _settings() -> rx.Component:
    s = ProjectDetailState
    return rx.vstack(
        rx.cond(
            ~s.archived,
            rx.form(
                rx.vstack(
                    *_project_form_fields(
                        prefix="edit",
                        name=s.name,
                        key=s.key,
                        description=s.description,
                        client_description=s.client_description,
                        start_date=s.start_date,
                        due_date=s.due_date,
                    ),
                    rx.button(t("projects.save"), type="submit", id="save-project"),
                    spacing="3",
                    width="100%",
                    max_width="40em",
                ),
                on_submit=ProjectDetailState.save,
                key=s.form_key,
                id="edit-project-form",
            ),
        ),
        rx.divider(),
        rx.cond(
            s.archived,
            rx.button(
                t("projects.restore"),
                id="restore-project",
                on_click=ProjectDetailState.set_archived(False),
                type="button",
            ),
            confirm_button(
                "projects.archive",
                "projects.archive_question",
                ProjectDetailState.set_archived(True),
                button_id="archive-project",
                color_scheme="orange",
            ),
        ),
        rx.divider(),
        rx.form(
            rx.vstack(
                rx.heading(t("projects.delete"), size="3", color_scheme="red"),
                rx.text(t("projects.delete_help"), size="2"),
                rx.text(t("projects.delete_type_name"), " ", rx.code(s.name), size="2"),
                rx.input(id="delete-confirm-name", name="confirm_name", auto_complete="off", width="20em"),
                rx.button(t("projects.delete"), type="submit", id="delete-project", color_scheme="red"),
                spacing="2",
            ),
            on_submit=ProjectDetailState.delete,
            reset_on_submit=True,
            id="delete-project-form",
        ),
        spacing="4",
        width="100%",
        padding_top="1em",
    )


def _detail() -> rx.Component:
    s = ProjectDetailState
    return rx.vstack(
        rx.hstack(
            rx.heading(s.name, size="5", id="project-name"),
            rx.code(s.key, id="project-key"),
            _status_badge(s.status),
            rx.spacer(),
            rx.cond(
                ~s.is_client,
                rx.hstack(
                    rx.link(
                        rx.button(t("projects.open_board"), variant="soft"),
                        href=board_link(s.project_id),
                        id="open-board",
                    ),
                    rx.link(
                        rx.button(t("projects.open_files"), variant="soft"),
                        href=files_link(s.project_id),
                        id="open-files",
                    ),
                    spacing="2",
                ),
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        rx.cond(
            s.archived, rx.callout(t("error.project_archived"), icon="archive", color_scheme="gray", id="archived-note")
        ),
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger(t("projects.tab_overview"), value="overview", id="tab-overview"),
                rx.tabs.trigger(t("projects.tab_members"), value="members", id="tab-members"),
                rx.cond(s.manages, rx.tabs.trigger(t("projects.tab_settings"), value="settings", id="tab-settings")),
            ),
            rx.tabs.content(_overview(), value="overview"),
            rx.tabs.content(_members(), value="members"),
            rx.cond(s.manages, rx.tabs.content(_settings(), value="settings")),
            default_value="overview",
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def project_detail_page() -> rx.Component:
    return page_frame(
        rx.cond(
            ProjectDetailState.found,
            _detail(),
            rx.cond(
                ProjectDetailState.loaded,
                rx.callout(t("projects.not_found"), icon="search_x", color_scheme="gray", id="project-not-found"),
            ),
        ),
        rx.link(t("projects.back"), href="/projects", size="2"),
        title_key="projects.detail_title",
    )


# ---- the operator's view ------------------------------------------------------------------------


def _operator_row(project: ObjectVar[ProjectRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(project.name),
        rx.table.cell(rx.code(project.key)),
        rx.table.cell(_status_badge(project.status)),
        rx.table.cell(_progress(project.done, project.total, project.progress)),
        rx.table.cell(_counts(project.counts)),
        rx.table.cell(rx.link(t("projects.open_board"), href=board_link(project.id), size="2")),
        data_testid="operator-project-row",
        data_name=project.name,
    )


def company_projects_page() -> rx.Component:
    s = CompanyProjectsState
    return page_frame(
        rx.callout(t("projects.operator_note"), icon="eye", color_scheme="blue"),
        rx.cond(
            s.found | ~s.loaded,
            data_table(
                "operator-projects",
                [*LIST_HEADERS[:5], "projects.board"],
                s.projects,
                _operator_row,
                loaded=s.loaded,
                empty_key="projects.operator_empty",
            ),
            rx.text(t("company.not_found"), id="operator-projects-not-found", color_scheme="gray"),
        ),
        rx.link(t("projects.back_to_company"), href="/companies/" + s.company_id, size="2"),
        title_key="projects.operator_title",
    )
