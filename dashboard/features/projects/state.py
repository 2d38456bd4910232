"""The projects pages: the list (search, status filter, progress, counts, the create form), one
project's detail (overview, members, settings: edit, archive/restore, delete) and the operator's
read-only view of a company's projects.

Each handler parses its arguments (dashboard/state/args.py), calls one service and copies the result
into plain rows. Managers change projects; the services refuse everyone else whatever the page shows.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from dashboard.state.args import bool_arg, date_arg, enum_arg, form_arg, prefixed_ids, text_arg, uuid_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.rows import when
from models import ProjectStatus, Role, TaskStatus
from services import people, work
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import NotFound
from services.core.policy import Action, scope_for
from services.work import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_SEARCH_LENGTH,
    ProjectDetail,
    ProjectFields,
    ProjectMemberInfo,
    ProjectSummary,
)

TASK_STATUSES: list[str] = [s.value for s in TaskStatus]
PROJECT_PARAM = "project_id"  # the dynamic segment of /projects/[project_id] (and of the board's route below it)
COMPANY_PARAM = "company_ref"  # /companies/[company_ref]/projects (the company detail page's segment)
MEMBER_BOX = "member:"  # checkbox names of the members form: member:<user id>
MAX_KEY_INPUT = 32


@dataclasses.dataclass
class StatusCount:
    status: str
    count: int


@dataclasses.dataclass
class ProjectRow:
    id: str
    name: str
    key: str
    status: str
    due: str
    total: int
    done: int
    progress: int  # percent
    counts: list[StatusCount]  # the statuses with tasks, in board order


@dataclasses.dataclass
class MemberRow:
    id: str
    name: str
    email: str
    role: str
    active: bool


def project_row(summary: ProjectSummary) -> ProjectRow:
    return ProjectRow(
        id=str(summary.id),
        name=summary.name,
        key=summary.key,
        status=summary.status.value,
        due=summary.due_date.isoformat() if summary.due_date else "",
        total=summary.total_tasks,
        done=summary.done_tasks,
        progress=summary.progress_percent,
        counts=[StatusCount(s, n) for s in TASK_STATUSES if (n := summary.task_counts.get(s, 0))],
    )


def _member_row(member: ProjectMemberInfo) -> MemberRow:
    return MemberRow(
        id=str(member.user_id),
        name=member.full_name,
        email=member.email,
        role=member.role.value,
        active=member.is_active,
    )


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def project_fields(fields: dict[str, str]) -> ProjectFields:
    """The project form's fields, parsed."""
    return ProjectFields(
        name=text_arg(fields.get("name", ""), MAX_NAME_LENGTH),
        key=text_arg(fields.get("key", ""), MAX_KEY_INPUT),
        description=text_arg(fields.get("description", ""), MAX_DESCRIPTION_LENGTH),
        client_description=text_arg(fields.get("client_description", ""), MAX_DESCRIPTION_LENGTH),
        start_date=date_arg(fields.get("start_date", "")),
        due_date=date_arg(fields.get("due_date", "")),
    )


