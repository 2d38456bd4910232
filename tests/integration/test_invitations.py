"""Invitations on the real database, with a real SMTP server (aiosmtpd) and the real Redis outbox.

invite -> the mail arrives with the link -> accept -> the user exists, with the role and the projects,
and is logged in. Links are single use, expire, die when resent/revoked/replaced, and are stored
only as a SHA-256. Every id of another company is NotFound. Mail failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dashboard.state.args import enum_arg, uuid_arg
from models import AuditLog, Company, CompanyStatus, Invitation, ProjectMember, ProjectStatus, Role, User
from services import billing
from services.core import clock, mailer
from services.core.actor import Actor
from services.core.db import system_scope, tenant_scope
from services.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from services.core.redis_client import get_redis
from services.core.settings import get_settings
from services.identity import auth, signup
from services.people import INVITABLE_ROLES, invitations, team
from services.tenants import companies
from tests.conftest import committed_session, delete_committed
from tests.factories import make_admin, make_company, make_invitation, make_plan, make_project, make_user
from tests.smtp_server import SmtpSink, use_settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

# Logins come from an address of their own, so this module's failed logins never throttle another's.
LOGIN_IP = f"2001:db8::{secrets.token_hex(2)}"

PASSWORD = "Invitee-passphrase-2026!"
LINK = re.compile(r"(https?://\S+)/invite/([A-Za-z0-9_-]+)")


def actor_of(user: User, company: Company | None = None) -> Actor:
    return auth.actor_for(user, company, ip="203.0.113.7", user_agent="pytest")


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def mail(smtp: SmtpSink, migrated_database: str) -> Iterator[SmtpSink]:
    """MAIL_BACKEND=smtp pointing at the real in-process SMTP server, emptied for each test."""
    smtp.clear()
    with smtp.as_mail_backend():
        yield smtp


class World:
    """Two companies; each with a manager, a worker, a client and two projects."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.acme = make_company(db, "Acme")
        self.globex = make_company(db, "Globex")
        self.manager = make_user(db, self.acme, Role.MANAGER)
        self.worker = make_user(db, self.acme, Role.WORKER)
        self.client = make_user(db, self.acme, Role.CLIENT)
        self.admin = make_admin(db)
        self.site = make_project(db, self.acme, "Website", created_by=self.manager)
        self.app = make_project(db, self.acme, "App", created_by=self.manager)
        self.g_manager = make_user(db, self.globex, Role.MANAGER)
        self.g_project = make_project(db, self.globex, "Warehouse", created_by=self.g_manager)

    @property
    def m(self) -> Actor:
        return actor_of(self.manager, self.acme)

    @property
    def gm(self) -> Actor:
        return actor_of(self.g_manager, self.globex)


@pytest.fixture
def world(db: Session) -> World:
    return World(db)


def token_from(received_body: str) -> str:
    match = LINK.search(received_body)
    assert match, received_body
    return match.group(2)


def invite_and_token(world: World, mail: SmtpSink, email: str | None = None, **kwargs: object) -> tuple[str, str]:
    email = email or f"new-{uuid.uuid4().hex[:8]}@example.com"
    kwargs.setdefault("role", Role.WORKER)
    kwargs.setdefault("project_ids", [])
    invitations.invite(world.db, world.m, email=email, **kwargs)  # type: ignore[arg-type]
    return email, token_from(mail.last_to(email).body)


# ---- the happy path -------------------------------------------------------------------------------


