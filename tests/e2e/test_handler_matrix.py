"""The permission matrix again, this time through the REAL Reflex event handlers (and the CSV
export route) of the running app: every action of the policy table x every role x (own company,
other company) x (project member or not), over a websocket carrying the actor's session cookie.
Expected outcomes come from the same table (tests/security/test_permission_matrix.expected)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from dashboard.features.account.state import AccountState, TwoFactorState
from dashboard.features.audit.state import AuditState
from dashboard.features.billing.state import BillingState
from dashboard.features.billing_admin.state import BillingAdminState, PlansState
from dashboard.features.board.state import PROJECT_PARAM, BoardState
from dashboard.features.companies.state import DETAIL_PARAM, CompaniesState, CompanyDetailState
from dashboard.features.files.state import PROJECT_PARAM as FILES_PARAM
from dashboard.features.files.state import FilesState
from dashboard.features.home.state import HomeState
from dashboard.features.my_tasks.state import MyTasksState
from dashboard.features.notifications.state import NotificationSettingsState, NotificationsState
from dashboard.features.outbox.state import OutboxState
from dashboard.features.projects.state import (
    COMPANY_PARAM,
    CompanyProjectsState,
    ProjectDetailState,
    ProjectsState,
)
from dashboard.features.security.state import SecurityState
from dashboard.features.team.state import MEMBER_BOX, PROJECT_BOX, TeamState
from dashboard.state.discussion import TaskDiscussionState
from models import Project, Role, User
from services.core.db import system_scope
from services.core.policy import EFFECTS, RULES, Action, Effect
from tests.e2e.ws import EventSocket, login_cookie, merged_delta, redirects
from tests.factories import make_comment, make_notification, make_project, make_session, make_trusted_browser
from tests.security.test_permission_matrix import COMBINATIONS, expected
from tests.security.world import PASSWORD, Side, World, build_world, password_hash

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "matrix-new-passphrase-93"
INVITEE = "matrix-invitee@example.com"
MATRIX_TASK = "Matrix handler task"
MATRIX_LABEL = "Matrix handler label"
UPLOADED = "matrix-upload.txt"
RENAMED = "matrix-renamed.pdf"
NEW_KEY = "MATRIXNEW"
THROWAWAY = "Matrix throwaway"  # projects, comments and notifications a case makes, removed by reset


@dataclass
class Call:
    """What one case needs: the world, the acting user, and the side (company) it aims at."""

    world: World
    user: User
    side: Side
    owner: Engine
    app_url: str
    cookie: str

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.owner.connect() as conn:
            conn.execute(text("SET app.rls_bypass = 'on'"))
            return conn.execute(text(sql), params).scalar()

    def own_extra_session(self) -> str:
        """A second session of the acting user (the SELF actions aim at it), or the other company's."""
        if self.side is self.world.other:
            return str(self.side.target_session.id)
        with system_scope(self.owner) as session:
            user = session.get(User, self.user.id)
            assert user is not None
            return str(make_session(session, user).id)

    def trusted_browser(self) -> str:
        """A browser the acting user trusted (the SELF action aims at it), or the other company's user's."""
        with system_scope(self.owner) as session:
            owner = session.get(User, self.side.target.id if self.side is self.world.other else self.user.id)
            assert owner is not None
            return str(make_trusted_browser(session, owner).id)

    def acting_user(self, session: Any) -> User:
        user = session.get(User, self.user.id)
        assert user is not None
        return user

    def throwaway_project(self) -> Project:
        """A project of the side's company that a case may delete."""
        with system_scope(self.owner) as session:
            project = make_project(session, self.side.company, THROWAWAY)
            session.expunge(project)
        return project

    def own_comment(self) -> str:
        """A comment of the acting user on the side's task (the edit and delete cases aim at one); the
        other company's, or for the operator (who can write none), the target's."""
        if self.side is self.world.other or self.user.company_id is None:
            return str(self.side.comment.id)
        with system_scope(self.owner) as session:
            task = session.merge(self.side.task)
            return str(make_comment(session, task, self.acting_user(session), body=THROWAWAY).id)

    def own_notification(self) -> str:
        """An unread notification of the acting user, or the other company's target's."""
        if self.side is self.world.other or self.user.company_id is None:
            return str(self.side.notification.id)
        with system_scope(self.owner) as session:
            task = session.merge(self.side.task)
            return str(make_notification(session, self.acting_user(session), task, detail=THROWAWAY).id)


