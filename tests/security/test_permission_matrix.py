"""Every action of the policy table x every role x (own company, other company) x (member of the
project, not a member), called through the service layer. The expected outcome is computed from
services.core.policy.RULES, so a new action without a case here fails `test_every_action_has_a_case`.

"Allowed" means the action took effect on (or revealed) the target; a refusal (PermissionDenied)
and "not yours" (NotFound) both count as denied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from models import (
    Invitation,
    Label,
    Notification,
    Project,
    ProjectStatus,
    Role,
    Task,
    TaskComment,
    TaskStatus,
    TrustedBrowser,
    User,
    UserSession,
)
from services import billing, work
from services.audit import records as audit_service
from services.core import mailer
from services.core.actor import Actor
from services.core.errors import NotFound, PermissionDenied
from services.core.policy import RULES, Action, Scope, authorize
from services.core.settings import get_settings
from services.identity import accounts, auth, two_factor
from services.people import invitations, team
from services.tenants import companies
from services.work import (
    TaskFields,
    TaskFilter,
    begin_upload,
    file_link,
    finish_upload,
    list_files,
    projects,
    rename_file,
    storage_usage,
    tasks,
)
from tests.factories import make_trusted_browser
from tests.security.world import PASSWORD, Side, World, build_world, make_session

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    run: Callable[[Session, Actor, Side, World], bool]  # True when the target was reached
    targeted: bool = True  # False: the action only ever touches the actor's own account


def _own_session(db: Session, actor: Actor, side: Side, world: World) -> UserSession:
    """The session the SELF actions aim at: the actor's own, or a user's of the other company."""
    if side is world.other:
        return side.target_session
    user = db.get(User, actor.user_id)
    assert user is not None
    return make_session(db, user)


def _session_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    target = _own_session(db, actor, side, world)
    return target.id in {s.id for s in auth.list_sessions(db, actor)}


def _session_revoked(db: Session, actor: Actor, side: Side, world: World) -> bool:
    target = _own_session(db, actor, side, world)
    auth.revoke_session(db, actor, target.id)
    db.refresh(target)
    return target.revoked_at is not None


def _password_changed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    accounts.change_password(
        db, actor, current_password=PASSWORD, new_password="a-new-long-passphrase-77", current_token=None
    )
    return True


def _trusted_browser_revoked(db: Session, actor: Actor, side: Side, world: World) -> bool:
    """A browser the actor trusted (or, on the other side, the other company's user did) is revoked."""
    owner = side.target if side is world.other else db.get(User, actor.user_id)
    assert owner is not None
    browser = make_trusted_browser(db, owner)
    two_factor.revoke_trusted_browser(db, actor, browser.id)
    refreshed = db.get(TrustedBrowser, browser.id)
    assert refreshed is not None
    db.refresh(refreshed)
    return refreshed.revoked_at is not None


def _two_factor_required(db: Session, actor: Actor, side: Side, world: World) -> bool:
    two_factor.set_two_factor_required(db, actor, True)
    db.refresh(side.company)
    return side.company.require_two_factor


def _project_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.project.id in {p.id for p in projects.list_projects(db, actor)}


def _members_edited(db: Session, actor: Actor, side: Side, world: World) -> bool:
    change = team.set_project_members(db, actor, side.project.id, [side.worker_out.id])
    return side.worker_out.id in change.added


def _member_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.target.id in {m.id for m in team.list_members(db, actor)}


def _invited(db: Session, actor: Actor, side: Side, world: World) -> bool:
    info = invitations.invite(
        db, actor, email="new.person@example.com", role=Role.WORKER, project_ids=[side.project.id]
    )
    return db.get(Invitation, info.id) is not None


def _role_changed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    team.change_role(db, actor, side.target.id, Role.CLIENT)
    db.refresh(side.target)
    return side.target.role is Role.CLIENT


def _deactivated(db: Session, actor: Actor, side: Side, world: World) -> bool:
    team.set_active(db, actor, side.target.id, False)
    db.refresh(side.target)
    return not side.target.is_active


def _invite_resent(db: Session, actor: Actor, side: Side, world: World) -> bool:
    old = side.invitation.token_hash
    invitations.resend(db, actor, side.invitation.id)
    db.refresh(side.invitation)
    return side.invitation.token_hash != old


def _invite_revoked(db: Session, actor: Actor, side: Side, world: World) -> bool:
    invitations.revoke(db, actor, side.invitation.id)
    db.refresh(side.invitation)
    return side.invitation.revoked_at is not None


def _audit_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    page = audit_service.list_entries(db, actor, audit_service.AuditFilter(action=side.audit_marker))
    return page.total > 0


def _audit_exported(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.audit_marker in "".join(audit_service.export_csv(db, actor, audit_service.AuditFilter()))


def _company_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.company.id in {c.id for c in companies.list_companies(db, actor)}


def _company_viewed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return companies.company_detail(db, actor, side.company.id).name == side.company.name


def _company_deactivated(db: Session, actor: Actor, side: Side, world: World) -> bool:
    companies.set_company_active(db, actor, side.company.id, False)
    db.refresh(side.company)
    return side.company.status.value == "deactivated"


def _outbox_read(db: Session, actor: Actor, side: Side, world: World) -> bool:
    mailer.read_outbox(actor)
    return True


def _billing_viewed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.invoice.id in {i.id for i in billing.list_invoices(db, actor)}


def _billing_managed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    billing.cancel(db, actor)  # always the actor's own company's subscription: no id to aim elsewhere
    return True


def _invoice_downloaded(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return billing.get_invoice(db, actor, side.invoice.id).id == side.invoice.id


def _plan_managed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return not billing.set_plan_active(db, actor, side.plan.id, False).is_active


def _billing_admin(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.company.id in {s.company_id for s in billing.list_subscriptions(db, actor)}


def _payment_recorded(db: Session, actor: Actor, side: Side, world: World) -> bool:
    billing.record_payment(db, actor, side.invoice.id, amount_minor=100, currency="USD")
    return billing.get_invoice(db, world.actor(Role.ADMIN, True), side.invoice.id).paid_minor == 100


def _invoice_voided(db: Session, actor: Actor, side: Side, world: World) -> bool:
    billing.void_invoice(db, actor, side.invoice.id, reason="matrix")
    db.refresh(side.invoice)
    return side.invoice.status.value == "void"


def _board_viewed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    found = tasks.board(db, actor, side.project.id)
    return side.task.title in {card.title for column in found.columns for card in column.cards}


def _task_created(db: Session, actor: Actor, side: Side, world: World) -> bool:
    detail = tasks.create_task(db, actor, side.project.id, TaskFields(title="Matrix task"))
    return db.get(Task, detail.card.id) is not None


def _task_moved(db: Session, actor: Actor, side: Side, world: World) -> bool:
    tasks.move_task(db, actor, side.task.id, side.task.version, TaskStatus.REVIEW)
    db.refresh(side.task)
    return side.task.status is TaskStatus.REVIEW


def _task_deleted(db: Session, actor: Actor, side: Side, world: World) -> bool:
    tasks.delete_task(db, actor, side.task.id, side.task.version)
    return db.exec(select(Task).where(Task.id == side.task.id)).first() is None


def _label_created(db: Session, actor: Actor, side: Side, world: World) -> bool:
    info = tasks.create_label(db, actor, side.project.id, "Matrix label", "#ef4444")
    return db.get(Label, info.id) is not None


def _tasks_exported(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.task.title in tasks.export_csv(db, actor, side.project.id, TaskFilter())


def _my_tasks(db: Session, actor: Actor, side: Side, world: World) -> bool:
    if side is world.own and actor.company_id is not None:  # a task can only be assigned within its company
        side.task.assignee_id = actor.user_id
        db.add(side.task)
        db.flush()
    return side.task.id in {card.id for card in tasks.my_tasks(db, actor)}


def _files_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    listed = side.file.id in {f.id for f in list_files(db, actor, side.project.id)}
    return listed and bool(file_link(db, actor, side.file.id, preview=True))


def _file_uploaded(db: Session, actor: Actor, side: Side, world: World) -> bool:
    target = begin_upload(db, actor, side.project.id, None, 10)
    info = finish_upload(db, actor, target, name="n.txt", content_type="text/plain", size_bytes=10, sha256="0" * 64)
    return info.project_id == side.project.id


def _file_renamed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return rename_file(db, actor, side.file.id, "renamed.pdf").name == "renamed.pdf"


def _storage_seen(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return storage_usage(db, actor).limit_bytes >= 0


def _user(db: Session, actor: Actor) -> User:
    user = db.get(User, actor.user_id)
    assert user is not None
    return user


def _project_created(db: Session, actor: Actor, side: Side, world: World) -> bool:
    detail = work.create_project(db, actor, work.ProjectFields(name="Matrix new", key="MATRIXNEW"))
    return db.get(Project, detail.summary.id) is not None


def _project_edited(db: Session, actor: Actor, side: Side, world: World) -> bool:
    fields = work.ProjectFields(name="Renamed by matrix", key=side.project.key)
    work.update_project(db, actor, side.project.id, fields)
    db.refresh(side.project)
    return side.project.name == "Renamed by matrix"


def _project_archived(db: Session, actor: Actor, side: Side, world: World) -> bool:
    work.set_archived(db, actor, side.project.id, True)
    db.refresh(side.project)
    return side.project.status is ProjectStatus.ARCHIVED


def _project_deleted(db: Session, actor: Actor, side: Side, world: World) -> bool:
    work.delete_project(db, actor, side.project.id, side.project.name)
    db.expire_all()
    return db.get(Project, side.project.id) is None


def _company_projects_viewed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.project.id in {p.id for p in work.operator_company_projects(db, actor, side.company.id)}


def _comments_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    return side.comment.id in {c.id for c in work.list_comments(db, actor, side.task.id)}


def _comment_added(db: Session, actor: Actor, side: Side, world: World) -> bool:
    info = work.add_comment(db, actor, side.task.id, "matrix comment")
    return db.get(TaskComment, info.id) is not None


def _own_comment(db: Session, actor: Actor, side: Side, world: World) -> TaskComment:
    """The actor's own comment on the side's task; the other company's (or, for the operator, who
    can write none) the target's."""
    if side is world.other or actor.company_id is None:
        return side.comment
    return side.own_comment(db, _user(db, actor))


def _comment_edited(db: Session, actor: Actor, side: Side, world: World) -> bool:
    comment = _own_comment(db, actor, side, world)
    work.edit_comment(db, actor, comment.id, "edited by matrix")
    db.refresh(comment)
    return comment.body == "edited by matrix"


def _comment_deleted(db: Session, actor: Actor, side: Side, world: World) -> bool:
    comment = _own_comment(db, actor, side, world)
    work.delete_comment(db, actor, comment.id)
    db.expire_all()
    return db.get(TaskComment, comment.id) is None


def _notification_listed(db: Session, actor: Actor, side: Side, world: World) -> bool:
    target = side.notification_of(db, _user(db, actor))
    return target.id in {n.id for n in work.list_notifications(db, actor)}


def _notification_read(db: Session, actor: Actor, side: Side, world: World) -> bool:
    target = side.notification_of(db, _user(db, actor))
    work.mark_read(db, actor, target.id)
    db.refresh(target)
    return target.read_at is not None


def _email_switched(db: Session, actor: Actor, side: Side, world: World) -> bool:
    work.set_email_notifications(db, actor, False)
    return not _user(db, actor).email_notifications


def _home(db: Session, actor: Actor, side: Side, world: World) -> bool:
    authorize(actor, Action.HOME_VIEW)
    return True


CASES: dict[Action, Case] = {
    Action.HOME_VIEW: Case(_home, targeted=False),
    Action.SESSION_LIST: Case(_session_listed),
    Action.SESSION_REVOKE: Case(_session_revoked),
    Action.PASSWORD_CHANGE: Case(_password_changed, targeted=False),
    Action.TWO_FACTOR_MANAGE: Case(_trusted_browser_revoked),
    Action.PROJECT_LIST: Case(_project_listed),
    Action.PROJECT_CREATE: Case(_project_created, targeted=False),
    Action.PROJECT_EDIT: Case(_project_edited),
    Action.PROJECT_ARCHIVE: Case(_project_archived),
    Action.PROJECT_DELETE: Case(_project_deleted),
    Action.PROJECT_MEMBERS_EDIT: Case(_members_edited),
    Action.BOARD_VIEW: Case(_board_viewed),
    Action.TASK_CREATE: Case(_task_created),
    Action.TASK_EDIT: Case(_task_moved),
    Action.TASK_DELETE: Case(_task_deleted),
    Action.LABEL_EDIT: Case(_label_created),
    Action.TASK_EXPORT: Case(_tasks_exported),
    Action.MY_TASKS: Case(_my_tasks),
    Action.FILE_VIEW: Case(_files_listed),
    Action.FILE_UPLOAD: Case(_file_uploaded),
    Action.FILE_EDIT: Case(_file_renamed),
    Action.STORAGE_VIEW: Case(_storage_seen, targeted=False),
    Action.COMMENT_LIST: Case(_comments_listed),
    Action.COMMENT_ADD: Case(_comment_added),
    Action.COMMENT_EDIT: Case(_comment_edited),
    Action.COMMENT_DELETE: Case(_comment_deleted),
    Action.NOTIFICATION_LIST: Case(_notification_listed),
    Action.NOTIFICATION_READ: Case(_notification_read),
    Action.NOTIFICATION_EMAIL_SET: Case(_email_switched, targeted=False),
    Action.TEAM_VIEW: Case(_member_listed),
    Action.MEMBER_INVITE: Case(_invited),
    Action.MEMBER_CHANGE_ROLE: Case(_role_changed),
    Action.MEMBER_SET_ACTIVE: Case(_deactivated),
    Action.INVITE_RESEND: Case(_invite_resent),
    Action.INVITE_REVOKE: Case(_invite_revoked),
    Action.COMPANY_SECURITY_EDIT: Case(_two_factor_required),
    Action.AUDIT_VIEW: Case(_audit_listed),
    Action.AUDIT_EXPORT: Case(_audit_exported),
    Action.COMPANY_LIST: Case(_company_listed),
    Action.COMPANY_VIEW: Case(_company_viewed),
    Action.COMPANY_SET_ACTIVE: Case(_company_deactivated),
    Action.COMPANY_PROJECTS_VIEW: Case(_company_projects_viewed),
    Action.OUTBOX_VIEW: Case(_outbox_read, targeted=False),
    Action.BILLING_VIEW: Case(_billing_viewed),
    Action.BILLING_MANAGE: Case(_billing_managed, targeted=False),
    Action.INVOICE_DOWNLOAD: Case(_invoice_downloaded),
    Action.PLAN_MANAGE: Case(_plan_managed, targeted=False),
    Action.BILLING_ADMIN: Case(_billing_admin),
    Action.PAYMENT_RECORD: Case(_payment_recorded),
    Action.INVOICE_VOID: Case(_invoice_voided),
}


def expected(action: Action, role: Role, own: bool, member: bool) -> bool:
    """What the policy table says should happen."""
    scope = RULES[action].get(role)
    if scope is None:
        return False
    if scope is Scope.ALL or not CASES[action].targeted:
        return True
    if not own:
        return False
    return member if scope is Scope.PROJECTS else True


def test_every_action_has_a_case() -> None:
    assert set(CASES) == set(Action)


COMBINATIONS = [
    pytest.param(
        action,
        role,
        own,
        member,
        id=f"{action.value}-{role.value}-{'own' if own else 'other'}-{'member' if member else 'outsider'}",
    )
    for action in Action
    for role in Role
    for own in (True, False)
    for member in (True, False)
    if member or role in (Role.WORKER, Role.CLIENT)  # membership only changes workers and clients
]


@pytest.fixture
def outbox_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "outbox")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(("action", "role", "own", "member"), COMBINATIONS)
def test_service_layer_matches_policy(
    db: Session, outbox_mail: None, action: Action, role: Role, own: bool, member: bool
) -> None:
    from services.core import throttle

    throttle.clear_all()
    world = build_world(db)
    actor = world.actor(role, member)
    try:
        with db.begin_nested():
            reached = CASES[action].run(db, actor, world.side(own), world)
    except (PermissionDenied, NotFound):
        reached = False
    assert reached == expected(action, role, own, member)
    if not reached:
        # A refused write leaves the other company's rows exactly as they were.
        other = world.other
        db.refresh(other.target)
        db.refresh(other.invitation)
        db.refresh(other.company)
        assert other.target.is_active and other.target.role is Role.WORKER
        assert other.invitation.revoked_at is None and other.company.status.value == "active"
        assert not other.company.require_two_factor
        assert db.exec(select(UserSession).where(UserSession.id == other.target_session.id)).one().revoked_at is None
        db.refresh(other.invoice)
        db.refresh(other.subscription)
        assert other.invoice.status.value == "open" and not other.subscription.cancel_at_period_end
        assert billing.get_invoice(db, world.actor(Role.ADMIN, True), other.invoice.id).paid_minor == 0
        db.refresh(other.project)
        db.refresh(other.comment)
        assert other.project.name.startswith("Other Co") and other.project.status is ProjectStatus.ACTIVE
        assert other.comment.body.startswith("comment ")
        assert db.get(Notification, other.notification.id) is not None