def test_invite_mail_accept_and_log_in(world: World, mail: SmtpSink) -> None:
    db = world.db
    info = invitations.invite(
        db, world.m, email="  New.Person@Example.COM ", role=Role.WORKER, project_ids=[world.site.id, world.app.id]
    )
    assert info.email == "new.person@example.com" and info.role is Role.WORKER and info.pending and not info.expired
    assert set(info.project_ids) == {world.site.id, world.app.id}
    assert info.expires_at - info.created_at == timedelta(days=7)

    received = mail.last_to("new.person@example.com")
    assert received.rcpt_tos == ("new.person@example.com",)
    assert "Acme" in received.body and world.manager.full_name in received.body
    assert received.subject == invitations.INVITE_SUBJECT  # nothing the inviter typed (see below)
    match = LINK.search(received.body)
    assert match and match.group(1) == get_settings().public_url.rstrip("/")
    token = match.group(2)
    assert len(token) >= 43  # token_urlsafe(32)

    # Stored hashed only: no column of the row holds the token.
    row = db.get(Invitation, info.id)
    assert row is not None and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(row.model_dump(mode="json"))

    preview = invitations.describe(db, token)
    assert (preview.company_name, preview.email, preview.role) == ("Acme", "new.person@example.com", Role.WORKER)

    session_token, actor = invitations.accept(
        db, token, full_name="  New   Person ", password=PASSWORD, ip="198.51.100.1", user_agent="browser"
    )
    assert actor.role is Role.WORKER and actor.company_id == world.acme.id and actor.full_name == "New Person"
    user = db.get(User, actor.user_id)
    assert user is not None and user.email == "new.person@example.com" and user.is_active
    assert user.password_hash != PASSWORD and user.password_hash.startswith("$argon2id$")
    memberships = db.exec(select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)).all()
    assert set(memberships) == {world.site.id, world.app.id}
    assert auth.resolve_session(db, session_token) == actor
    # The new user can log in with the password they chose.
    _, again = auth.login(db, "new.person@example.com", PASSWORD, ip=LOGIN_IP)
    assert again.user_id == user.id

    accepted = db.get(Invitation, info.id)
    assert accepted is not None and accepted.accepted_at is not None
    actions = db.exec(
        select(AuditLog.action, AuditLog.company_id, AuditLog.actor_user_id).where(AuditLog.target_id == str(info.id))
    ).all()
    assert ("member_invited", world.acme.id, world.manager.id) in actions
    assert ("invite_accepted", world.acme.id, user.id) in actions


def test_a_link_works_once(world: World, mail: SmtpSink) -> None:
    _, token = invite_and_token(world, mail)
    invitations.accept(world.db, token, full_name="First", password=PASSWORD)
    for attempt in (
        lambda: invitations.accept(world.db, token, full_name="Second", password=PASSWORD),
        lambda: invitations.describe(world.db, token),
    ):
        with pytest.raises(NotFound) as failure:
            attempt()
        assert failure.value.message == "error.invite_invalid"


def test_a_link_expires_after_seven_days(world: World, mail: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    _, token = invite_and_token(world, mail)
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=7) - timedelta(minutes=1))
    assert invitations.describe(world.db, token).email
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=7))
    with pytest.raises(NotFound, match=r"^error\.invite_invalid$"):
        invitations.describe(world.db, token)
    with pytest.raises(NotFound, match=r"^error\.invite_invalid$"):
        invitations.accept(world.db, token, full_name="Late", password=PASSWORD)
    listed = invitations.invitation_info(
        world.db.exec(select(Invitation).where(Invitation.company_id == world.acme.id)).one()
    )
    assert listed.expired and not listed.pending


def test_resend_gives_a_new_link_and_expiry_and_kills_the_old(
    world: World, mail: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    email, old_token = invite_and_token(world, mail)
    invitation = world.db.exec(select(Invitation).where(Invitation.email == email)).one()

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=8))  # expired: resend revives it
    info = invitations.resend(world.db, world.m, invitation.id)
    assert info.pending and info.expires_at == start + timedelta(days=15)
    new_token = token_from(mail.last_to(email).body)
    assert new_token != old_token and len(mail.to(email)) == 2
    with pytest.raises(NotFound):
        invitations.describe(world.db, old_token)
    with pytest.raises(NotFound):
        invitations.accept(world.db, old_token, full_name="Old link", password=PASSWORD)
    assert invitations.describe(world.db, new_token).email == email
    invitations.accept(world.db, new_token, full_name="New link", password=PASSWORD)
    with pytest.raises(Conflict):
        invitations.resend(world.db, world.m, invitation.id)  # accepted already
    assert world.db.exec(select(AuditLog).where(AuditLog.action == "invite_resent")).first() is not None