def handler(state: Any, name: str) -> str:
    return f"{state.get_full_name()}.{name}"


def shown(updates: list[dict[str, Any]], marker: str) -> bool:
    return marker in repr([u.get("delta") for u in updates])


@dataclass(frozen=True)
class HandlerCase:
    run: Callable[[Call, EventSocket], bool]


def _read(state: Any, name: str, marker: Callable[[Call], str], **kw: Any) -> HandlerCase:
    def run(call: Call, socket: EventSocket) -> bool:
        updates = socket.call(handler(state, name), kw.get("payload", {}))
        # Only the page's own vars count: the header always shows the caller's own name and company.
        return marker(call) in repr(merged_delta(updates).get(state.get_full_name(), {}))

    return HandlerCase(run)


def _home(call: Call, socket: EventSocket) -> bool:
    updates = socket.call(handler(HomeState, "load"))
    return not redirects(updates) and shown(updates, call.user.full_name)


def _sessions_listed(call: Call, socket: EventSocket) -> bool:
    target = call.own_extra_session()
    return shown(socket.call(handler(AccountState, "load")), target)


def _session_revoked(call: Call, socket: EventSocket) -> bool:
    target = call.own_extra_session()
    socket.call(handler(AccountState, "revoke"), {"session_id": target})
    return call.scalar("SELECT revoked_at IS NOT NULL FROM sessions WHERE id = :i", i=target)


def _password_changed(call: Call, socket: EventSocket) -> bool:
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    socket.call(handler(AccountState, "change_password"), {"form_data": form})
    return call.scalar("SELECT password_hash <> :h FROM users WHERE id = :i", h=password_hash(), i=call.user.id)


def _browser_revoked(call: Call, socket: EventSocket) -> bool:
    target = call.trusted_browser()
    socket.call(handler(TwoFactorState, "revoke_browser"), {"browser_id": target})
    return call.scalar("SELECT revoked_at IS NOT NULL FROM trusted_browsers WHERE id = :i", i=target)


def _two_factor_required(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(SecurityState, "set_require_two_factor"), {"required": True})
    return call.scalar("SELECT require_two_factor FROM companies WHERE id = :i", i=call.side.company.id)


def _members_edited(call: Call, socket: EventSocket) -> bool:
    form = {"project_id": str(call.side.project.id), f"{MEMBER_BOX}{call.side.worker_out.id}": "on"}
    socket.call(handler(TeamState, "save_project_members"), {"form_data": form})
    return bool(
        call.scalar(
            "SELECT count(*) FROM project_members WHERE project_id = :p AND user_id = :u",
            p=call.side.project.id,
            u=call.side.worker_out.id,
        )
    )


def _invited(call: Call, socket: EventSocket) -> bool:
    form = {"email": INVITEE, "role": "worker", f"{PROJECT_BOX}{call.side.project.id}": "on"}
    socket.call(handler(TeamState, "invite"), {"form_data": form})
    return bool(call.scalar("SELECT count(*) FROM invitations WHERE email = :e AND revoked_at IS NULL", e=INVITEE))


def _role_changed(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(TeamState, "change_role"), {"user_id": str(call.side.target.id), "role": "client"})
    return call.scalar("SELECT role = 'client' FROM users WHERE id = :i", i=call.side.target.id)


def _deactivated(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(TeamState, "set_active"), {"user_id": str(call.side.target.id), "active": False})
    return call.scalar("SELECT NOT is_active FROM users WHERE id = :i", i=call.side.target.id)


def _invite_resent(call: Call, socket: EventSocket) -> bool:
    before = call.scalar("SELECT token_hash FROM invitations WHERE id = :i", i=call.side.invitation.id)
    socket.call(handler(TeamState, "resend_invitation"), {"invitation_id": str(call.side.invitation.id)})
    return call.scalar("SELECT token_hash FROM invitations WHERE id = :i", i=call.side.invitation.id) != before


def _invite_revoked(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(TeamState, "revoke_invitation"), {"invitation_id": str(call.side.invitation.id)})
    return call.scalar("SELECT revoked_at IS NOT NULL FROM invitations WHERE id = :i", i=call.side.invitation.id)


