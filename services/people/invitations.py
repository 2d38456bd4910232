"""Invitations: a manager invites someone by email; the invitee sets a name and password and is in.

The link carries a random token (`secrets.token_urlsafe(32)`); the database keeps only its SHA-256,
so a leaked database or backup cannot be turned into working links. A link works once, for
`INVITE_TTL`, and dies when the invitation is revoked, resent (new token) or replaced by a newer
invitation for the same email. Every invitation or project id is looked up inside the actor's
company (services.core.access): another company's id is `NotFound`, exactly like a missing one.

Mail is sent after the rows are flushed, inside the caller's transaction (see services.core.mailer):
when it cannot be sent the caller's transaction rolls back and nothing is half-created. Every
invitation and resend is a mail to an address the inviter chose: services.people.quotas limits them
per manager, per company and per address (RateLimited before anything is written), and the subject
line carries no text the inviter typed.

Scopes (services.core.db): the manager's side runs in `tenant_scope(actor)`; `describe` and `accept`
have no actor yet and run in `system_scope()` (the token is the credential).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import Company, CompanyStatus, Invitation, Project, ProjectMember, Role, User
from services import audit, billing, identity
from services.audit import AuditAction, AuditTarget
from services.core import clock, mailer
from services.core.access import access_all_by_id, access_by_id, company_id_of, in_scope
from services.core.actor import Actor
from services.core.errors import Conflict, NotFound, ValidationFailed
from services.core.passwords import hash_password
from services.core.policy import Action, authorize
from services.people import quotas

INVITE_TTL = timedelta(days=7)
INVITABLE_ROLES = (Role.MANAGER, Role.WORKER, Role.CLIENT)
MAX_TOKEN_LENGTH = 128
MAX_PROJECTS_PER_INVITE = 500
INVITE_INVALID = "error.invite_invalid"
INVITE_SUBJECT = "You are invited to join a team on Workdash"


@dataclass(frozen=True)
class InvitationInfo:
    """What a manager sees of an invitation (never the token or its hash)."""

    id: uuid.UUID
    email: str
    role: Role
    project_ids: tuple[uuid.UUID, ...]
    invited_by_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    expired: bool  # the link's time is up (resend gives it a new one)
    pending: bool  # the link can still be accepted


@dataclass(frozen=True)
class InvitePreview:
    """What the accept page shows before the invitee sets a password."""

    company_name: str
    email: str
    role: Role


# ---- reading --------------------------------------------------------------------------------------


def invitation_info(invitation: Invitation, now: datetime | None = None) -> InvitationInfo:
    now = now or clock.now()
    expired = now >= invitation.expires_at
    return InvitationInfo(
        id=invitation.id,
        email=invitation.email,
        role=Role(invitation.role),
        project_ids=tuple(invitation.project_ids or ()),
        invited_by_id=invitation.invited_by_id,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
        revoked_at=invitation.revoked_at,
        expired=expired,
        pending=invitation.accepted_at is None and invitation.revoked_at is None and not expired,
    )


# ---- the manager's side ---------------------------------------------------------------------------


def invite(
    session: Session, actor: Actor, *, email: str, role: Role, project_ids: Iterable[uuid.UUID] = ()
) -> InvitationInfo:
    """Invite `email` into the actor's company with `role` (and, for workers and clients, onto projects).

    A pending invitation for the same email is replaced (revoked). Conflict("error.email_taken")
    when the email already has an account that this session can see: in a tenant scope (row-level
    security) that is the actor's own company only, so an address registered with another company
    is not revealed here; `accept` (system scope) refuses it with the same error. RateLimited when
    a mail quota (services.people.quotas) is used up.
    """
    action = Action.MEMBER_INVITE
    authorize(actor, action)
    company = _actor_company(session, actor, action)
    projects = _company_project_ids(session, actor, action, project_ids)
    address = identity.normalize_signup_email(email)
    require_invitable_role(role)
    if role is Role.MANAGER:
        projects = []  # managers see every project of the company; memberships mean nothing to them
    # Serialize invitations of one address in one company (the "replace the pending one" rule).
    session.exec(select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"invite:{company.id}:{address}", 0))))
    identity.refuse_taken_email(session, address)
    billing.check_seat_limit(session, company.id)

    with quotas.invitation_mail(actor, company.id, address):
        return _replace_and_send(session, actor, company, address, role, projects)


def _replace_and_send(
    session: Session, actor: Actor, company: Company, address: str, role: Role, projects: list[uuid.UUID]
) -> InvitationInfo:
    """`invite` once everything is checked: revoke the pending invitations of the address, add the new one, mail it."""
    action = Action.MEMBER_INVITE
    now = clock.now()
    replaced = session.exec(
        select(Invitation)
        .where(
            in_scope(actor, action, Invitation),
            sa.func.lower(Invitation.email) == address,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
        .with_for_update()
    ).all()
    for old in replaced:
        old.revoked_at = now
        session.add(old)

    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        company_id=company.id,
        email=address,
        role=role,
        project_ids=projects,
        token_hash=identity.hash_token(token),
        invited_by_id=actor.user_id,
        expires_at=now + INVITE_TTL,
        created_at=now,
    )
    _save_and_audit(
        session,
        actor,
        invitation,
        AuditAction.MEMBER_INVITED,
        changes={
            "email": address,
            "role": role.value,
            "project_ids": [str(p) for p in projects],
            "expires_at": invitation.expires_at.isoformat(),
            "replaced_invitation_ids": [str(old.id) for old in replaced],
        },
    )
    _send_invite_mail(actor, company, invitation, token)
    return invitation_info(invitation, now)


def resend(session: Session, actor: Actor, invitation_id: uuid.UUID) -> InvitationInfo:
    """A new link and a new expiry for an invitation that was not accepted or revoked; the old link dies.
    Each resend is a mail like an invitation: RateLimited when a quota is used up."""
    action = Action.INVITE_RESEND
    authorize(actor, action)
    invitation = access_by_id(session, actor, action, Invitation, invitation_id, for_update=True)
    company = _actor_company(session, actor, action)
    if invitation.accepted_at is not None:
        raise Conflict("error.invite_already_accepted")
    if invitation.revoked_at is not None:
        raise Conflict("error.invite_revoked")
    identity.refuse_taken_email(session, invitation.email)
    with quotas.invitation_mail(actor, company.id, invitation.email):
        now = clock.now()
        token = secrets.token_urlsafe(32)
        before_expiry = invitation.expires_at
        invitation.token_hash = identity.hash_token(token)
        invitation.expires_at = now + INVITE_TTL
        _save_and_audit(
            session,
            actor,
            invitation,
            AuditAction.INVITE_RESENT,
            changes={
                "email": invitation.email,
                "expires_at": {"before": before_expiry.isoformat(), "after": invitation.expires_at.isoformat()},
            },
        )
        _send_invite_mail(actor, company, invitation, token)
        return invitation_info(invitation, now)


def revoke(session: Session, actor: Actor, invitation_id: uuid.UUID) -> InvitationInfo:
    """Kill an invitation's link. Revoking a revoked one changes nothing; an accepted one is a Conflict."""
    action = Action.INVITE_REVOKE
    authorize(actor, action)
    invitation = access_by_id(session, actor, action, Invitation, invitation_id, for_update=True)
    if invitation.accepted_at is not None:
        raise Conflict("error.invite_already_accepted")
    now = clock.now()
    if invitation.revoked_at is None:
        invitation.revoked_at = now
        _save_and_audit(
            session,
            actor,
            invitation,
            AuditAction.INVITE_REVOKED,
            changes={"email": invitation.email, "role": Role(invitation.role).value},
        )
    return invitation_info(invitation, now)