def test_revoke_kills_the_link(world: World, mail: SmtpSink) -> None:
    email, token = invite_and_token(world, mail)
    invitation = world.db.exec(select(Invitation).where(Invitation.email == email)).one()
    info = invitations.revoke(world.db, world.m, invitation.id)
    assert info.revoked_at is not None and not info.pending
    with pytest.raises(NotFound, match=r"^error\.invite_invalid$"):
        invitations.accept(world.db, token, full_name="Too late", password=PASSWORD)
    invitations.revoke(world.db, world.m, invitation.id)  # twice: nothing more happens
    assert len(world.db.exec(select(AuditLog).where(AuditLog.action == "invite_revoked")).all()) == 1
    with pytest.raises(Conflict):
        invitations.resend(world.db, world.m, invitation.id)
    assert len(mail.to(email)) == 1


def test_a_new_invite_replaces_the_pending_one(world: World, mail: SmtpSink) -> None:
    email, first = invite_and_token(world, mail, role=Role.WORKER)
    _, second = invite_and_token(world, mail, email=email.upper(), role=Role.CLIENT)
    with pytest.raises(NotFound):
        invitations.describe(world.db, first)
    assert invitations.describe(world.db, second).role is Role.CLIENT
    rows = world.db.exec(select(Invitation).where(Invitation.email == email)).all()
    assert len(rows) == 2 and sum(r.revoked_at is None for r in rows) == 1
    # Another company's invitation of the same address is not touched.
    invitations.invite(world.db, world.gm, email=email, role=Role.WORKER, project_ids=[])
    assert invitations.describe(world.db, second).company_name == "Acme"


def test_managers_get_no_project_memberships(world: World, mail: SmtpSink) -> None:
    _, token = invite_and_token(world, mail, role=Role.MANAGER, project_ids=[world.site.id])
    _, actor = invitations.accept(world.db, token, full_name="Second Manager", password=PASSWORD)
    assert actor.role is Role.MANAGER
    assert world.db.exec(select(ProjectMember).where(ProjectMember.user_id == actor.user_id)).first() is None


def test_projects_deleted_before_accepting_are_skipped(world: World, mail: SmtpSink) -> None:
    _, token = invite_and_token(world, mail, role=Role.CLIENT, project_ids=[world.site.id, world.app.id])
    world.db.delete(world.app)
    world.db.flush()
    _, actor = invitations.accept(world.db, token, full_name="Client Person", password=PASSWORD)
    members = world.db.exec(select(ProjectMember.project_id).where(ProjectMember.user_id == actor.user_id)).all()
    assert members == [world.site.id]


# ---- refusals -------------------------------------------------------------------------------------


def test_an_email_with_an_account_cannot_be_invited(world: World, mail: SmtpSink) -> None:
    # (Addresses of other companies' users may be invisible here under row-level security; accept
    # refuses them: see the next test.)
    for email in (world.worker.email, world.worker.email.upper(), f"  {world.client.email.title()} "):
        with pytest.raises(Conflict, match=r"^error\.email_taken$"):
            invitations.invite(world.db, world.m, email=email, role=Role.WORKER, project_ids=[])
    assert mail.messages == []


def test_an_unverified_sign_up_of_the_address_does_not_block_the_invitee(world: World, mail: SmtpSink) -> None:
    """Signing up someone else's address (never verified) must not keep them out of the team that invites them."""
    make_plan(world.db)
    signup.sign_up(
        world.db, company_name="Squatter Inc", full_name="Sam", email="wanted@example.com", password=PASSWORD
    )
    squatter_id = world.db.exec(select(Company.id).where(Company.name == "Squatter Inc")).one()
    _, token = invite_and_token(world, mail, email="wanted@example.com")
    _, actor = invitations.accept(world.db, token, full_name="Wanted Person", password=PASSWORD)
    assert actor.company_id == world.acme.id
    world.db.expunge_all()
    assert world.db.get(Company, squatter_id) is None
    assert len(world.db.exec(select(User).where(User.email == "wanted@example.com")).all()) == 1