def _audit_listed(call: Call, socket: EventSocket) -> bool:
    form = {"action": call.side.audit_marker}
    updates = socket.call(handler(AuditState, "apply_filters"), {"form_data": form})
    # Only the entries count: the filter form echoes the marker back as typed.
    entries = [
        v for k, v in merged_delta(updates).get(AuditState.get_full_name(), {}).items() if k.startswith("entries")
    ]
    return call.side.audit_marker in repr(entries)


def _audit_exported(call: Call, socket: EventSocket) -> bool:
    response = httpx.get(
        f"{call.app_url}/api/audit/export.csv", cookies={"wd_session": call.cookie}, follow_redirects=False, timeout=30
    )
    return response.status_code == 200 and call.side.audit_marker in response.text


def _company_viewed(call: Call, socket: EventSocket) -> bool:
    ref = str(call.side.company.id)
    updates = socket.call(handler(CompanyDetailState, "load"), path=f"/companies/{ref}", query={DETAIL_PARAM: ref})
    return shown(updates, call.side.company.slug)


def _company_deactivated(call: Call, socket: EventSocket) -> bool:
    payload = {"company_id": str(call.side.company.id), "active": False}
    socket.call(handler(CompanyDetailState, "set_active"), payload)
    return call.scalar("SELECT status = 'deactivated' FROM companies WHERE id = :i", i=call.side.company.id)


def _open_project(call: Call, socket: EventSocket, project_id: str) -> None:
    socket.call(handler(ProjectDetailState, "load"), path=f"/projects/{project_id}", query={PROJECT_PARAM: project_id})


def _project_created(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(ProjectsState, "create"), {"form_data": {"name": THROWAWAY, "key": NEW_KEY}})
    return bool(call.scalar("SELECT count(*) FROM projects WHERE key = :k", k=NEW_KEY))


def _project_edited(call: Call, socket: EventSocket) -> bool:
    _open_project(call, socket, str(call.side.project.id))
    form = {"name": "Renamed by matrix", "key": call.side.project.key}
    socket.call(handler(ProjectDetailState, "save"), {"form_data": form})
    return call.scalar("SELECT name = 'Renamed by matrix' FROM projects WHERE id = :i", i=call.side.project.id)


def _project_archived(call: Call, socket: EventSocket) -> bool:
    _open_project(call, socket, str(call.side.project.id))
    socket.call(handler(ProjectDetailState, "set_archived"), {"archived": True})
    return call.scalar("SELECT status = 'archived' FROM projects WHERE id = :i", i=call.side.project.id)


def _project_deleted(call: Call, socket: EventSocket) -> bool:
    project = call.throwaway_project()
    _open_project(call, socket, str(project.id))
    socket.call(handler(ProjectDetailState, "delete"), {"form_data": {"confirm_name": THROWAWAY}})
    return not call.scalar("SELECT count(*) FROM projects WHERE id = :i", i=project.id)


def _company_projects_viewed(call: Call, socket: EventSocket) -> bool:
    ref = str(call.side.company.id)
    updates = socket.call(
        handler(CompanyProjectsState, "load"), path=f"/companies/{ref}/projects", query={COMPANY_PARAM: ref}
    )
    return call.side.project.name in repr(merged_delta(updates).get(CompanyProjectsState.get_full_name(), {}))


def _open_discussion(socket: EventSocket, call: Call) -> list[dict[str, Any]]:
    return socket.call(handler(TaskDiscussionState, "open"), {"task_id": str(call.side.task.id)})


def _comments_listed(call: Call, socket: EventSocket) -> bool:
    updates = _open_discussion(socket, call)
    return call.side.comment.body in repr(merged_delta(updates).get(TaskDiscussionState.get_full_name(), {}))


def _comment_added(call: Call, socket: EventSocket) -> bool:
    _open_discussion(socket, call)
    socket.call(handler(TaskDiscussionState, "add"), {"form_data": {"body": THROWAWAY}})
    return bool(call.scalar("SELECT count(*) FROM task_comments WHERE body = :b", b=THROWAWAY))


def _comment_edited(call: Call, socket: EventSocket) -> bool:
    comment = call.own_comment()
    form = {"comment_id": comment, "body": "edited by matrix"}
    socket.call(handler(TaskDiscussionState, "save_edit"), {"form_data": form})
    return call.scalar("SELECT body = 'edited by matrix' FROM task_comments WHERE id = :i", i=comment)


def _comment_deleted(call: Call, socket: EventSocket) -> bool:
    comment = call.own_comment()
    socket.call(handler(TaskDiscussionState, "delete"), {"comment_id": comment})
    return not call.scalar("SELECT count(*) FROM task_comments WHERE id = :i", i=comment)


