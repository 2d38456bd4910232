"""A manager's view of their company's people: members, pending invitations, roles, activation and
who is on which project.

Every user or project id is looked up inside the actor's company (services.core.access): another
company's id is `NotFound`, exactly like a missing one. A company always keeps at least one active manager, and
nobody changes their own role or deactivates themselves (the lock-out would need the operator).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import Invitation, Project, ProjectMember, Role, User
from services import audit, billing, identity, work
from services.audit import AuditAction, AuditTarget
from services.core import clock
from services.core.access import access_all_by_id, access_by_id, company_id_of, in_scope
from services.core.actor import Actor
from services.core.errors import Conflict, PermissionDenied, ValidationFailed
from services.core.policy import Action, authorize
from services.people.invitations import InvitationInfo, invitation_info, require_invitable_role

PROJECT_MEMBER_ROLES = (Role.WORKER, Role.CLIENT)
MAX_PROJECT_MEMBERS = 1000


@dataclass(frozen=True)
class MemberInfo:
    id: uuid.UUID
    full_name: str
    email: str
    role: Role
    is_active: bool
    last_login_at: datetime | None
    project_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class ProjectMembersChange:
    project_id: uuid.UUID
    member_ids: tuple[uuid.UUID, ...]  # after the change
    added: tuple[uuid.UUID, ...]
    removed: tuple[uuid.UUID, ...]


# ---- reading ----------------------------------------------------------------------------------


def list_members(session: Session, actor: Actor) -> list[MemberInfo]:
    """Everyone in the actor's company, active or not, by name."""
    users = session.exec(
        select(User)
        .where(in_scope(actor, Action.TEAM_VIEW, User))
        .order_by(sa.func.lower(User.full_name), col(User.email))
    ).all()
    memberships: dict[uuid.UUID, list[uuid.UUID]] = {}
    for user_id, project_id in session.exec(
        select(ProjectMember.user_id, ProjectMember.project_id)
        .where(in_scope(actor, Action.TEAM_VIEW, ProjectMember))
        .order_by(col(ProjectMember.created_at), col(ProjectMember.project_id))
    ).all():
        memberships.setdefault(user_id, []).append(project_id)
    return [_member_info(user, memberships.get(user.id, [])) for user in users]


def list_invitations(session: Session, actor: Actor) -> list[InvitationInfo]:
    """Invitations not yet accepted or revoked, newest first; `expired` ones can be resent."""
    rows = session.exec(
        select(Invitation)
        .where(
            in_scope(actor, Action.TEAM_VIEW, Invitation),
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
        .order_by(col(Invitation.created_at).desc())
    ).all()
    now = clock.now()
    return [invitation_info(row, now) for row in rows]


# ---- changing people ----------------------------------------------------------------------------


def change_role(session: Session, actor: Actor, user_id: uuid.UUID, role: Role) -> MemberInfo:
    """Make a member manager, worker or client. Their sessions end (their rights just changed)."""
    action = Action.MEMBER_CHANGE_ROLE
    authorize(actor, action)
    require_invitable_role(role)
    if user_id == actor.user_id:
        raise PermissionDenied("error.cannot_change_own_role")
    managers = _lock_active_managers(session, actor, action)
    user = access_by_id(session, actor, action, User, user_id, for_update=True)
    if user.role is role:
        return _member_view(session, user)
    if user.role is Role.MANAGER and user.is_active:
        _keep_an_active_manager(managers, leaving=user.id)
    before = audit.snapshot(user, ["role"])
    user.role = role
    session.add(user)
    session.flush()
    revoked = identity.revoke_user_sessions(session, user.id, reason="role_changed", actor=actor)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        company_id=user.company_id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={
            "email": user.email,
            **audit.diff(before, audit.snapshot(user, ["role"])),
            "sessions_revoked": revoked,
        },
    )
    return _member_view(session, user)


def set_active(session: Session, actor: Actor, user_id: uuid.UUID, active: bool) -> MemberInfo:
    """Deactivate (sessions end, login refused) or reactivate a member."""
    action = Action.MEMBER_SET_ACTIVE
    authorize(actor, action)
    if user_id == actor.user_id and not active:
        raise PermissionDenied("error.cannot_deactivate_self")
    managers = _lock_active_managers(session, actor, action)
    user = access_by_id(session, actor, action, User, user_id, for_update=True)
    if user.is_active is active:
        return _member_view(session, user)
    if not active and user.role is Role.MANAGER:
        _keep_an_active_manager(managers, leaving=user.id)
    if active:
        billing.check_seat_limit(session, company_id_of(actor))
    before = audit.snapshot(user, ["is_active"])
    user.is_active = active
    session.add(user)
    session.flush()
    changes: dict[str, Any] = {"email": user.email, **audit.diff(before, audit.snapshot(user, ["is_active"]))}
    if not active:
        changes["sessions_revoked"] = identity.revoke_user_sessions(session, user.id, reason="deactivated", actor=actor)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.MEMBER_REACTIVATED if active else AuditAction.MEMBER_DEACTIVATED,
        company_id=user.company_id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes=changes,
    )
    return _member_view(session, user)