def test_an_account_created_meanwhile_makes_accept_fail(world: World, mail: SmtpSink) -> None:
    email, token = invite_and_token(world, mail)
    make_user(world.db, world.globex, Role.WORKER, email=email)
    with pytest.raises(Conflict, match=r"^error\.email_taken$"):
        invitations.accept(world.db, token, full_name="Someone", password=PASSWORD)


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("not-an-email", Role.WORKER),
        ("", Role.WORKER),
        ("a@b", Role.WORKER),
        ("x" * 320 + "@example.com", Role.WORKER),
        ("someone@example.com\r\nBcc: victim@example.com", Role.WORKER),
        ("someone@example.com", Role.ADMIN),
        ("someone@example.com", "owner"),
        ("someone@example.com", ""),
    ],
)
def test_bad_email_or_role_is_refused(world: World, mail: SmtpSink, email: str, role: Role | str) -> None:
    # The browser's role text becomes a Role at the edge (or is refused there); the service judges the rest.
    with pytest.raises(ValidationFailed):
        typed = role if isinstance(role, Role) else enum_arg(role, INVITABLE_ROLES)
        invitations.invite(world.db, world.m, email=email, role=typed, project_ids=[])
    assert mail.messages == []
    assert world.db.exec(select(Invitation).where(Invitation.company_id == world.acme.id)).first() is None


def test_accept_validates_name_and_password_and_keeps_the_link(world: World, mail: SmtpSink) -> None:
    _, token = invite_and_token(world, mail)
    for name, password in (("", PASSWORD), ("   ", PASSWORD), ("x" * 201, PASSWORD), ("Bad\x00Name", PASSWORD)):
        with pytest.raises(ValidationFailed):
            invitations.accept(world.db, token, full_name=name, password=password)
    for weak in ("", "short", "x" * 100_000):
        with pytest.raises(ValidationFailed):
            invitations.accept(world.db, token, full_name="Fine Name", password=weak)
    assert invitations.describe(world.db, token).email  # still usable
    invitations.accept(world.db, token, full_name="Fine Name", password=PASSWORD)


@pytest.mark.parametrize("token", [None, "", "nope", "x" * 5000, "../../etc/passwd"])
def test_garbage_tokens_are_invalid(world: World, token: str | None) -> None:
    with pytest.raises(NotFound, match=r"^error\.invite_invalid$"):
        invitations.describe(world.db, token)
    with pytest.raises(NotFound, match=r"^error\.invite_invalid$"):
        invitations.accept(world.db, token, full_name="Name", password=PASSWORD)


def test_a_deactivated_company_cannot_accept_invites(world: World, mail: SmtpSink) -> None:
    _, token = invite_and_token(world, mail)
    world.acme.status = CompanyStatus.DEACTIVATED
    world.db.add(world.acme)
    world.db.flush()
    with pytest.raises(NotFound, match=r"^error\.invite_invalid$"):
        invitations.describe(world.db, token)
    with pytest.raises(NotFound, match=r"^error\.invite_invalid$"):
        invitations.accept(world.db, token, full_name="Name", password=PASSWORD)
    with pytest.raises(Conflict, match=r"^error\.company_deactivated$"):
        invitations.invite(world.db, world.m, email="later@example.com", role=Role.WORKER, project_ids=[])


# ---- tenant isolation and roles -------------------------------------------------------------------


def test_another_companys_ids_are_not_found(world: World, mail: SmtpSink) -> None:
    db = world.db
    # Ids as the browser sends them: parsed at the edge (uuid_arg), then looked up by the service.
    for project_ids in ([world.g_project.id], [world.site.id, world.g_project.id], [uuid.uuid4()], ["not-a-uuid"]):
        with pytest.raises(NotFound) as failure:
            typed = [uuid_arg(str(p)) for p in project_ids]
            invitations.invite(db, world.m, email="x@example.com", role=Role.WORKER, project_ids=typed)
        assert failure.value.message == "error.not_found"
    g_invite = make_invitation(db, world.globex, invited_by=world.g_manager)
    for invitation_id in (str(g_invite.id), f" {g_invite.id} ", str(uuid.uuid4()), "garbage"):
        with pytest.raises(NotFound):
            invitations.resend(db, world.m, uuid_arg(invitation_id))
        with pytest.raises(NotFound):
            invitations.revoke(db, world.m, uuid_arg(invitation_id))
    refreshed = db.get(Invitation, g_invite.id)
    assert refreshed is not None and refreshed.revoked_at is None
    assert mail.messages == []