def _notifications_listed(call: Call, socket: EventSocket) -> bool:
    notification = call.own_notification()
    updates = socket.call(handler(NotificationsState, "load"))
    return notification in repr(merged_delta(updates).get(NotificationsState.get_full_name(), {}))


def _notification_read(call: Call, socket: EventSocket) -> bool:
    notification = call.own_notification()
    socket.call(handler(NotificationsState, "mark_read"), {"notification_id": notification})
    return call.scalar("SELECT read_at IS NOT NULL FROM notifications WHERE id = :i", i=notification)


def _email_switched(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(NotificationSettingsState, "set_email"), {"enabled": False})
    return call.scalar("SELECT NOT email_notifications FROM users WHERE id = :i", i=call.user.id)


def _outbox(call: Call, socket: EventSocket) -> bool:
    return not redirects(socket.call(handler(OutboxState, "load")))


def _billing_managed(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(BillingState, "cancel"))  # always the caller's own company's subscription
    company = call.user.company_id
    return bool(company) and call.scalar(
        "SELECT bool_or(cancel_at_period_end) FROM subscriptions WHERE company_id = :c", c=company
    )


def _invoice_downloaded(call: Call, socket: EventSocket) -> bool:
    response = httpx.get(
        f"{call.app_url}/api/billing/invoices/{call.side.invoice.id}/pdf",
        cookies={"wd_session": call.cookie},
        follow_redirects=False,
        timeout=30,
    )
    return response.status_code == 200 and response.content.startswith(b"%PDF")


def _plan_retired(call: Call, socket: EventSocket) -> bool:
    socket.call(handler(PlansState, "set_plan_active"), {"plan_id": str(call.side.plan.id), "active": False})
    return call.scalar("SELECT NOT is_active FROM plans WHERE id = :i", i=call.side.plan.id)


def _payment_recorded(call: Call, socket: EventSocket) -> bool:
    form = {"invoice_id": str(call.side.invoice.id), "amount": "1.00", "currency": "USD", "reference": "matrix"}
    socket.call(handler(BillingAdminState, "record_payment"), {"form_data": form})
    return bool(call.scalar("SELECT count(*) FROM payments WHERE invoice_id = :i", i=call.side.invoice.id))


def _invoice_voided(call: Call, socket: EventSocket) -> bool:
    form = {"invoice_id": str(call.side.invoice.id), "reason": "matrix"}
    socket.call(handler(BillingAdminState, "void_invoice"), {"form_data": form})
    return call.scalar("SELECT status = 'void' FROM invoices WHERE id = :i", i=call.side.invoice.id)


def _open_board(call: Call, socket: EventSocket) -> list[dict[str, Any]]:
    """Load the side's board in this socket's BoardState (the writes act on the loaded board)."""
    ref = str(call.side.project.id)
    return socket.call(handler(BoardState, "load"), path=f"/projects/{ref}/board", query={PROJECT_PARAM: ref})


def _board_viewed(call: Call, socket: EventSocket) -> bool:
    updates = _open_board(call, socket)
    return call.side.task.title in repr(merged_delta(updates).get(BoardState.get_full_name(), {}))


def _task_created(call: Call, socket: EventSocket) -> bool:
    _open_board(call, socket)
    socket.call(handler(BoardState, "create_task"), {"form_data": {"title": MATRIX_TASK, "status": "todo"}})
    return bool(
        call.scalar(
            "SELECT count(*) FROM tasks WHERE project_id = :p AND title = :t", p=call.side.project.id, t=MATRIX_TASK
        )
    )


def _task_moved(call: Call, socket: EventSocket) -> bool:
    _open_board(call, socket)
    payload = {"task_id": str(call.side.task.id), "version": 1, "status": "review", "before_id": ""}
    socket.call(handler(BoardState, "move_card"), payload)
    return call.scalar("SELECT status = 'review' FROM tasks WHERE id = :i", i=call.side.task.id)


def _task_deleted(call: Call, socket: EventSocket) -> bool:
    _open_board(call, socket)
    socket.call(handler(BoardState, "delete_task"), {"task_id": str(call.side.task.id), "version": 1})
    return not call.scalar("SELECT count(*) FROM tasks WHERE id = :i", i=call.side.task.id)


