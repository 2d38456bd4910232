"""Password reset ("forgot password?"): a mailed single-use link that sets a new password.

1. `request_password_reset(email)` answers None whatever the address, after the same work: the
   request counts on the IP's throttle (RESET_REQUEST_IP, every attempt) and the address's mail quota
   (`PASSWORD_RESET_MAILS_PER_ADDRESS_PER_HOUR`), and a random link token is made and hashed in every
   case. Only an active account of an active company gets a row (the token's SHA-256, valid
   RESET_TTL; the account's earlier unused links are deleted) and a `ResetMail`, which the caller
   sends with `send_reset_mail` once the transaction has committed AND the answer has gone (the HTTP
   route does it as a background task): so a known address is answered as fast as an unknown one
   even with a slow SMTP server. A mail that fails then is logged; the row stays and the owner can
   ask again. Unknown, deactivated or unverified addresses get nothing: no row, no mail, no audit
   entry.
2. `describe_password_reset(token)`: the account's address behind a live link. Unknown, used, expired,
   or an account/company deactivated since: the same NotFound("error.reset_link_invalid").
3. `reset_password(token, new_password)`: the password rules of services/identity/accounts.py; the
   link is used up (`used_at`, under a row lock: a second opening waits, then finds it used), every
   session of the user ends (the session caches of every process drop them at commit), the account's
   sign-in throttle is forgotten (the owner proved the mailbox) and it is audited as password_reset.
   It never signs in: with two-factor the second step must still be passed at the sign-in page.
   Dead links count on the IP's RESET_LINK_IP throttle (a 256-bit token is not guessable; this keeps
   a script from trying).

System work (`system_scope()`: no actor yet) in the caller's transaction; nothing commits.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import Company, CompanyStatus, PasswordReset, User
from services import audit
from services.audit import AuditAction, AuditTarget
from services.core import clock, mailer, quota, throttle
from services.core.errors import NotFound
from services.core.passwords import hash_password
from services.core.settings import get_settings
from services.identity import auth
from services.identity.accounts import normalize_signup_email, validate_password

log = logging.getLogger(__name__)

RESET_TTL = timedelta(minutes=30)
RESET_LINK_INVALID = "error.reset_link_invalid"
RESET_SUBJECT = "Reset your Workdash password"


@dataclass(frozen=True)
class ResetPreview:
    """What the reset page shows before the new password is entered."""

    email: str


@dataclass(frozen=True)
class ResetMail:
    """A reset link to mail after the answer (see the module docstring); the token never reaches a log."""

    email: str
    token: str = field(repr=False)
    expires_at: datetime


def _mail_quota() -> quota.Quota:
    return quota.Quota(
        "reset-mail-address", get_settings().password_reset_mails_per_address_per_hour, timedelta(hours=1)
    )


def request_password_reset(session: Session, email: str, *, ip: str = "") -> ResetMail | None:
    """A reset link for `email` if it is an active account (see the module docstring), to be sent with
    `send_reset_mail` after the commit and the answer; None for any other address.

    ValidationFailed for an empty or malformed address (syntax only: it tells nothing about accounts);
    RateLimited when the IP or the address must wait.
    """
    throttle.begin((throttle.RESET_REQUEST_IP, ip or ""))  # every request counts, known address or not
    address = normalize_signup_email(email)
    token = secrets.token_urlsafe(32)
    token_hash = auth.hash_token(token)  # made in both branches: a known address costs the same
    with quota.spend((_mail_quota(), address)):
        user = _resettable_user(session, address)
        if user is None:
            return None
        session.execute(
            sa.delete(PasswordReset).where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
        )
        expires_at = clock.now() + RESET_TTL
        row = PasswordReset(company_id=user.company_id, user_id=user.id, token_hash=token_hash, expires_at=expires_at)
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=None,
            action=AuditAction.PASSWORD_RESET_REQUESTED,
            company_id=user.company_id,
            target_type=AuditTarget.USER,
            target_id=user.id,
            actor_email=user.email,
            ip=ip,
        )
        return ResetMail(email=user.email, token=token, expires_at=expires_at)


def describe_password_reset(session: Session, token: str | None) -> ResetPreview:
    """The address behind a live link, or NotFound("error.reset_link_invalid")."""
    _row, user = _usable(session, token, lock=False)
    return ResetPreview(email=user.email)


def reset_password(
    session: Session, token: str | None, *, new_password: str, ip: str = "", user_agent: str = ""
) -> int:
    """Set a new password through a live link and end every session of its user; returns how many ended.

    NotFound("error.reset_link_invalid") for a dead link (counted on the IP's RESET_LINK_IP throttle),
    ValidationFailed for a password the rules refuse (the link stays usable), RateLimited.
    """
    claim = throttle.begin((throttle.RESET_LINK_IP, ip or ""))
    try:
        row, user = _usable(session, token, lock=True)
    except NotFound:
        raise  # the attempt stays counted
    except BaseException:
        throttle.refund_all(claim)
        raise
    throttle.refund_all(claim)  # a live link is no guess
    validate_password(new_password, email=user.email, name=user.full_name)

    now = clock.now()
    user.password_hash = hash_password(new_password)
    row.used_at = now
    session.add(user)
    session.add(row)
    session.flush()
    actor = auth.actor_for(user, ip=ip, user_agent=user_agent)
    ended = auth.revoke_user_sessions(session, user.id, reason="password_reset", actor=actor)
    audit.record(
        session,
        actor=actor,
        action=AuditAction.PASSWORD_RESET,
        company_id=user.company_id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={"sessions_ended": ended},
    )
    throttle.reset(throttle.LOGIN_ACCOUNT, auth.normalize_email(user.email))
    return ended


# ---- internals ------------------------------------------------------------------------------


def _resettable_user(session: Session, address: str) -> User | None:
    """The active account of `address` in an active company (or an active admin), else None."""
    row = session.exec(
        select(User, Company)
        .outerjoin(Company, col(Company.id) == col(User.company_id))
        .where(sa.func.lower(User.email) == address)
    ).first()
    if row is None:
        return None
    user, company = row
    if not user.is_active or (company is not None and company.status is not CompanyStatus.ACTIVE):
        return None
    return user


def _usable(session: Session, token: str | None, *, lock: bool) -> tuple[PasswordReset, User]:
    """The unused, unexpired reset behind `token` with its (still active) user; else NotFound."""
    token = token.strip() if isinstance(token, str) else ""
    if not token or len(token) > auth.MAX_TOKEN_LENGTH:
        raise NotFound(RESET_LINK_INVALID)
    query = (
        select(PasswordReset, User)
        .join(User, col(User.id) == col(PasswordReset.user_id))
        .where(col(PasswordReset.token_hash) == auth.hash_token(token))
    )
    if lock:
        query = query.with_for_update(of=PasswordReset)
    found = session.exec(query).first()
    if found is None:
        raise NotFound(RESET_LINK_INVALID)
    row, user = found
    if row.used_at is not None or clock.now() >= row.expires_at:
        raise NotFound(RESET_LINK_INVALID)
    if _resettable_user(session, auth.normalize_email(user.email)) is None:
        raise NotFound(RESET_LINK_INVALID)
    return row, user


def send_reset_mail(mail: ResetMail) -> None:
    """Send the link (blocking: SMTP). Called after the answer went out, so a failure is only logged."""
    try:
        _send_reset_mail(mail.email, mail.token, mail.expires_at)
    except Exception:
        log.exception("password reset mail to a member could not be sent")


def _send_reset_mail(email: str, token: str, expires_at: datetime) -> None:
    expires = mailer.mail_time(expires_at)
    body = (
        "Hello,\n\n"
        "Someone, hopefully you, asked to reset the password of your Workdash account.\n\n"
        "To choose a new password, open this link:\n\n"
        f"    {mailer.app_link(f'/reset/{token}')}\n\n"
        f"The link works once and expires on {expires}. Setting a new password signs you out everywhere.\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
    )
    mailer.send_mail(email, RESET_SUBJECT, body)
