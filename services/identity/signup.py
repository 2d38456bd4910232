"""Sign-up, verification first: a new company and its first manager exist, unusable, until the
emailed link is opened.

1. `sign_up` checks the form, hashes the password and then, under a lock on the address:
   - a new address, or one whose earlier sign-up is still unverified (that sign-up is deleted with
     its company, so its link dies and nobody can squat an address): the company, its manager
     (inactive: no login, no session, no trial) and a `SignupVerification` holding the SHA-256 of a
     random link token (`secrets.token_urlsafe(32)`), valid for SIGNUP_TTL; the link is mailed;
   - an address that already has an account: nothing is written; the address gets a "someone tried
     to sign up with your address" mail instead.
   Both return None after the same argon2 hash and one mail, so neither the answer nor its timing
   tells whether the address has an account. Mail to one address is limited per hour whatever the
   branch (services.core.quota), and no mail carries text the signer typed.
2. `describe_sign_up`: what a live link confirms (company name, email). Unknown, used, expired or
   deactivated: the same NotFound("error.signup_link_invalid").
3. `verify_sign_up`: the password chosen at sign-up must match (so whoever opens a link someone else
   triggered cannot activate that person's account; guesses count like failed logins of the
   account). The manager becomes active, the trial starts now, the row is deleted (single use) and
   a session opens; audited as company_created, signup and login.
Expired sign-ups are deleted with their company by the worker (services.identity.jobs); an invitee
who accepts an invitation to the address discards a pending sign-up first (`discard_pending_sign_up`).

All of it is system work (`system_scope()`: no actor yet) in the caller's transaction; nothing
commits. Mail goes out after the rows are flushed: if it fails the caller rolls everything back.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import Company, CompanyStatus, Role, SignupVerification, User
from services import audit, billing
from services.audit import AuditAction, AuditTarget
from services.core import clock, mailer, quota, throttle
from services.core.actor import Actor
from services.core.errors import NotFound, ValidationFailed
from services.core.passwords import hash_password, verify_password
from services.core.settings import get_settings
from services.identity import auth
from services.identity.accounts import (
    insert_company,
    normalize_company_name,
    normalize_person_name,
    normalize_signup_email,
    trial_plan,
    validate_password,
)

SIGNUP_TTL = timedelta(hours=24)
SIGNUP_LINK_INVALID = "error.signup_link_invalid"
VERIFY_SUBJECT = "Confirm your email address for Workdash"
KNOWN_ADDRESS_SUBJECT = "Someone tried to sign up for Workdash with your address"


@dataclass(frozen=True)
class SignupPreview:
    """What the verification page shows before the password is entered."""

    company_name: str
    email: str


def _mail_quota() -> quota.Quota:
    return quota.Quota("signup-mail-address", get_settings().signup_mails_per_address_per_hour, timedelta(hours=1))


# ---- 1. the form ----------------------------------------------------------------------------


def sign_up(
    session: Session,
    *,
    company_name: str,
    full_name: str,
    email: str,
    password: str,
    ip: str = "",
) -> None:
    """Start a sign-up (see the module docstring); the same None whether the address is known or not.

    ValidationFailed names the first bad field; ServiceUnavailable("error.no_plans") when the operator
    has no active plan, ("error.mail_failed") when the mail could not be sent; RateLimited when this
    IP has tried too often or the address got too much sign-up mail.
    """
    throttle.begin((throttle.SIGNUP_IP, ip or ""))  # every attempt counts, successful or not
    company_name = normalize_company_name(company_name)
    full_name = normalize_person_name(full_name)
    email = normalize_signup_email(email)
    validate_password(password, email=email, name=full_name)
    trial_plan(session)  # no plan, no sign-up: say so now rather than after the link
    password_hash = hash_password(password)  # in both branches: a known address answers as slowly
    _lock_address(session, email)
    with quota.spend((_mail_quota(), email)):
        existing = session.exec(select(User).where(sa.func.lower(User.email) == email)).first()
        if existing is not None and _pending_of(session, existing) is None:
            _send_known_address_mail(email)
            return
        if existing is not None and existing.company_id is not None:
            _delete_company(session, existing.company_id)  # an unverified sign-up: replaced
        token = _create_pending(session, company_name, full_name, email, password_hash)
        if token is None:  # the address got an account a moment ago, outside our lock
            _send_known_address_mail(email)
            return
        _send_verification_mail(email, token)


def discard_pending_sign_up(session: Session, email: str) -> None:
    """Delete an unverified sign-up of `email` (with its company): the caller proved the address otherwise."""
    email = auth.normalize_email(email)
    _lock_address(session, email)
    user = session.exec(select(User).where(sa.func.lower(User.email) == email)).first()
    if user is not None and user.company_id is not None and _pending_of(session, user) is not None:
        _delete_company(session, user.company_id)


# ---- 2. and 3. the link ---------------------------------------------------------------------


def describe_sign_up(session: Session, token: str | None) -> SignupPreview:
    """Company name and email behind a live link, or NotFound("error.signup_link_invalid")."""
    _verification, user, company = _usable(session, token, lock=False)
    return SignupPreview(company_name=company.name, email=user.email)


def verify_sign_up(
    session: Session, token: str | None, *, password: str, ip: str = "", user_agent: str = ""
) -> tuple[str, Actor]:
    """Activate the sign-up behind a live link and log the manager in: (session token, Actor).

    NotFound("error.signup_link_invalid") for a dead link; ValidationFailed("error.signup_password_required"
    / "error.signup_password_wrong"); RateLimited after repeated wrong passwords (the account's login
    throttle); ServiceUnavailable("error.no_plans") when no plan is active any more.
    """
    verification, user, company = _usable(session, token, lock=True)
    if not isinstance(password, str) or not password:
        raise ValidationFailed("error.signup_password_required")
    claim = throttle.begin((throttle.LOGIN_ACCOUNT, user.email))
    try:
        matches = len(password) <= auth.MAX_PASSWORD_LENGTH and verify_password(password, user.password_hash)[0]
    except BaseException:
        throttle.refund_all(claim)
        raise
    if not matches:
        raise ValidationFailed("error.signup_password_wrong")  # the guess stays counted
    throttle.settle(claim, clear=claim.keys)
    plan = trial_plan(session)

    user.is_active = True
    session.add(user)
    session.delete(verification)
    trial = billing.start_trial(session, company.id, plan)

    actor = auth.actor_for(user, company, ip=ip, user_agent=user_agent)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.COMPANY_CREATED,
        company_id=company.id,
        target_type=AuditTarget.COMPANY,
        target_id=company.id,
        changes={"name": company.name, "slug": company.slug, "via": "signup"},
    )
    audit.record(
        session,
        actor=actor,
        action=AuditAction.SIGNUP,
        company_id=company.id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={
            "email": user.email,
            "role": Role.MANAGER.value,
            "trial_plan": plan.code,
            "trial_ends_at": trial.ends_at,
        },
    )
    session_token = auth.open_session(session, user, ip=ip, user_agent=user_agent, method="signup", company=company)
    return session_token, actor


# ---- internals ------------------------------------------------------------------------------


def _lock_address(session: Session, email: str) -> None:
    """Serialize sign-ups and acceptances of one address (replace / discard the pending one safely)."""
    session.exec(select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"signup:{email}", 0))))


def _pending_of(session: Session, user: User) -> SignupVerification | None:
    return session.exec(select(SignupVerification).where(SignupVerification.user_id == user.id)).first()


def _delete_company(session: Session, company_id: uuid.UUID) -> None:
    """One DELETE: the manager, the pending row (and anything else of the company) go with it."""
    session.execute(sa.delete(Company).where(col(Company.id) == company_id))
    session.expire_all()  # rows deleted behind the session's back must not be flushed again


def _create_pending(session: Session, company_name: str, full_name: str, email: str, password_hash: str) -> str | None:
    """The unusable company, its inactive manager and the link row; the raw link token, or None
    when the address turned out to be taken (nothing is left behind then)."""
    token = secrets.token_urlsafe(32)
    try:
        with session.begin_nested():
            company = insert_company(session, company_name)
            user = User(
                company_id=company.id,
                email=email,
                full_name=full_name,
                password_hash=password_hash,
                role=Role.MANAGER,
                is_active=False,
            )
            session.add(user)
            session.flush()
            session.add(
                SignupVerification(
                    company_id=company.id,
                    user_id=user.id,
                    token_hash=auth.hash_token(token),
                    expires_at=clock.now() + SIGNUP_TTL,
                )
            )
            session.flush()
    except IntegrityError:
        return None
    return token


def _usable(session: Session, token: str | None, *, lock: bool) -> tuple[SignupVerification, User, Company]:
    """The pending sign-up behind a live link; every dead link answers the same NotFound."""
    token = token.strip() if isinstance(token, str) else ""
    if not token or len(token) > auth.MAX_TOKEN_LENGTH:
        raise NotFound(SIGNUP_LINK_INVALID)
    query = (
        select(SignupVerification, User, Company)
        .join(User, col(User.id) == col(SignupVerification.user_id))
        .join(Company, col(Company.id) == col(SignupVerification.company_id))
        .where(col(SignupVerification.token_hash) == auth.hash_token(token))
    )
    if lock:
        query = query.with_for_update(of=SignupVerification)  # a second opening of the link waits, then finds nothing
    row = session.exec(query).first()
    if row is None:
        raise NotFound(SIGNUP_LINK_INVALID)
    verification, user, company = row
    if clock.now() >= verification.expires_at or company.status is not CompanyStatus.ACTIVE:
        raise NotFound(SIGNUP_LINK_INVALID)
    return verification, user, company


def _send_verification_mail(email: str, token: str) -> None:
    expires = mailer.mail_time(clock.now() + SIGNUP_TTL)
    body = (
        "Hello,\n\n"
        "Someone, hopefully you, started creating a company on Workdash with this email address.\n\n"
        "To confirm the address and start your trial, open this link and enter the password you chose:\n\n"
        f"    {mailer.app_link(f'/verify/{token}')}\n\n"
        f"The link works once and expires on {expires}.\n"
        "If you did not sign up, ignore this message: nothing is created until the link is opened.\n"
    )
    mailer.send_mail(email, VERIFY_SUBJECT, body)


def _send_known_address_mail(email: str) -> None:
    body = (
        "Hello,\n\n"
        "Someone tried to create a new company on Workdash with this email address, which already has an\n"
        "account. Nothing was changed.\n\n"
        "If it was you, sign in instead:\n\n"
        f"    {mailer.app_link('/login')}\n\n"
        "If it was not you, ignore this message.\n"
    )
    mailer.send_mail(email, KNOWN_ADDRESS_SUBJECT, body)