def _label_created(call: Call, socket: EventSocket) -> bool:
    _open_board(call, socket)
    socket.call(handler(BoardState, "create_label"), {"form_data": {"name": MATRIX_LABEL, "color": "#ef4444"}})
    return bool(
        call.scalar(
            "SELECT count(*) FROM labels WHERE project_id = :p AND name = :n", p=call.side.project.id, n=MATRIX_LABEL
        )
    )


def _tasks_exported(call: Call, socket: EventSocket) -> bool:
    response = httpx.get(
        f"{call.app_url}/api/projects/{call.side.project.id}/tasks.csv",
        cookies={"wd_session": call.cookie},
        follow_redirects=False,
        timeout=30,
    )
    return response.status_code == 200 and call.side.task.title in response.text


def _my_tasks(call: Call, socket: EventSocket) -> bool:
    if call.side is call.world.own and call.user.company_id is not None:  # assigned within its company only
        with call.owner.begin() as conn:
            conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
            conn.execute(
                text("UPDATE tasks SET assignee_id = :u WHERE id = :i"), {"u": call.user.id, "i": call.side.task.id}
            )
    updates = socket.call(handler(MyTasksState, "load"))
    return call.side.task.title in repr(merged_delta(updates).get(MyTasksState.get_full_name(), {}))


def _files_page(socket: EventSocket, project_id: object) -> list[dict[str, Any]]:
    ref = str(project_id)
    return socket.call(handler(FilesState, "load_project"), path=f"/projects/{ref}/files", query={FILES_PARAM: ref})


def _files_listed(call: Call, socket: EventSocket) -> bool:
    files = merged_delta(_files_page(socket, call.side.project.id)).get(FilesState.get_full_name(), {})
    listed = call.side.file.display_name in repr(files)
    # The download route must agree with the page: both give the file, or neither does.
    link = httpx.get(
        f"{call.app_url}/api/files/{call.side.file.id}/download", cookies={"wd_session": call.cookie}, timeout=30
    )
    assert (link.status_code == 303) == listed, (link.status_code, listed)
    return listed


def _file_uploaded(call: Call, socket: EventSocket) -> bool:
    response = httpx.post(
        f"{call.app_url}/api/files/upload?project={call.side.project.id}",
        content=b"matrix upload\n",
        headers={"x-file-name": UPLOADED, "origin": call.app_url},
        cookies={"wd_session": call.cookie},
        timeout=30,
    )
    return response.status_code == 201


def _file_renamed(call: Call, socket: EventSocket) -> bool:
    form = {"file_id": str(call.side.file.id), "name": RENAMED}
    socket.call(handler(FilesState, "rename"), {"form_data": form})
    return call.scalar("SELECT display_name = :n FROM files WHERE id = :i", n=RENAMED, i=call.side.file.id)


def _storage_seen(call: Call, socket: EventSocket) -> bool:
    # Not aimed at a company: the storage shown is always the caller's own company's.
    files = merged_delta(_files_page(socket, call.world.own.project.id)).get(FilesState.get_full_name(), {})
    return any(k.startswith("show_usage") and v is True for k, v in files.items())