class ProjectsState(AuthState):
    """/projects: the visible projects, filtered, and (for managers) the create form."""

    projects: rx.Field[list[ProjectRow]] = rx.field(default_factory=list)
    loaded: rx.Field[bool] = rx.field(False)
    search: rx.Field[str] = rx.field("")
    status_filter: rx.Field[str] = rx.field("")
    suggested_key: rx.Field[str] = rx.field("")
    can_create: rx.Field[bool] = rx.field(False)
    created: rx.Field[int] = rx.field(0)  # bumped after each creation: a fresh, empty form

    def _fill(self, actor: Actor) -> None:
        status = ProjectStatus(self.status_filter) if self.status_filter else None
        with tenant_scope(actor) as session:
            summaries = work.list_projects(session, actor, search=self.search, status=status)
        self.projects = [project_row(p) for p in summaries]
        self.can_create = scope_for(actor, Action.PROJECT_CREATE) is not None
        self.loaded = True

    @requires(Action.PROJECT_LIST)
    def load(self, actor: Actor) -> None:
        self._fill(actor)

    @requires(Action.PROJECT_LIST)
    def apply_filters(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        self.search = text_arg(fields.get("q", ""), MAX_SEARCH_LENGTH)
        status = fields.get("status", "")
        self.status_filter = enum_arg(status, list(ProjectStatus)).value if status else ""  # "": all
        self._fill(actor)

    @requires(Action.PROJECT_CREATE)
    def suggest_key(self, actor: Actor, name: str) -> None:
        """The key the name suggests (shown in the empty key field)."""
        text = text_arg(name, MAX_NAME_LENGTH)
        with tenant_scope(actor) as session:
            self.suggested_key = work.suggest_key(session, actor, text) if text else ""

    @requires(Action.PROJECT_CREATE)
    def create(self, actor: Actor, form_data: dict[str, Any]) -> EventSpec:
        fields = project_fields(form_arg(form_data))
        with tenant_scope(actor) as session:
            detail = work.create_project(session, actor, fields)
        self.created += 1
        self.suggested_key = ""
        return rx.redirect(f"/projects/{detail.summary.id}")


class ProjectDetailState(AuthState):
    """/projects/[project_id]: one project; `found` False shows "not found" (also for "not yours")."""

    found: rx.Field[bool] = rx.field(False)
    loaded: rx.Field[bool] = rx.field(False)
    project_id: rx.Field[str] = rx.field("")
    name: rx.Field[str] = rx.field("")
    key: rx.Field[str] = rx.field("")
    status: rx.Field[str] = rx.field("")
    total: rx.Field[int] = rx.field(0)
    done: rx.Field[int] = rx.field(0)
    progress: rx.Field[int] = rx.field(0)
    counts: rx.Field[list[StatusCount]] = rx.field(default_factory=list)
    description: rx.Field[str] = rx.field("")
    description_html: rx.Field[str] = rx.field("")
    client_description: rx.Field[str] = rx.field("")
    client_description_html: rx.Field[str] = rx.field("")
    start_date: rx.Field[str] = rx.field("")
    due_date: rx.Field[str] = rx.field("")
    created: rx.Field[str] = rx.field("")
    members: rx.Field[list[MemberRow]] = rx.field(default_factory=list)
    candidates: rx.Field[list[MemberRow]] = rx.field(default_factory=list)
    manages: rx.Field[bool] = rx.field(False)  # may edit, archive, delete and manage members
    is_client: rx.Field[bool] = rx.field(False)
    form_key: rx.Field[int] = rx.field(0)  # remounts the forms (their default values) after each load or save

    @rx.var
    def archived(self) -> bool:
        return self.status == ProjectStatus.ARCHIVED.value

    def _show(self, actor: Actor, detail: ProjectDetail) -> None:
        row = project_row(detail.summary)
        self.found = True
        self.project_id, self.name, self.key, self.status = row.id, row.name, row.key, row.status
        self.total, self.done, self.progress, self.counts = row.total, row.done, row.progress, row.counts
        self.description = detail.description
        self.description_html = work.render_markdown(detail.description) if detail.description else ""
        self.client_description = detail.client_description
        self.client_description_html = (
            work.render_markdown(detail.client_description) if detail.client_description else ""
        )
        self.start_date, self.due_date = _day(detail.start_date), _day(detail.due_date)
        self.created = when(detail.created_at)
        self.members = [_member_row(m) for m in detail.members]
        self.candidates = [_member_row(m) for m in detail.candidates]
        self.manages = scope_for(actor, Action.PROJECT_EDIT) is not None
        self.is_client = actor.role is Role.CLIENT
        self.form_key += 1

    def _project_id(self) -> Any:
        return uuid_arg(self._route_param(PROJECT_PARAM))

    @requires(Action.PROJECT_LIST)
    def load(self, actor: Actor) -> None:
        self.found, self.loaded = False, False
        try:
            project_id = self._project_id()
            with tenant_scope(actor) as session:
                detail = work.project_detail(session, actor, project_id)
        except NotFound:
            detail = None  # malformed, missing, another company's or not a member: the same view
        self.loaded = True
        if detail is not None:
            self._show(actor, detail)

    @requires(Action.PROJECT_EDIT)
    def save(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = project_fields(form_arg(form_data))
        project_id = uuid_arg(self.project_id)
        with tenant_scope(actor) as session:
            detail = work.update_project(session, actor, project_id, fields)
        self._show(actor, detail)
        self.notice_key = "projects.saved"

    @requires(Action.PROJECT_ARCHIVE)
    def set_archived(self, actor: Actor, archived: bool) -> None:
        archived = bool_arg(archived)
        project_id = uuid_arg(self.project_id)
        with tenant_scope(actor) as session:
            detail = work.set_archived(session, actor, project_id, archived)
        self._show(actor, detail)
        self.notice_key = "projects.archived_notice" if archived else "projects.restored_notice"

    @requires(Action.PROJECT_DELETE)
    def delete(self, actor: Actor, form_data: dict[str, Any]) -> EventSpec:
        confirm = text_arg(form_arg(form_data).get("confirm_name", ""), MAX_NAME_LENGTH + 50, strip=False)
        project_id = uuid_arg(self.project_id)
        with tenant_scope(actor) as session:
            work.delete_project(session, actor, project_id, confirm)
        self.found = False
        return rx.redirect("/projects")

    @requires(Action.PROJECT_MEMBERS_EDIT)
    def save_members(self, actor: Actor, form_data: dict[str, Any]) -> None:
        wanted = prefixed_ids(form_arg(form_data), MEMBER_BOX)
        project_id = uuid_arg(self.project_id)
        with tenant_scope(actor) as session:
            people.set_project_members(session, actor, project_id, wanted)
            detail = work.project_detail(session, actor, project_id)
        self._show(actor, detail)
        self.notice_key = "projects.members_saved"


class CompanyProjectsState(AuthState):
    """/companies/[company_ref]/projects: the operator's read-only, audited look at a company's projects."""

    projects: rx.Field[list[ProjectRow]] = rx.field(default_factory=list)
    loaded: rx.Field[bool] = rx.field(False)
    found: rx.Field[bool] = rx.field(False)
    company_id: rx.Field[str] = rx.field("")

    @requires(Action.COMPANY_PROJECTS_VIEW)
    def load(self, actor: Actor) -> None:
        self.found, self.loaded, self.projects = False, False, []
        try:
            company_id = uuid_arg(self._route_param(COMPANY_PARAM))
            with tenant_scope(actor) as session:
                summaries = work.operator_company_projects(session, actor, company_id)
        except NotFound:
            summaries = None
        self.loaded = True
        if summaries is not None:
            self.found, self.company_id = True, str(company_id)
            self.projects = [project_row(p) for p in summaries]