# ---- the invitee's side (no actor yet: the token is the credential) -------------------------------


def describe(session: Session, token: str | None) -> InvitePreview:
    """Company, email and role behind a link, or NotFound("error.invite_invalid") for any dead link."""
    invitation, company = _usable_invitation(session, token, lock=False)
    return InvitePreview(company_name=company.name, email=invitation.email, role=Role(invitation.role))


def accept(
    session: Session, token: str | None, *, full_name: str, password: str, ip: str = "", user_agent: str = ""
) -> tuple[str, Actor]:
    """Create the account the invitation describes and log it in: (session token, Actor).

    Single use: the invitation row is locked, checked and marked accepted in this transaction.
    """
    invitation, company = _usable_invitation(session, token, lock=True)
    name = identity.normalize_person_name(full_name)
    identity.validate_password(password, email=invitation.email, name=name)
    return join_by_invitation(
        session,
        invitation,
        company,
        full_name=name,
        password_hash=hash_password(password),
        method="invitation",
        ip=ip,
        user_agent=user_agent,
    )


def join_by_invitation(
    session: Session,
    invitation: Invitation,
    company: Company,
    *,
    full_name: str,
    password_hash: str,
    method: str,
    ip: str = "",
    user_agent: str = "",
) -> tuple[str, Actor]:
    """The account a live (locked) invitation describes, created and signed in: by its link and a chosen
    password (`accept`), or by the company's identity provider (services/people/sso.py)."""
    name = full_name
    # The invitee proves the address by opening this link: an unverified sign-up of it cannot keep them out.
    identity.discard_pending_sign_up(session, invitation.email)
    identity.refuse_taken_email(session, invitation.email)
    billing.check_seat_limit(session, company.id)

    now = clock.now()
    role = Role(invitation.role)
    user = User(
        company_id=company.id,
        email=invitation.email,
        full_name=name,
        password_hash=password_hash,
        role=role,
        is_active=True,
        last_login_at=now,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the same email accepted through another company's invite just now
        raise Conflict("error.email_taken") from exc

    # Projects deleted since the invitation was sent are skipped.
    project_ids: list[uuid.UUID] = []
    if role is not Role.MANAGER and invitation.project_ids:
        project_ids = list(
            session.exec(
                select(Project.id).where(
                    Project.company_id == company.id, col(Project.id).in_(list(invitation.project_ids))
                )
            ).all()
        )
        for project_id in project_ids:
            session.add(ProjectMember(project_id=project_id, user_id=user.id, company_id=company.id, created_at=now))

    invitation.accepted_at = now
    session.add(invitation)
    session.flush()
    session_token = identity.open_session(session, user, ip=ip, user_agent=user_agent, method=method, company=company)
    actor = identity.actor_for(user, company, ip=ip, user_agent=user_agent)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.INVITE_ACCEPTED,
        company_id=company.id,
        target_type=AuditTarget.INVITATION,
        target_id=invitation.id,
        changes={
            "user_id": str(user.id),
            "email": user.email,
            "role": role.value,
            "project_ids": [str(p) for p in project_ids],
        },
        ip=ip,
        user_agent=user_agent,
    )
    return session_token, actor