@pytest.mark.parametrize("who", ["worker", "client", "admin"])
def test_only_managers_invite_resend_and_revoke(world: World, mail: SmtpSink, who: str) -> None:
    user = {"worker": world.worker, "client": world.client, "admin": world.admin}[who]
    actor = actor_of(user, world.acme if user.company_id else None)
    invitation = make_invitation(world.db, world.acme, invited_by=world.manager)
    with pytest.raises(PermissionDenied):
        invitations.invite(world.db, actor, email="x@example.com", role=Role.WORKER, project_ids=[])
    with pytest.raises(PermissionDenied):
        invitations.resend(world.db, actor, invitation.id)
    with pytest.raises(PermissionDenied):
        invitations.revoke(world.db, actor, invitation.id)
    assert mail.messages == []


def test_check_seat_limit_only_counts_active_users(world: World) -> None:
    assert billing.check_seat_limit(world.db, world.acme.id) == 3
    make_user(world.db, world.acme, Role.WORKER, is_active=False)
    assert billing.check_seat_limit(world.db, world.acme.id) == 3
    assert billing.check_seat_limit(world.db, world.globex.id) == 1


# ---- mail abuse: no free text in the subject, quotas ---------------------------------------------


def test_the_subject_carries_nothing_the_inviter_typed(db: Session, mail: SmtpSink) -> None:
    """Anyone can sign up as "Account Security" and invite any address: the subject line stays the product's."""
    company = make_company(db, "Account Security")
    manager = make_user(db, company, Role.MANAGER, full_name="Your Bank: Verify Now")
    invitations.invite(db, actor_of(manager, company), email="target@example.com", role=Role.WORKER, project_ids=[])
    received = mail.last_to("target@example.com")
    assert received.subject == invitations.INVITE_SUBJECT
    for typed in ("Account Security", "Your Bank", "Verify Now"):
        assert typed not in received.subject
        assert typed in received.body  # the body still says who invited you where


def invite_pending(world: World, email: str) -> uuid.UUID:
    return invitations.invite(world.db, world.m, email=email, role=Role.WORKER, project_ids=[]).id


def test_resending_in_a_loop_stops_at_the_address_quota(world: World, mail: SmtpSink) -> None:
    with use_settings(INVITE_MAILS_PER_ADDRESS_PER_DAY="3"):
        invitation_id = invite_pending(world, "loop@example.com")
        invitations.resend(world.db, world.m, invitation_id)
        invitations.resend(world.db, world.m, invitation_id)
        with pytest.raises(RateLimited) as limited:
            invitations.resend(world.db, world.m, invitation_id)
        with pytest.raises(RateLimited):  # a new invitation to the same address is the same mail
            invite_pending(world, "loop@example.com")
        assert 0 < limited.value.retry_after <= 24 * 3600
        assert len(mail.to("loop@example.com")) == 3
        invite_pending(world, "someone.else@example.com")  # other addresses are not affected
        # Another company may still write to the address (each company has its own count).
        invitations.invite(world.db, world.gm, email="loop@example.com", role=Role.WORKER, project_ids=[])
    assert len(mail.to("loop@example.com")) == 4