HANDLER_CASES: dict[Action, HandlerCase] = {
    Action.HOME_VIEW: HandlerCase(_home),
    Action.SESSION_LIST: HandlerCase(_sessions_listed),
    Action.SESSION_REVOKE: HandlerCase(_session_revoked),
    Action.PASSWORD_CHANGE: HandlerCase(_password_changed),
    Action.TWO_FACTOR_MANAGE: HandlerCase(_browser_revoked),
    Action.PROJECT_LIST: _read(ProjectsState, "load", lambda c: c.side.project.name),
    Action.PROJECT_CREATE: HandlerCase(_project_created),
    Action.PROJECT_EDIT: HandlerCase(_project_edited),
    Action.PROJECT_ARCHIVE: HandlerCase(_project_archived),
    Action.PROJECT_DELETE: HandlerCase(_project_deleted),
    Action.PROJECT_MEMBERS_EDIT: HandlerCase(_members_edited),
    Action.BOARD_VIEW: HandlerCase(_board_viewed),
    Action.TASK_CREATE: HandlerCase(_task_created),
    Action.TASK_EDIT: HandlerCase(_task_moved),
    Action.TASK_DELETE: HandlerCase(_task_deleted),
    Action.LABEL_EDIT: HandlerCase(_label_created),
    Action.TASK_EXPORT: HandlerCase(_tasks_exported),
    Action.MY_TASKS: HandlerCase(_my_tasks),
    Action.FILE_VIEW: HandlerCase(_files_listed),
    Action.FILE_UPLOAD: HandlerCase(_file_uploaded),
    Action.FILE_EDIT: HandlerCase(_file_renamed),
    Action.STORAGE_VIEW: HandlerCase(_storage_seen),
    Action.COMMENT_LIST: HandlerCase(_comments_listed),
    Action.COMMENT_ADD: HandlerCase(_comment_added),
    Action.COMMENT_EDIT: HandlerCase(_comment_edited),
    Action.COMMENT_DELETE: HandlerCase(_comment_deleted),
    Action.NOTIFICATION_LIST: HandlerCase(_notifications_listed),
    Action.NOTIFICATION_READ: HandlerCase(_notification_read),
    Action.NOTIFICATION_EMAIL_SET: HandlerCase(_email_switched),
    Action.TEAM_VIEW: _read(TeamState, "load_members", lambda c: c.side.target.email),
    Action.MEMBER_INVITE: HandlerCase(_invited),
    Action.MEMBER_CHANGE_ROLE: HandlerCase(_role_changed),
    Action.MEMBER_SET_ACTIVE: HandlerCase(_deactivated),
    Action.INVITE_RESEND: HandlerCase(_invite_resent),
    Action.INVITE_REVOKE: HandlerCase(_invite_revoked),
    Action.COMPANY_SECURITY_EDIT: HandlerCase(_two_factor_required),
    Action.AUDIT_VIEW: HandlerCase(_audit_listed),
    Action.AUDIT_EXPORT: HandlerCase(_audit_exported),
    Action.COMPANY_LIST: _read(CompaniesState, "load", lambda c: c.side.company.name),
    Action.COMPANY_VIEW: HandlerCase(_company_viewed),
    Action.COMPANY_SET_ACTIVE: HandlerCase(_company_deactivated),
    Action.COMPANY_PROJECTS_VIEW: HandlerCase(_company_projects_viewed),
    Action.OUTBOX_VIEW: HandlerCase(_outbox),
    Action.BILLING_VIEW: _read(BillingState, "load", lambda c: c.side.invoice.number),
    Action.BILLING_MANAGE: HandlerCase(_billing_managed),
    Action.INVOICE_DOWNLOAD: HandlerCase(_invoice_downloaded),
    Action.PLAN_MANAGE: HandlerCase(_plan_retired),
    Action.BILLING_ADMIN: _read(BillingAdminState, "load", lambda c: c.side.company.name),
    Action.PAYMENT_RECORD: HandlerCase(_payment_recorded),
    Action.INVOICE_VOID: HandlerCase(_invoice_voided),
}


def test_every_action_has_a_handler_case() -> None:
    assert set(HANDLER_CASES) == set(Action)


@pytest.fixture(scope="module")
def owner(e2e_database: tuple[str, str]) -> Iterator[Engine]:
    engine = create_engine(e2e_database[0])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def world(owner: Engine) -> World:
    with system_scope(owner) as session:
        built = build_world(session)
        session.expunge_all()
    return built


@pytest.fixture(scope="module")
def cookies(app_url: str, world: World) -> dict[str, str]:
    users = [
        world.admin,
        *(world.own.actor_user(r, m) for r in (Role.MANAGER, Role.WORKER, Role.CLIENT) for m in (True, False)),
    ]
    return {str(u.id): login_cookie(app_url, u.email, PASSWORD) for u in users}


