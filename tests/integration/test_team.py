"""The manager's team page on the real database: members, invitations, roles, activation, project members.

Role changes and deactivation end the target's sessions (checked by resolving a real session token
and logging in); a company always keeps an active manager; every id of another company is NotFound.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from dashboard.state.args import enum_arg, uuid_arg
from models import AuditLog, Company, ProjectMember, Role, User
from services.core import clock
from services.core.actor import Actor
from services.core.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, ValidationFailed
from services.core.passwords import hash_password
from services.identity import auth
from services.identity.auth import actor_for
from services.people import INVITABLE_ROLES, team
from tests.factories import add_member, make_admin, make_company, make_invitation, make_project, make_user

pytestmark = pytest.mark.integration

# Logins come from an address of their own, so this module's failed logins never throttle another's.
LOGIN_IP = f"2001:db8::{secrets.token_hex(2)}"

PASSWORD = "Team-member-passphrase-1"


class World:
    def __init__(self, db: Session) -> None:
        self.db = db
        password_hash = hash_password(PASSWORD)
        self.acme = make_company(db, "Acme")
        self.globex = make_company(db, "Globex")
        self.manager = make_user(db, self.acme, Role.MANAGER, full_name="Ann Manager", password_hash=password_hash)
        self.manager2 = make_user(db, self.acme, Role.MANAGER, full_name="Bob Manager", password_hash=password_hash)
        self.worker = make_user(db, self.acme, Role.WORKER, full_name="Cid Worker", password_hash=password_hash)
        self.client = make_user(db, self.acme, Role.CLIENT, full_name="Dee Client", password_hash=password_hash)
        self.site = make_project(db, self.acme, "Website")
        self.app = make_project(db, self.acme, "App")
        add_member(db, self.site, self.worker)
        add_member(db, self.site, self.client)
        self.g_manager = make_user(db, self.globex, Role.MANAGER)
        self.g_worker = make_user(db, self.globex, Role.WORKER)
        self.g_project = make_project(db, self.globex, "Warehouse")
        self.admin = make_admin(db)

    def actor(self, user: User) -> Actor:
        company = self.db.get(Company, user.company_id) if user.company_id else None
        return actor_for(user, company)

    @property
    def m(self) -> Actor:
        return self.actor(self.manager)


@pytest.fixture
def world(db: Session) -> World:
    return World(db)


def logged_in(world: World, user: User) -> str:
    token, _ = auth.login(world.db, user.email, PASSWORD, ip=LOGIN_IP)
    assert auth.resolve_session(world.db, token) is not None
    return token


def audit_rows(db: Session, action: str, target_id: uuid.UUID) -> list[AuditLog]:
    return list(db.exec(select(AuditLog).where(AuditLog.action == action, AuditLog.target_id == str(target_id))).all())


# ---- reading ------------------------------------------------------------------------------------


def test_list_members_shows_own_company_with_projects(world: World) -> None:
    members = team.list_members(world.db, world.m)
    assert [m.full_name for m in members] == ["Ann Manager", "Bob Manager", "Cid Worker", "Dee Client"]
    by_id = {m.id: m for m in members}
    assert by_id[world.worker.id].project_ids == (world.site.id,)
    assert by_id[world.manager.id].project_ids == ()
    assert by_id[world.client.id].role is Role.CLIENT and by_id[world.client.id].is_active
    assert world.g_manager.id not in by_id and world.admin.id not in by_id


def test_list_invitations_flags_expired_and_hides_used_ones(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    now = clock.now()
    fresh = make_invitation(world.db, world.acme, invited_by=world.manager, created_at=now)
    old = make_invitation(world.db, world.acme, expires_at=now - timedelta(days=1), created_at=now - timedelta(days=8))
    make_invitation(world.db, world.acme, accepted_at=now)
    make_invitation(world.db, world.acme, revoked_at=now)
    make_invitation(world.db, world.globex)
    listed = team.list_invitations(world.db, world.m)
    assert [(i.id, i.pending, i.expired) for i in listed] == [(fresh.id, True, False), (old.id, False, True)]


@pytest.mark.parametrize("who", ["worker", "client", "admin"])
def test_only_managers_use_the_team_page(world: World, who: str) -> None:
    actor = world.actor({"worker": world.worker, "client": world.client, "admin": world.admin}[who])
    calls: list[Callable[[], object]] = [
        lambda: team.list_members(world.db, actor),
        lambda: team.list_invitations(world.db, actor),
        lambda: team.change_role(world.db, actor, world.worker.id, Role.CLIENT),
        lambda: team.set_active(world.db, actor, world.worker.id, False),
        lambda: team.set_project_members(world.db, actor, world.site.id, [world.worker.id]),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    refreshed = world.db.get(User, world.worker.id)
    assert refreshed is not None and refreshed.role is Role.WORKER and refreshed.is_active


# ---- roles ----------------------------------------------------------------------------------------


def test_change_role_ends_the_members_sessions_and_is_audited(world: World) -> None:
    token = logged_in(world, world.worker)
    info = team.change_role(world.db, world.m, world.worker.id, Role.CLIENT)
    assert info.role is Role.CLIENT
    assert auth.resolve_session(world.db, token) is None
    (entry,) = audit_rows(world.db, "member_role_changed", world.worker.id)
    assert entry.company_id == world.acme.id and entry.actor_user_id == world.manager.id
    assert entry.changes["role"] == {"from": "worker", "to": "client"}
    assert entry.changes["sessions_revoked"] == 1
    # They can log in again, with the new role.
    _, actor = auth.login(world.db, world.worker.email, PASSWORD, ip=LOGIN_IP)
    assert actor.role is Role.CLIENT


def test_same_role_changes_nothing(world: World) -> None:
    token = logged_in(world, world.worker)
    team.change_role(world.db, world.m, world.worker.id, Role.WORKER)
    assert auth.resolve_session(world.db, token) is not None
    assert audit_rows(world.db, "member_role_changed", world.worker.id) == []


@pytest.mark.parametrize("role", [Role.ADMIN, "admin", "owner", ""])
def test_admin_or_unknown_roles_are_refused(world: World, role: Role | str) -> None:
    # The browser's text becomes a Role at the edge (or is refused there); the service refuses admin itself.
    with pytest.raises(ValidationFailed):
        typed = role if isinstance(role, Role) else enum_arg(role, INVITABLE_ROLES)
        team.change_role(world.db, world.m, world.worker.id, typed)


def test_nobody_changes_their_own_role(world: World) -> None:
    with pytest.raises(PermissionDenied, match=r"^error\.cannot_change_own_role$"):
        team.change_role(world.db, world.m, world.manager.id, Role.WORKER)


def test_the_last_active_manager_stays(world: World) -> None:
    stale_bob = world.actor(world.manager2)  # Bob's actor, built before Ann demotes him
    team.change_role(world.db, world.m, world.manager2.id, Role.WORKER)
    # Bob, acting on a stale screen, cannot demote or deactivate Ann, now the only manager.
    with pytest.raises(Conflict, match=r"^error\.last_manager$"):
        team.change_role(world.db, stale_bob, world.manager.id, Role.WORKER)
    with pytest.raises(Conflict, match=r"^error\.last_manager$"):
        team.set_active(world.db, stale_bob, world.manager.id, False)
    # An inactive manager does not count as the one that stays.
    team.change_role(world.db, world.m, world.manager2.id, Role.MANAGER)
    team.set_active(world.db, world.m, world.manager2.id, False)
    with pytest.raises(Conflict, match=r"^error\.last_manager$"):
        team.change_role(world.db, stale_bob, world.manager.id, Role.CLIENT)
    ann = world.db.get(User, world.manager.id)
    assert ann is not None and ann.role is Role.MANAGER and ann.is_active


# ---- activation -----------------------------------------------------------------------------------


def test_deactivation_ends_sessions_and_login_and_reactivation_restores_login(world: World) -> None:
    token = logged_in(world, world.client)
    info = team.set_active(world.db, world.m, world.client.id, False)
    assert not info.is_active
    assert auth.resolve_session(world.db, token) is None
    with pytest.raises(AuthenticationFailed):
        auth.login(world.db, world.client.email, PASSWORD, ip=LOGIN_IP)
    (entry,) = audit_rows(world.db, "member_deactivated", world.client.id)
    assert entry.changes["is_active"] == {"from": True, "to": False} and entry.changes["sessions_revoked"] == 1

    assert team.set_active(world.db, world.m, world.client.id, True).is_active
    assert auth.resolve_session(world.db, token) is None  # old sessions stay dead
    _, actor = auth.login(world.db, world.client.email, PASSWORD, ip=LOGIN_IP)
    assert actor.user_id == world.client.id
    assert len(audit_rows(world.db, "member_reactivated", world.client.id)) == 1


def test_nobody_deactivates_themselves(world: World) -> None:
    with pytest.raises(PermissionDenied, match=r"^error\.cannot_deactivate_self$"):
        team.set_active(world.db, world.m, world.manager.id, False)
    assert team.set_active(world.db, world.m, world.manager.id, True).is_active  # a no-op


def test_deactivating_another_manager_is_fine_while_one_stays(world: World) -> None:
    token = logged_in(world, world.manager2)
    team.set_active(world.db, world.m, world.manager2.id, False)
    assert auth.resolve_session(world.db, token) is None


# ---- project members ------------------------------------------------------------------------------


def test_set_project_members_adds_removes_and_audits(world: World) -> None:
    change = team.set_project_members(world.db, world.m, world.site.id, [world.worker.id, world.worker.id])
    assert change.added == () and change.removed == (world.client.id,) and change.member_ids == (world.worker.id,)
    other_worker = make_user(world.db, world.acme, Role.WORKER)
    change = team.set_project_members(world.db, world.m, world.site.id, [world.client.id, other_worker.id])
    assert set(change.added) == {world.client.id, other_worker.id} and change.removed == (world.worker.id,)
    members = world.db.exec(select(ProjectMember.user_id).where(ProjectMember.project_id == world.site.id)).all()
    assert set(members) == {world.client.id, other_worker.id}
    entries = audit_rows(world.db, "project_members_changed", world.site.id)
    assert len(entries) == 2 and entries[0].company_id == world.acme.id
    assert entries[0].changes["removed"] == [str(world.client.id)]
    # Nothing to change: nothing logged.
    team.set_project_members(world.db, world.m, world.site.id, [world.client.id, other_worker.id])
    assert len(audit_rows(world.db, "project_members_changed", world.site.id)) == 2
    assert team.set_project_members(world.db, world.m, world.site.id, []).member_ids == ()


def test_only_workers_and_clients_are_project_members(world: World) -> None:
    with pytest.raises(ValidationFailed):
        team.set_project_members(world.db, world.m, world.app.id, [world.worker.id, world.manager2.id])
    assert world.db.exec(select(ProjectMember).where(ProjectMember.project_id == world.app.id)).first() is None


# ---- tenant isolation -----------------------------------------------------------------------------


def test_another_companys_ids_are_not_found(world: World) -> None:
    db, m = world.db, world.m
    # Ids as the browser sends them: parsed at the edge (uuid_arg), then looked up by the service.
    foreign_users = [world.g_worker.id, world.g_manager.id, world.admin.id, uuid.uuid4(), "not-a-uuid"]
    for user_id in map(str, foreign_users):
        for call in (
            lambda u=user_id: team.change_role(db, m, uuid_arg(u), Role.CLIENT),
            lambda u=user_id: team.set_active(db, m, uuid_arg(u), False),
            lambda u=user_id: team.set_project_members(db, m, world.site.id, [world.worker.id, uuid_arg(u)]),
        ):
            with pytest.raises(NotFound) as failure:
                call()
            assert failure.value.message == "error.not_found"
    for project_id in map(str, (world.g_project.id, uuid.uuid4(), "nope")):
        with pytest.raises(NotFound):
            team.set_project_members(db, m, uuid_arg(project_id), [world.worker.id])
    with pytest.raises(NotFound):  # a foreign project, even with a foreign member list
        team.set_project_members(db, m, world.g_project.id, [world.g_worker.id])
    g_worker = db.get(User, world.g_worker.id)
    assert g_worker is not None and g_worker.role is Role.WORKER and g_worker.is_active
    assert db.exec(select(ProjectMember).where(ProjectMember.project_id == world.g_project.id)).first() is None