def test_one_manager_has_an_hourly_quota(world: World, mail: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    second_manager = make_user(world.db, world.acme, Role.MANAGER)
    with use_settings(INVITE_MAILS_PER_MANAGER_PER_HOUR="2"):
        first = invite_pending(world, "one@example.com")
        invitations.resend(world.db, world.m, first)  # resends count too
        with pytest.raises(RateLimited) as limited:
            invite_pending(world, "two@example.com")
        assert limited.value.retry_after == 3600
        assert world.db.exec(select(Invitation).where(Invitation.email == "two@example.com")).first() is None
        # A colleague is not blocked by this manager's quota.
        invitations.invite(
            world.db, actor_of(second_manager, world.acme), email="two@example.com", role=Role.WORKER, project_ids=[]
        )
        monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))
        invite_pending(world, "three@example.com")
    assert [m.rcpt_tos[0] for m in mail.messages] == [
        "one@example.com",
        "one@example.com",
        "two@example.com",
        "three@example.com",
    ]


def test_the_company_has_a_daily_quota_shared_by_its_managers(world: World, mail: SmtpSink) -> None:
    second_manager = actor_of(make_user(world.db, world.acme, Role.MANAGER), world.acme)
    with use_settings(INVITE_MAILS_PER_COMPANY_PER_DAY="3"):
        invite_pending(world, "a@example.com")
        invite_pending(world, "b@example.com")
        invitations.invite(world.db, second_manager, email="c@example.com", role=Role.WORKER, project_ids=[])
        for attempt in (
            lambda: invitations.invite(world.db, second_manager, email="d@example.com", role=Role.WORKER),
            lambda: invite_pending(world, "d@example.com"),
        ):
            with pytest.raises(RateLimited) as limited:
                attempt()
            assert 0 < limited.value.retry_after <= 24 * 3600
        invitations.invite(world.db, world.gm, email="d@example.com", role=Role.WORKER)  # Globex has its own
    assert len(mail.messages) == 4


def test_a_refused_or_failed_mail_does_not_use_the_quota(world: World, mail: SmtpSink) -> None:
    with use_settings(INVITE_MAILS_PER_MANAGER_PER_HOUR="1"):
        with pytest.raises(ValidationFailed):
            invitations.invite(world.db, world.m, email="not-an-email", role=Role.WORKER)
        with pytest.raises(Conflict):
            invitations.invite(world.db, world.m, email=world.worker.email, role=Role.WORKER)
        from devtools.devstack import free_port

        world.db.commit()  # the world stays; only the failed invitation below is rolled back
        with use_settings(SMTP_PORT=str(free_port())), pytest.raises(ServiceUnavailable):
            invitations.invite(world.db, world.m, email="unlucky@example.com", role=Role.WORKER)
        world.db.rollback()
        invitations.invite(world.db, world.m, email="lucky@example.com", role=Role.WORKER)  # the one mail
        with pytest.raises(RateLimited):
            invitations.invite(world.db, world.m, email="too-many@example.com", role=Role.WORKER)


# ---- mail: failure, login, outbox -----------------------------------------------------------------


def test_mail_failure_leaves_no_invitation_and_keeps_the_old_link(world: World, mail: SmtpSink) -> None:
    db = world.db
    email, token = invite_and_token(world, mail)
    invitation_id = db.exec(select(Invitation.id).where(Invitation.email == email)).one()
    db.commit()  # the test's data is now "committed" (released savepoint); what follows can roll back

    from devtools.devstack import free_port

    with use_settings(SMTP_PORT=str(free_port())):  # nobody listens there
        with pytest.raises(ServiceUnavailable) as failure:
            invitations.invite(db, world.m, email="fresh@example.com", role=Role.WORKER, project_ids=[world.site.id])
        assert failure.value.message == "error.mail_failed"
        db.rollback()  # what session_scope does with the exception
        with pytest.raises(ServiceUnavailable):
            invitations.resend(db, world.m, invitation_id)
        db.rollback()
        with pytest.raises(ServiceUnavailable):
            invitations.invite(db, world.m, email=email, role=Role.CLIENT, project_ids=[])  # would replace it
        db.rollback()

    assert db.exec(select(Invitation).where(Invitation.email == "fresh@example.com")).first() is None
    assert db.exec(select(AuditLog).where(col(AuditLog.changes)["email"].astext == "fresh@example.com")).first() is None
    assert invitations.describe(db, token).role is Role.WORKER  # the old link still works
    assert len(db.exec(select(Invitation).where(Invitation.email == email)).all()) == 1