def reset(owner: Engine, world: World) -> None:
    """Undo whatever a case changed, so every case starts from the same world."""
    users = [world.admin.id] + [
        getattr(s, f).id
        for s in (world.own, world.other)
        for f in ("manager", "worker_in", "worker_out", "client_in", "client_out", "target")
    ]
    with owner.begin() as conn:
        conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
        conn.execute(
            text("UPDATE users SET is_active = true, password_hash = :h WHERE id = ANY(:u)"),
            {"h": password_hash(), "u": users},
        )
        conn.execute(
            text("UPDATE users SET role = 'worker' WHERE id = ANY(:u)"),
            {"u": [world.own.target.id, world.other.target.id]},
        )
        conn.execute(text("UPDATE sessions SET revoked_at = NULL WHERE user_id = ANY(:u)"), {"u": users})
        conn.execute(text("DELETE FROM trusted_browsers WHERE user_id = ANY(:u)"), {"u": users})
        conn.execute(
            text("UPDATE companies SET status = 'active', require_two_factor = false WHERE id = ANY(:c)"),
            {"c": [world.own.company.id, world.other.company.id]},
        )
        conn.execute(
            text("UPDATE invitations SET revoked_at = NULL WHERE id = ANY(:i)"),
            {"i": [world.own.invitation.id, world.other.invitation.id]},
        )
        conn.execute(text("DELETE FROM invitations WHERE email = :e"), {"e": INVITEE})
        sides = (world.own, world.other)
        conn.execute(
            text("UPDATE subscriptions SET cancel_at_period_end = false, canceled_at = NULL WHERE id = ANY(:s)"),
            {"s": [side.subscription.id for side in sides]},
        )
        conn.execute(
            text("UPDATE companies SET read_only_at = NULL WHERE id = ANY(:c)"),
            {"c": [side.company.id for side in sides]},
        )
        conn.execute(
            text("UPDATE plans SET is_active = true WHERE id = ANY(:p)"), {"p": [side.plan.id for side in sides]}
        )
        invoices = [side.invoice.id for side in sides]
        conn.execute(text("DELETE FROM payments WHERE invoice_id = ANY(:i)"), {"i": invoices})
        conn.execute(
            text(
                "UPDATE invoices SET status = 'open', voided_at = NULL, void_reason = '', paid_at = NULL WHERE id = ANY(:i)"
            ),
            {"i": invoices},
        )
        conn.execute(text("DELETE FROM files WHERE display_name = :n"), {"n": UPLOADED})
        conn.execute(text("UPDATE files SET display_name = original_name WHERE display_name = :n"), {"n": RENAMED})
        conn.execute(
            text("DELETE FROM project_members WHERE user_id = ANY(:u)"),
            {"u": [world.own.worker_out.id, world.other.worker_out.id]},
        )
        conn.execute(text("UPDATE users SET email_notifications = true WHERE id = ANY(:u)"), {"u": users})
        for side in (world.own, world.other):  # the members as built (the membership case replaces them)
            for user in (side.worker_in, side.client_in, side.target):
                conn.execute(
                    text(
                        "INSERT INTO project_members (project_id, user_id, company_id) VALUES (:p, :u, :c) "
                        "ON CONFLICT DO NOTHING"
                    ),
                    {"p": side.project.id, "u": user.id, "c": side.company.id},
                )
        conn.execute(text("DELETE FROM tasks WHERE title = :t"), {"t": MATRIX_TASK})
        conn.execute(text("DELETE FROM labels WHERE name = :n"), {"n": MATRIX_LABEL})
        for side in (world.own, world.other):  # the side's task as built: in "to do", version 1, nobody's
            task = side.task
            conn.execute(
                text(
                    "INSERT INTO tasks (id, company_id, project_id, number, title, shared_with_client) "
                    "VALUES (:i, :c, :p, :n, :t, true) "
                    "ON CONFLICT (id) DO UPDATE SET status = 'todo', version = 1, assignee_id = NULL, position = 0, "
                    "shared_with_client = true"
                ),
                {"i": task.id, "c": task.company_id, "p": task.project_id, "n": task.number, "t": task.title},
            )
            conn.execute(
                text("UPDATE projects SET name = :n, status = 'active' WHERE id = :i"),
                {"n": side.project.name, "i": side.project.id},
            )
            conn.execute(
                text("UPDATE task_comments SET body = :b WHERE id = :i"), {"b": side.comment.body, "i": side.comment.id}
            )
            conn.execute(text("UPDATE notifications SET read_at = NULL WHERE id = :i"), {"i": side.notification.id})
        for side in (world.own, world.other):  # the side's comment and notification (a task delete took them)
            conn.execute(
                text(
                    "INSERT INTO task_comments (id, company_id, task_id, author_id, author_name, body) "
                    "VALUES (:i, :c, :t, :a, 'matrix', :b) ON CONFLICT (id) DO UPDATE SET body = :b"
                ),
                {
                    "i": side.comment.id,
                    "c": side.company.id,
                    "t": side.task.id,
                    "a": side.target.id,
                    "b": side.comment.body,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO notifications (id, company_id, user_id, kind, task_id) "
                    "VALUES (:i, :c, :u, 'assigned', :t) ON CONFLICT (id) DO UPDATE SET read_at = NULL"
                ),
                {"i": side.notification.id, "c": side.company.id, "u": side.target.id, "t": side.task.id},
            )
        conn.execute(text("DELETE FROM projects WHERE name = :n OR key = :k"), {"n": THROWAWAY, "k": NEW_KEY})
        conn.execute(text("DELETE FROM task_comments WHERE body = :b"), {"b": THROWAWAY})
        conn.execute(text("DELETE FROM notifications WHERE detail = :d"), {"d": THROWAWAY})