def set_project_members(
    session: Session, actor: Actor, project_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> ProjectMembersChange:
    """Make exactly `user_ids` (workers and clients of the company) the project's members."""
    action = Action.PROJECT_MEMBERS_EDIT
    authorize(actor, action)
    wanted = list(dict.fromkeys(user_ids))
    if len(wanted) > MAX_PROJECT_MEMBERS:
        raise ValidationFailed("error.too_many_members")
    # Locking the project serializes two managers editing the same member list; an archived
    # project is read-only, its members included.
    project = work.project_for_work(session, actor, action, project_id, for_update=True)
    users = access_all_by_id(session, actor, action, User, wanted)
    if any(user.role not in PROJECT_MEMBER_ROLES for user in users):
        raise ValidationFailed("error.project_members_workers_clients_only")

    current = set(_member_ids(session, project))
    added = [u for u in wanted if u not in current]
    removed = sorted(current - set(wanted), key=str)
    now = clock.now()
    for user_id in added:
        session.add(
            ProjectMember(project_id=project.id, user_id=user_id, company_id=project.company_id, created_at=now)
        )
    if removed:
        session.execute(
            sa.delete(ProjectMember).where(
                col(ProjectMember.company_id) == project.company_id,
                col(ProjectMember.project_id) == project.id,
                col(ProjectMember.user_id).in_(removed),
            )
        )
    session.flush()
    if added or removed:
        audit.record(
            session,
            actor=actor,
            action=AuditAction.PROJECT_MEMBERS_CHANGED,
            company_id=project.company_id,
            target_type=AuditTarget.PROJECT,
            target_id=project.id,
            changes={"project": project.name, "added": added, "removed": removed},
        )
    return ProjectMembersChange(
        project_id=project.id,
        member_ids=tuple(_member_ids(session, project)),
        added=tuple(added),
        removed=tuple(removed),
    )


# ---- internals ----------------------------------------------------------------------------------


def _lock_active_managers(session: Session, actor: Actor, action: Action) -> list[uuid.UUID]:
    """The company's active managers, their rows locked in id order *before* the target's row.

    Every role or activation change takes these locks first, so two managers demoting or
    deactivating each other at the same moment are serialized (no deadlock), and the second one
    sees the first's change when it counts."""
    return list(
        session.exec(
            select(User.id)
            .where(in_scope(actor, action, User), User.role == Role.MANAGER, col(User.is_active).is_(True))
            .order_by(col(User.id))
            .with_for_update()
        ).all()
    )


def _keep_an_active_manager(active_managers: list[uuid.UUID], *, leaving: uuid.UUID) -> None:
    """Conflict("error.last_manager") when `leaving` is the company's last active manager."""
    if not [m for m in active_managers if m != leaving]:
        raise Conflict("error.last_manager")


def _member_ids(session: Session, project: Project) -> list[uuid.UUID]:
    return list(
        session.exec(
            select(ProjectMember.user_id)
            .where(ProjectMember.company_id == project.company_id, ProjectMember.project_id == project.id)
            .order_by(col(ProjectMember.created_at), col(ProjectMember.user_id))
        ).all()
    )


def _member_view(session: Session, user: User) -> MemberInfo:
    """One member with their projects (what the changes return; `list_members` groups them instead)."""
    project_ids = session.exec(
        select(ProjectMember.project_id)
        .where(ProjectMember.company_id == user.company_id, ProjectMember.user_id == user.id)
        .order_by(col(ProjectMember.created_at), col(ProjectMember.project_id))
    ).all()
    return _member_info(user, list(project_ids))


def _member_info(user: User, project_ids: list[uuid.UUID]) -> MemberInfo:
    return MemberInfo(
        id=user.id,
        full_name=user.full_name,
        email=user.email,
        role=Role(user.role),
        is_active=user.is_active,
        last_login_at=user.last_login_at,
        project_ids=tuple(project_ids),
    )