def test_smtp_login(world: World, smtp: SmtpSink) -> None:
    smtp.clear()
    with smtp.as_mail_backend(SMTP_USERNAME=SmtpSink.USERNAME, SMTP_PASSWORD=SmtpSink.PASSWORD):
        mailer.send_mail("someone@example.com", "Hello", "Body")
    assert smtp.last_to("someone@example.com").authenticated_as == SmtpSink.USERNAME
    with (
        smtp.as_mail_backend(SMTP_USERNAME=SmtpSink.USERNAME, SMTP_PASSWORD="wrong-password"),
        pytest.raises(ServiceUnavailable, match=r"^error\.mail_failed$"),
    ):
        mailer.send_mail("other@example.com", "Hello", "Body")
    assert smtp.to("other@example.com") == []


def test_send_mail_refuses_header_injection(mail: SmtpSink) -> None:
    for to in ("a@example.com\r\nBcc: b@example.com", "a@example.com, b@example.com", "", "no-at-sign"):
        with pytest.raises(ValidationFailed):
            mailer.send_mail(to, "Subject", "Body")
    mailer.send_mail("a@example.com", "Two\r\nBcc: b@example.com", "Body")
    received = mail.last_to("a@example.com")
    assert received.rcpt_tos == ("a@example.com",) and received.message["Bcc"] is None
    assert received.subject == "Two Bcc: b@example.com"


def test_outbox_backend_keeps_the_invite_for_the_operator(world: World, outbox: None, smtp: SmtpSink) -> None:
    smtp.clear()
    invitations.invite(world.db, world.m, email="dev@example.com", role=Role.CLIENT, project_ids=[])
    assert smtp.messages == []  # nothing was sent
    admin = actor_of(world.admin)
    (message,) = mailer.read_outbox(admin)
    assert message.to == "dev@example.com" and "Acme" in message.body
    token = token_from(message.body)
    assert invitations.describe(world.db, token).email == "dev@example.com"
    assert abs(message.sent_at - clock.now()) < timedelta(minutes=1)


def test_outbox_is_capped_newest_first_and_admin_only(world: World, outbox: None) -> None:
    for i in range(mailer.OUTBOX_SIZE + 5):
        mailer.send_mail(f"user{i}@example.com", f"Message {i}", "Body")
    assert get_redis().llen(mailer.OUTBOX_KEY) == mailer.OUTBOX_SIZE
    admin = actor_of(world.admin)
    latest = mailer.read_outbox(admin, limit=3)
    assert [m.subject for m in latest] == ["Message 204", "Message 203", "Message 202"]
    assert len(mailer.read_outbox(admin, limit=10_000)) == mailer.OUTBOX_SIZE
    assert mailer.read_outbox(admin, limit=0)[0].subject == "Message 204"
    for user in (world.manager, world.worker, world.client):
        with pytest.raises(PermissionDenied):
            mailer.read_outbox(actor_of(user, world.acme))