@pytest.mark.parametrize(("action", "role", "own", "member"), COMBINATIONS)
def test_event_handlers_match_policy(
    app_url: str,
    owner: Engine,
    world: World,
    cookies: dict[str, str],
    action: Action,
    role: Role,
    own: bool,
    member: bool,
) -> None:
    from services.core import throttle

    throttle.clear_all()  # the password-change cases share the login throttle
    user = world.admin if role is Role.ADMIN else world.own.actor_user(role, member)
    call = Call(world, user, world.side(own), owner, app_url, cookies[str(user.id)])
    socket = EventSocket(app_url, call.cookie)
    try:
        reached = HANDLER_CASES[action].run(call, socket)
    finally:
        socket.close()
        reset(owner, world)
    assert reached == expected(action, role, own, member)


def _set_read_only(owner: Engine, company_id: object, read_only: bool) -> None:
    """Set the company's read-only moment (a minute ago, or none) and drop its sessions from every
    app process's session cache, as services.billing does."""
    from datetime import timedelta

    from models import Company
    from services.core import clock
    from services.identity import refresh_company_sessions

    with system_scope(owner) as session:
        company = session.get(Company, company_id)
        assert company is not None
        company.read_only_at = clock.now() - timedelta(minutes=1) if read_only else None
        session.add(company)
        refresh_company_sessions(session, company.id)


WRITE_ACTIONS = [a for a in Action if EFFECTS[a] is Effect.WRITE and Role.MANAGER in RULES[a]]


@pytest.mark.parametrize("action", WRITE_ACTIONS, ids=[a.value for a in WRITE_ACTIONS])
def test_a_read_only_company_refuses_every_write_handler_and_still_reads(
    app_url: str, owner: Engine, world: World, cookies: dict[str, str], action: Action
) -> None:
    """After its trial (or subscription) ended, a company's manager may read and export; each write
    handler refuses with the read-only message and changes nothing."""
    user = world.own.manager
    _set_read_only(owner, world.own.company.id, True)
    try:
        call = Call(world, user, world.own, owner, app_url, cookies[str(user.id)])
        socket = EventSocket(app_url, call.cookie)
        try:
            assert not HANDLER_CASES[action].run(call, socket)
            assert HANDLER_CASES[Action.TEAM_VIEW].run(call, socket)  # reading still works
            assert HANDLER_CASES[Action.AUDIT_EXPORT].run(call, socket)  # and exporting
            assert HANDLER_CASES[Action.BILLING_VIEW].run(call, socket)  # and the way out
        finally:
            socket.close()
    finally:
        _set_read_only(owner, world.own.company.id, False)
        reset(owner, world)


def test_the_seat_limit_refuses_an_invite_through_the_handler(
    app_url: str, owner: Engine, world: World, cookies: dict[str, str]
) -> None:
    """The plan's seats are all taken: the team page's invite handler answers with the limit's message
    (naming the limit, pointing to the upgrade) and no invitation is written."""
    user = world.own.manager
    seats = Call(world, user, world.own, owner, app_url, cookies[str(user.id)]).scalar(
        "SELECT count(*) FROM users WHERE company_id = :c AND is_active", c=world.own.company.id
    )
    with owner.begin() as conn:
        conn.execute(text("UPDATE plans SET max_seats = :s WHERE id = :p"), {"s": seats, "p": world.own.plan.id})
    call = Call(world, user, world.own, owner, app_url, cookies[str(user.id)])
    socket = EventSocket(app_url, call.cookie)
    try:
        form = {"email": INVITEE, "role": "worker"}
        updates = socket.call(handler(TeamState, "invite"), {"form_data": form})
        assert "error.limit_seats" in repr(merged_delta(updates))
        assert not call.scalar("SELECT count(*) FROM invitations WHERE email = :e", e=INVITEE)
    finally:
        socket.close()
        with owner.begin() as conn:
            conn.execute(text("UPDATE plans SET max_seats = 10 WHERE id = :p"), {"p": world.own.plan.id})
        reset(owner, world)