# ---- rules shared with services.people.team ---------------------------------------------------------


def require_invitable_role(role: Role) -> None:
    """manager, worker or client; never admin (the operator is not a company role)."""
    if role not in INVITABLE_ROLES:
        raise ValidationFailed("error.invalid_role")


# ---- internals ------------------------------------------------------------------------------------


def _save_and_audit(
    session: Session, actor: Actor, invitation: Invitation, action: AuditAction, *, changes: dict[str, Any]
) -> None:
    """Flush the invitation and record `action` on it in the audit log."""
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        company_id=invitation.company_id,
        target_type=AuditTarget.INVITATION,
        target_id=invitation.id,
        changes=changes,
    )


def _actor_company(session: Session, actor: Actor, action: Action) -> Company:
    """The actor's company, which must be active to invite anyone into it."""
    company = access_by_id(session, actor, action, Company, company_id_of(actor))
    if company.status is not CompanyStatus.ACTIVE:
        raise Conflict("error.company_deactivated")
    return company


def _company_project_ids(
    session: Session, actor: Actor, action: Action, project_ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """The given projects, each of which must belong to the company (another company's is NotFound)."""
    wanted = list(dict.fromkeys(project_ids))
    if len(wanted) > MAX_PROJECTS_PER_INVITE:
        raise ValidationFailed("error.too_many_projects")
    return [project.id for project in access_all_by_id(session, actor, action, Project, wanted)]


def _usable_invitation(session: Session, token: str | None, *, lock: bool) -> tuple[Invitation, Company]:
    """The invitation behind a live link: unknown, expired, used, revoked or of a deactivated company
    all answer the same NotFound, so a link reveals nothing about why it is dead."""
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound(INVITE_INVALID)
    query = select(Invitation).where(Invitation.token_hash == identity.hash_token(token))
    if lock:
        query = query.with_for_update()
    invitation = session.exec(query).first()
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise NotFound(INVITE_INVALID)
    if clock.now() >= invitation.expires_at:
        raise NotFound(INVITE_INVALID)
    company_query = select(Company).where(Company.id == invitation.company_id)
    if lock:
        # A deactivation running at the same moment waits for this accept (and then ends its session).
        company_query = company_query.with_for_update(read=True)
    company = session.exec(company_query).first()
    if company is None or company.status is not CompanyStatus.ACTIVE:
        raise NotFound(INVITE_INVALID)
    return invitation, company


def _send_invite_mail(actor: Actor, company: Company, invitation: Invitation, token: str) -> None:
    """The subject is the product's own words: names and company names are typed by whoever signed up,
    and a subject line is what a phishing mail needs most. The body says who invites you where."""
    link = mailer.app_link(f"/invite/{token}")
    role = Role(invitation.role).value
    expires = mailer.mail_time(invitation.expires_at)
    body = (
        f"Hello,\n\n"
        f'{actor.full_name} invited you to join the company "{company.name}" on Workdash as a {role}.\n\n'
        f"Open this link to choose your name and password:\n\n"
        f"    {link}\n\n"
        f"The link works once and expires on {expires}.\n"
        f"If you did not expect this invitation, ignore this message: nothing happens until the link is opened.\n"
    )
    mailer.send_mail(invitation.email, INVITE_SUBJECT, body)