def test_outbox_is_readable_only_in_local_and_test(world: World, outbox: None, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = actor_of(world.admin)
    mailer.send_mail("a@example.com", "Hi", "Body")
    for environment in ("ci", "production"):
        changed = get_settings().model_copy(update={"env": environment})
        monkeypatch.setattr(mailer, "get_settings", lambda changed=changed: changed)
        with pytest.raises(PermissionDenied):
            mailer.read_outbox(admin)
    monkeypatch.undo()
    assert len(mailer.read_outbox(admin)) == 1


def test_invitations_table_holds_no_plain_token(world: World, mail: SmtpSink) -> None:
    tokens = [invite_and_token(world, mail)[1] for _ in range(3)]
    dump = world.db.execute(sa.text("SELECT row_to_json(i)::text FROM invitations i")).scalars().all()
    assert dump and not any(token in row for token in tokens for row in dump)
    assert {r.token_hash for r in world.db.exec(select(Invitation)).all()} >= {
        hashlib.sha256(t.encode()).hexdigest() for t in tokens
    }


def test_archived_projects_of_the_company_can_be_given(world: World, mail: SmtpSink) -> None:
    archived = make_project(world.db, world.acme, "Old", status=ProjectStatus.ARCHIVED)
    info = invitations.invite(world.db, world.m, email="arch@example.com", role=Role.WORKER, project_ids=[archived.id])
    assert info.project_ids == (archived.id,)


# ---- the whole flow as the app role, under row-level security -----------------------------------


@dataclass
class Committed:
    acme: Company
    globex: Company
    manager: User
    g_worker: User
    admin: User
    project_id: uuid.UUID
    g_project_id: uuid.UUID


@pytest.fixture
def committed(owner_engine: Engine) -> Iterator[Committed]:
    """Rows committed for real (other connections see them), removed afterwards."""
    with committed_session(owner_engine) as setup:
        acme, globex = make_company(setup, "Acme RLS"), make_company(setup, "Globex RLS")
        manager = make_user(setup, acme, Role.MANAGER)
        g_worker = make_user(setup, globex, Role.WORKER)
        admin = make_admin(setup)
        data = Committed(
            acme,
            globex,
            manager,
            g_worker,
            admin,
            make_project(setup, acme, "Site").id,
            make_project(setup, globex, "Depot").id,
        )
    try:
        yield data
    finally:
        delete_committed(owner_engine, companies=[acme.id, globex.id], users=[admin.id])


def test_the_flow_works_as_the_app_role_in_its_scopes(committed: Committed, mail: SmtpSink) -> None:
    """The UI's way: tenant_scope(actor) for the manager and the operator, system_scope() for the
    invitee (no actor yet). Row-level security is on; the app role does not own the tables."""
    c = committed
    manager = actor_of(c.manager, c.acme)
    with tenant_scope(manager) as s, pytest.raises(NotFound):  # another company's project, invisible twice over
        invitations.invite(s, manager, email="rls@example.com", role=Role.WORKER, project_ids=[c.g_project_id])
    with tenant_scope(manager) as s:
        invitations.invite(s, manager, email="rls@example.com", role=Role.WORKER, project_ids=[c.project_id])
        # Globex's worker's address is invisible here: invite goes out, accept refuses it below.
        invitations.invite(s, manager, email=c.g_worker.email, role=Role.CLIENT, project_ids=[])
    token = token_from(mail.last_to("rls@example.com").body)
    foreign_token = token_from(mail.last_to(c.g_worker.email).body)

    with system_scope() as s:
        assert invitations.describe(s, token).company_name == "Acme RLS"
        session_token, actor = invitations.accept(s, token, full_name="Rls Person", password=PASSWORD)
    with system_scope() as s, pytest.raises(Conflict, match=r"^error\.email_taken$"):
        invitations.accept(s, foreign_token, full_name="Someone", password=PASSWORD)
    with system_scope() as s:
        assert auth.resolve_session(s, session_token) == actor

    with tenant_scope(manager) as s:
        members = {m.id: m for m in team.list_members(s, manager)}
        assert set(members) == {c.manager.id, actor.user_id}
        assert members[actor.user_id].project_ids == (c.project_id,)
        assert {i.email for i in team.list_invitations(s, manager)} == {c.g_worker.email}
        team.change_role(s, manager, actor.user_id, Role.CLIENT)
    with tenant_scope(manager) as s, pytest.raises(NotFound):
        team.set_active(s, manager, c.g_worker.id, False)

    admin = actor_of(c.admin)
    with tenant_scope(admin) as s:
        detail = companies.set_company_active(s, admin, c.acme.id, False)
        assert detail.members_by_role == {"manager": 1, "worker": 0, "client": 1}
        assert "member_invited" in {e.action for e in detail.recent_audit}
    with tenant_scope(admin) as s:
        assert companies.set_company_active(s, admin, c.acme.id, True).status is CompanyStatus.ACTIVE
    with system_scope() as s:
        _, again = auth.login(s, "rls@example.com", PASSWORD, ip=LOGIN_IP)
        assert again.role is Role.CLIENT
