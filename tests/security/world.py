"""Two companies with every role, a project, an invitation, sessions and audit rows: the ground
for the permission matrix and the ID replay tests."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache

from sqlmodel import Session

from models import (
    Company,
    Invitation,
    Invoice,
    InvoiceStatus,
    Notification,
    Plan,
    Project,
    Role,
    StoredFile,
    Subscription,
    Task,
    TaskComment,
    User,
    UserSession,
)
from services.audit import records as audit
from services.core.actor import Actor
from services.core.passwords import hash_password
from services.identity import auth
from tests.factories import (
    add_member,
    make_admin,
    make_comment,
    make_company,
    make_file,
    make_invitation,
    make_invoice,
    make_notification,
    make_plan,
    make_project,
    make_session,
    make_subscription,
    make_task,
    make_user,
)

PASSWORD = "matrix-correct-horse-42"


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class Side:
    """One company and everything in it the tests aim at."""

    company: Company
    manager: User
    worker_in: User  # member of `project`
    worker_out: User  # not a member
    client_in: User
    client_out: User
    target: User  # a worker that actions change (role, deactivation)
    target_session: UserSession
    project: Project
    invitation: Invitation
    audit_marker: str  # action name of an audit row only this company has
    plan: Plan  # the plan its subscription is on (the operator's catalogue: not the company's)
    subscription: Subscription
    invoice: Invoice  # open, 29.00 USD
    task: Task  # on `project`, version 1, in "to do", shared with the client
    comment: TaskComment  # by `target`, on `task` (not internal)
    notification: Notification  # the target's
    file: StoredFile  # a project file uploaded by worker_in

    def own_comment(self, db: Session, user: User) -> TaskComment:
        """A comment of `user` on this side's task (the edit and delete cases aim at one)."""
        return make_comment(db, self.task, user, body=f"by {user.full_name}")

    def notification_of(self, db: Session, user: User) -> Notification:
        """An unread notification of `user` about this side's task (or the target's, for the operator)."""
        return make_notification(db, user, self.task) if user.company_id == self.company.id else self.notification

    def actor_user(self, role: Role, member: bool) -> User:
        if role is Role.MANAGER:
            return self.manager
        if role is Role.WORKER:
            return self.worker_in if member else self.worker_out
        return self.client_in if member else self.client_out


@dataclass
class World:
    own: Side
    other: Side
    admin: User

    def actor(self, role: Role, member: bool) -> Actor:
        user = self.admin if role is Role.ADMIN else self.own.actor_user(role, member)
        return as_actor(user, self.own.company if user.company_id else None)

    def side(self, own: bool) -> Side:
        return self.own if own else self.other


def as_actor(user: User, company: Company | None) -> Actor:
    return auth.actor_for(user, company, ip="203.0.113.7", user_agent="matrix")


def build_side(db: Session, name: str) -> Side:
    company = make_company(db, name)
    users = {
        key: make_user(db, company, role, password_hash=password_hash())
        for key, role in (
            ("manager", Role.MANAGER),
            ("worker_in", Role.WORKER),
            ("worker_out", Role.WORKER),
            ("client_in", Role.CLIENT),
            ("client_out", Role.CLIENT),
            ("target", Role.WORKER),
        )
    }
    project = make_project(db, company, f"{name} project {secrets.token_hex(3)}", created_by=users["manager"])
    for key in ("worker_in", "client_in", "target"):
        add_member(db, project, users[key])
    marker = f"marker_{secrets.token_hex(4)}"
    plan = make_plan(db)
    subscription = make_subscription(db, company, plan)
    task = make_task(
        db, project, f"{name} task {secrets.token_hex(3)}", created_by=users["manager"], shared_with_client=True
    )
    audit.record(db, actor=None, action=marker, company_id=company.id, target_type="company", target_id=company.id)
    return Side(
        company=company,
        manager=users["manager"],
        worker_in=users["worker_in"],
        worker_out=users["worker_out"],
        client_in=users["client_in"],
        client_out=users["client_out"],
        target=users["target"],
        target_session=make_session(db, users["target"]),
        project=project,
        invitation=make_invitation(db, company, users["manager"]),
        audit_marker=marker,
        plan=plan,
        subscription=subscription,
        invoice=make_invoice(db, company, plan, subscription, status=InvoiceStatus.OPEN),
        task=task,
        comment=make_comment(db, task, users["target"], body=f"comment {secrets.token_hex(4)}"),
        notification=make_notification(db, users["target"], task),
        file=make_file(
            db,
            company,
            project=project,
            uploaded_by=users["worker_in"],
            original_name=f"plan-{secrets.token_hex(4)}.pdf",
        ),
    )


def build_world(db: Session) -> World:
    return World(
        own=build_side(db, "Own Co"),
        other=build_side(db, "Other Co"),
        admin=make_admin(db, password_hash=password_hash()),
    )


def new_id() -> uuid.UUID:
    return uuid.uuid4()
