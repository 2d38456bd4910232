"""services.core.access on the real database: a tenant row by id, only where the actor may look.

Own rows are found; another company's row, another user's session and an id that names nothing are
all the same NotFound, in every policy scope; `for_update=True` really holds a row lock. And from
the browser's side: a malformed id, a random one and another company's get the same answer
through the handler argument parser and the service.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from dashboard.state.args import enum_arg, form_arg, prefixed_ids, uuid_arg
from models import Company, Invitation, Project, Role, Task, User, UserSession
from services.core.access import access_all_by_id, access_by_id, company_id_of, in_scope
from services.core.actor import Actor
from services.core.errors import NotFound, PermissionDenied, ServiceError
from services.core.policy import Action
from services.identity import auth
from services.people import INVITABLE_ROLES, invitations, team
from services.tenants import companies
from tests.conftest import RLS_BYPASS_SQL
from tests.factories import (
    add_member,
    make_admin,
    make_company,
    make_invitation,
    make_project,
    make_session,
    make_task,
    make_user,
)

pytestmark = pytest.mark.integration

MALFORMED: tuple[Any, ...] = ("not-a-uuid", "", "   ", "1234", "x" * 65, None, 42, ["a", "list"], {"id": "x"})


def actor_of(user: User, company: Company | None = None) -> Actor:
    return auth.actor_for(user, company)


@dataclass
class Side:
    company: Company
    manager: User
    worker_in: User  # on the project
    worker_out: User  # on no project
    project: Project
    task: Task
    invitation: Invitation
    session: UserSession  # worker_in's


@dataclass
class World:
    db: Session
    own: Side
    other: Side
    admin: User

    @property
    def manager(self) -> Actor:
        return actor_of(self.own.manager, self.own.company)


def build_side(db: Session, name: str) -> Side:
    company = make_company(db, name)
    manager = make_user(db, company, Role.MANAGER)
    worker_in, worker_out = make_user(db, company, Role.WORKER), make_user(db, company, Role.WORKER)
    project = make_project(db, company, f"{name} site")
    add_member(db, project, worker_in)
    return Side(
        company=company,
        manager=manager,
        worker_in=worker_in,
        worker_out=worker_out,
        project=project,
        task=make_task(db, project),
        invitation=make_invitation(db, company, manager),
        session=make_session(db, worker_in),
    )


@pytest.fixture
def world(db: Session) -> World:
    return World(db, build_side(db, "Acme"), build_side(db, "Globex"), make_admin(db))


# ---- one row --------------------------------------------------------------------------------------


def test_own_company_rows_are_found(world: World) -> None:
    db, m, own = world.db, world.manager, world.own
    assert access_by_id(db, m, Action.MEMBER_CHANGE_ROLE, User, own.worker_in.id).id == own.worker_in.id
    assert access_by_id(db, m, Action.INVITE_REVOKE, Invitation, own.invitation.id).id == own.invitation.id
    assert access_by_id(db, m, Action.PROJECT_MEMBERS_EDIT, Project, own.project.id).id == own.project.id
    assert access_by_id(db, m, Action.MEMBER_INVITE, Company, own.company.id).id == own.company.id


def test_another_companys_row_and_a_missing_id_are_the_same_not_found(world: World) -> None:
    db, m, other = world.db, world.manager, world.other
    cases: list[tuple[Action, type[Any], uuid.UUID]] = [
        (Action.MEMBER_CHANGE_ROLE, User, other.worker_in.id),
        (Action.MEMBER_CHANGE_ROLE, User, world.admin.id),  # the operator belongs to no company
        (Action.INVITE_REVOKE, Invitation, other.invitation.id),
        (Action.PROJECT_MEMBERS_EDIT, Project, other.project.id),
        (Action.MEMBER_INVITE, Company, other.company.id),
    ]
    for action, model, foreign_id in cases:
        answers = []
        for row_id in (foreign_id, uuid.uuid4()):
            for for_update in (False, True):
                with pytest.raises(NotFound) as failure:
                    access_by_id(db, m, action, model, row_id, for_update=for_update)
                answers.append((type(failure.value), failure.value.message))
        assert answers == [(NotFound, "error.not_found")] * 4, (model, answers)


def test_the_operator_reaches_every_company_and_only_existing_ones(world: World) -> None:
    admin = actor_of(world.admin)
    for side in (world.own, world.other):
        assert access_by_id(world.db, admin, Action.COMPANY_VIEW, Company, side.company.id).name == side.company.name
    with pytest.raises(NotFound):
        access_by_id(world.db, admin, Action.COMPANY_SET_ACTIVE, Company, uuid.uuid4(), for_update=True)


def test_own_sessions_only(world: World) -> None:
    worker = actor_of(world.own.worker_in, world.own.company)
    own = access_by_id(world.db, worker, Action.SESSION_REVOKE, UserSession, world.own.session.id)
    assert own.user_id == world.own.worker_in.id
    colleague = make_session(world.db, world.own.worker_out)
    for session_id in (colleague.id, world.other.session.id, uuid.uuid4()):
        with pytest.raises(NotFound):
            access_by_id(world.db, worker, Action.SESSION_REVOKE, UserSession, session_id)


def test_project_scope_is_the_members_projects(world: World) -> None:
    db, own = world.db, world.own
    second = make_project(db, own.company, "Not theirs")
    member, outsider = actor_of(own.worker_in, own.company), actor_of(own.worker_out, own.company)
    assert access_by_id(db, member, Action.PROJECT_LIST, Project, own.project.id).id == own.project.id
    assert access_by_id(db, member, Action.PROJECT_LIST, Task, own.task.id).id == own.task.id  # via project_id
    for actor, model, row_id in (
        (member, Project, second.id),
        (member, Task, world.other.task.id),
        (outsider, Project, own.project.id),
        (outsider, Task, own.task.id),
    ):
        with pytest.raises(NotFound):
            access_by_id(db, actor, Action.PROJECT_LIST, model, row_id)
    # A manager's scope for the same action is the whole company.
    assert access_by_id(db, world.manager, Action.PROJECT_LIST, Project, second.id).id == second.id


def test_the_policy_decides_first(world: World) -> None:
    worker = actor_of(world.own.worker_in, world.own.company)
    with pytest.raises(PermissionDenied):
        access_by_id(world.db, worker, Action.MEMBER_CHANGE_ROLE, User, world.own.worker_out.id)
    with pytest.raises(PermissionDenied):
        access_all_by_id(world.db, worker, Action.MEMBER_CHANGE_ROLE, User, [])
    with pytest.raises(PermissionDenied):
        in_scope(actor_of(world.admin), Action.TEAM_VIEW, User)


def test_a_model_the_scope_cannot_apply_to_is_a_programming_error(world: World) -> None:
    with pytest.raises(TypeError):
        in_scope(world.manager, Action.TEAM_VIEW, UserSession)  # sessions carry no company
    with pytest.raises(TypeError):
        in_scope(world.manager, Action.SESSION_LIST, Project)  # projects belong to no user


def test_company_id_of(world: World) -> None:
    assert company_id_of(world.manager) == world.own.company.id
    with pytest.raises(NotFound):
        company_id_of(actor_of(world.admin))


# ---- several rows and list conditions --------------------------------------------------------------


def test_all_by_id_keeps_the_order_drops_duplicates_and_refuses_any_foreign_id(world: World) -> None:
    db, m, own = world.db, world.manager, world.own
    wanted = [own.worker_out.id, own.manager.id, own.worker_out.id, own.worker_in.id]
    for for_update in (False, True):
        rows = access_all_by_id(db, m, Action.PROJECT_MEMBERS_EDIT, User, wanted, for_update=for_update)
        assert [row.id for row in rows] == [own.worker_out.id, own.manager.id, own.worker_in.id]
    assert access_all_by_id(db, m, Action.PROJECT_MEMBERS_EDIT, User, []) == []
    for stranger in (world.other.worker_in.id, uuid.uuid4()):
        with pytest.raises(NotFound, match=r"^error\.not_found$"):
            access_all_by_id(db, m, Action.PROJECT_MEMBERS_EDIT, User, [own.worker_in.id, stranger])


def test_in_scope_lists_exactly_the_reachable_rows(world: World) -> None:
    db, own, other = world.db, world.own, world.other
    users = set(db.exec(select(User.id).where(in_scope(world.manager, Action.TEAM_VIEW, User))).all())
    assert users == {own.manager.id, own.worker_in.id, own.worker_out.id}
    everyone = set(db.exec(select(Company.id).where(in_scope(actor_of(world.admin), Action.COMPANY_LIST, Company))))
    assert {own.company.id, other.company.id} <= everyone
    worker = actor_of(own.worker_in, own.company)
    assert db.exec(select(Task.id).where(in_scope(worker, Action.PROJECT_LIST, Task))).all() == [own.task.id]


# ---- the lock -------------------------------------------------------------------------------------


@pytest.fixture
def committed(owner_engine: Engine) -> Iterator[tuple[Actor, User]]:
    """A manager and a worker committed for real (another connection must see the row), removed afterwards."""
    with Session(owner_engine, expire_on_commit=False) as setup:
        setup.execute(sa.text(RLS_BYPASS_SQL))
        company = make_company(setup, f"Lock {secrets.token_hex(3)}")
        manager, worker = make_user(setup, company, Role.MANAGER), make_user(setup, company, Role.WORKER)
        setup.commit()
    try:
        yield actor_of(manager, company), worker
    finally:
        with Session(owner_engine) as cleanup:
            cleanup.execute(sa.text(RLS_BYPASS_SQL))
            cleanup.execute(sa.delete(Company).where(col(Company.id) == company.id))
            cleanup.commit()


def _row_is_locked(engine: Engine, user_id: uuid.UUID) -> bool:
    with engine.connect() as other:
        other.execute(sa.text(RLS_BYPASS_SQL))
        try:
            other.execute(sa.text("SELECT id FROM users WHERE id = :i FOR UPDATE NOWAIT"), {"i": user_id})
        except OperationalError as exc:
            assert isinstance(exc.orig, psycopg.errors.LockNotAvailable), exc
            return True
        return False


@pytest.mark.parametrize("many", [False, True])
def test_for_update_holds_the_row_until_the_transaction_ends(
    owner_engine: Engine, committed: tuple[Actor, User], many: bool
) -> None:
    manager, worker = committed
    action = Action.MEMBER_SET_ACTIVE

    def fetch(session: Session, for_update: bool) -> None:
        if many:
            access_all_by_id(session, manager, action, User, [worker.id], for_update=for_update)
        else:
            access_by_id(session, manager, action, User, worker.id, for_update=for_update)

    with Session(owner_engine) as holder:
        holder.execute(sa.text(RLS_BYPASS_SQL))
        fetch(holder, for_update=False)
        assert not _row_is_locked(owner_engine, worker.id)
        fetch(holder, for_update=True)
        assert _row_is_locked(owner_engine, worker.id)
        holder.rollback()
    assert not _row_is_locked(owner_engine, worker.id)


# ---- one answer from the browser's side: parser, then service --------------------------------------


def _answer(call: Callable[[Any], object], raw: Any) -> tuple[str, str]:
    try:
        call(raw)
    except ServiceError as exc:
        return type(exc).__name__, exc.message
    return "reached", ""


def test_malformed_random_and_foreign_ids_answer_alike_through_parser_and_service(world: World) -> None:
    """Each id-taking handler's way: its argument parsers (dashboard.state.args), then its service."""
    db, m, own, other = world.db, world.manager, world.own, world.other
    admin = actor_of(world.admin)

    def form_ids(raw: Any, prefix: str) -> list[uuid.UUID]:
        return prefixed_ids(form_arg({f"{prefix}{raw}": "on"}), prefix)

    calls: dict[str, tuple[Callable[[Any], object], uuid.UUID]] = {
        "change_role": (
            lambda raw: team.change_role(db, m, uuid_arg(raw), enum_arg("client", INVITABLE_ROLES)),
            other.worker_in.id,
        ),
        "set_active": (lambda raw: team.set_active(db, m, uuid_arg(raw), False), other.worker_in.id),
        "project members: project": (
            lambda raw: team.set_project_members(db, m, uuid_arg(raw), [own.worker_in.id]),
            other.project.id,
        ),
        "project members: member box": (
            lambda raw: team.set_project_members(db, m, own.project.id, form_ids(raw, "member:")),
            other.worker_in.id,
        ),
        "invite: project box": (
            lambda raw: invitations.invite(
                db, m, email="new@example.com", role=Role.WORKER, project_ids=form_ids(raw, "project:")
            ),
            other.project.id,
        ),
        "resend": (lambda raw: invitations.resend(db, m, uuid_arg(raw)), other.invitation.id),
        "revoke": (lambda raw: invitations.revoke(db, m, uuid_arg(raw)), other.invitation.id),
        "revoke_session": (
            lambda raw: auth.revoke_session(db, m, uuid_arg(raw)),
            other.session.id,
        ),
        "company_detail": (lambda raw: companies.company_detail(db, admin, uuid_arg(raw)), uuid.uuid4()),
        "set_company_active": (
            lambda raw: companies.set_company_active(db, admin, uuid_arg(raw), False),
            uuid.uuid4(),
        ),
    }
    for name, (call, foreign) in calls.items():
        raw_ids = [*MALFORMED, str(uuid.uuid4()), str(foreign)]
        if name.endswith(" box"):  # a checkbox name is always text
            raw_ids = [raw for raw in raw_ids if isinstance(raw, str)]
        answers = {repr(raw): _answer(call, raw) for raw in raw_ids}
        assert set(answers.values()) == {("NotFound", "error.not_found")}, (name, answers)
    # Nothing of the other company changed on the way.
    db.refresh(other.worker_in)
    db.refresh(other.invitation)
    assert other.worker_in.role is Role.WORKER and other.worker_in.is_active
    assert other.invitation.revoked_at is None
