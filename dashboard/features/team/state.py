"""The manager's team page: members, pending invitations, project membership.

Each handler calls one service function. Changes update the rows in place from what the service
returns (no reload), so the outcome message of the call stays visible.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from dashboard.state.args import bool_arg, enum_arg, form_arg, prefixed_ids, text_arg, uuid_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.rows import when
from services import people
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action
from services.identity import MAX_EMAIL_LENGTH
from services.people import INVITABLE_ROLES, PROJECT_MEMBER_ROLES, InvitationInfo, MemberInfo
from services.work import list_projects

ROLE_CHOICES = [r.value for r in INVITABLE_ROLES]
MEMBER_BOX = "member:"  # checkbox names of the membership form: member:<user id>
PROJECT_BOX = "project:"  # checkbox names of the invite form: project:<project id>


@dataclasses.dataclass
class MemberRow:
    id: str
    name: str
    email: str
    role: str
    active: bool
    last_login: str
    project_ids: list[str]
    assignable: bool  # workers and clients can be put on projects


@dataclasses.dataclass
class InvitationRow:
    id: str
    email: str
    role: str
    sent: str
    expires: str
    expired: bool


@dataclasses.dataclass
class ProjectOption:
    id: str
    name: str


def _member_row(member: MemberInfo) -> MemberRow:
    return MemberRow(
        id=str(member.id),
        name=member.full_name,
        email=member.email,
        role=member.role.value,
        active=member.is_active,
        last_login=when(member.last_login_at),
        project_ids=[str(p) for p in member.project_ids],
        assignable=member.role in PROJECT_MEMBER_ROLES,
    )


def _with_membership(row: MemberRow, project_id: str, member: bool) -> MemberRow:
    others = [p for p in row.project_ids if p != project_id]
    return dataclasses.replace(row, project_ids=[*others, project_id] if member else others)


def _invitation_row(info: InvitationInfo) -> InvitationRow:
    return InvitationRow(
        id=str(info.id),
        email=info.email,
        role=info.role.value,
        sent=when(info.created_at),
        expires=when(info.expires_at),
        expired=info.expired,
    )


class TeamState(AuthState):
    members: rx.Field[list[MemberRow]] = rx.field(default_factory=list)
    invitations: rx.Field[list[InvitationRow]] = rx.field(default_factory=list)
    projects: rx.Field[list[ProjectOption]] = rx.field(default_factory=list)
    loaded: bool = False
    invites_sent: int = 0

    @rx.var
    def project_names(self) -> dict[str, str]:
        return {p.id: p.name for p in self.projects}

    @rx.var
    def assignable_members(self) -> list[MemberRow]:
        return [m for m in self.members if m.assignable]

    # ---- reading (the page's on_load runs all three, members last) -------------------------
    @requires(Action.TEAM_VIEW)
    def load_projects(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            projects = list_projects(session, actor)
        self.projects = [ProjectOption(id=str(p.id), name=p.name) for p in projects]

    @requires(Action.TEAM_VIEW)
    def load_invitations(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            pending = people.list_invitations(session, actor)
        self.invitations = [_invitation_row(i) for i in pending]

    @requires(Action.TEAM_VIEW)
    def load_members(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            members = people.list_members(session, actor)
        self.members = [_member_row(m) for m in members]
        self.loaded = True

    # ---- members -------------------------------------------------------------------------

    def _replace_member(self, member: MemberInfo) -> None:
        row = _member_row(member)
        self.members = [row if m.id == row.id else m for m in self.members]

    @requires(Action.MEMBER_CHANGE_ROLE)
    def change_role(self, actor: Actor, user_id: str, role: str) -> None:
        new_role = enum_arg(role, INVITABLE_ROLES)
        target = uuid_arg(user_id)
        with tenant_scope(actor) as session:
            member = people.change_role(session, actor, target, new_role)
        self._replace_member(member)
        self.notice_key = "team.role_changed"

    @requires(Action.MEMBER_SET_ACTIVE)
    def set_active(self, actor: Actor, user_id: str, active: bool) -> None:
        active = bool_arg(active)
        target = uuid_arg(user_id)
        with tenant_scope(actor) as session:
            member = people.set_active(session, actor, target, active)
        self._replace_member(member)
        self.notice_key = "team.reactivated" if active else "team.deactivated"

    @requires(Action.PROJECT_MEMBERS_EDIT)
    def save_project_members(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        project_id = uuid_arg(fields.get("project_id", ""))
        wanted = prefixed_ids(fields, MEMBER_BOX)
        with tenant_scope(actor) as session:
            change = people.set_project_members(session, actor, project_id, wanted)
        pid, on_project = str(change.project_id), {str(u) for u in change.member_ids}
        self.members = [_with_membership(m, pid, m.id in on_project) for m in self.members]
        self.notice_key = "team.project_members_saved"

    # ---- invitations ---------------------------------------------------------------------
    @requires(Action.MEMBER_INVITE)
    def invite(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        email = text_arg(fields.get("email", ""), MAX_EMAIL_LENGTH)
        role = enum_arg(fields.get("role", ""), INVITABLE_ROLES)
        projects = prefixed_ids(fields, PROJECT_BOX)
        with tenant_scope(actor) as session:
            info = people.invite(session, actor, email=email, role=role, project_ids=projects)
        # A newer invitation replaces the pending one for the same address.
        self.invitations = [_invitation_row(info), *[i for i in self.invitations if i.email != info.email]]
        self.invites_sent += 1
        self.notice_key = "team.invited"

    @requires(Action.INVITE_RESEND)
    def resend_invitation(self, actor: Actor, invitation_id: str) -> None:
        target = uuid_arg(invitation_id)
        with tenant_scope(actor) as session:
            info = people.resend(session, actor, target)
        row = _invitation_row(info)
        self.invitations = [row if i.id == row.id else i for i in self.invitations]
        self.notice_key = "team.invite_resent"

    @requires(Action.INVITE_REVOKE)
    def revoke_invitation(self, actor: Actor, invitation_id: str) -> None:
        target = uuid_arg(invitation_id)
        with tenant_scope(actor) as session:
            info = people.revoke(session, actor, target)
        self.invitations = [i for i in self.invitations if i.id != str(info.id)]
        self.notice_key = "team.invite_revoked"
