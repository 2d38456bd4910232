"""Two-factor sign-in from the account page, the company's requirement, and the enrolment a required
user goes through at the second step of a sign-in. The mechanics are in services/identity/totp.py.

- `two_factor_status`, `start_two_factor`, `confirm_two_factor`: the actor's own (TWO_FACTOR_MANAGE).
  Starting makes a new key and ten recovery codes, shown once; a current code of the new key turns it
  on (audited). Until then nothing is asked at sign-in.
- `regenerate_recovery_codes`, `disable_two_factor`: the password and a current code (or, to turn it
  off, an unused recovery code) first, under the account's throttles; every other session of the
  actor ends; audited. Turning it off is refused while it is required (the company's rule, or the
  operator outside local/test); it removes the key, the codes and every trusted browser.
- `revoke_trusted_browser`: one of the actor's own (another's is NotFound); audited.
- `company_security`, `set_two_factor_required`: a Manager's, for the own company
  (COMPANY_SECURITY_EDIT); audited. Members without a second factor set one up at their next sign-in.
- `start_sign_in_enrolment`: the second step's page of a pending sign-in that must enrol (no actor yet:
  the pending sign-in's token is the credential).

Each runs in the caller's transaction and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import Company, TrustedBrowser, TwoFactorCredential, User
from services import audit
from services.audit import AuditAction, AuditTarget
from services.core import clock, throttle
from services.core.access import access_by_id, company_id_of
from services.core.actor import Actor
from services.core.errors import AuthenticationFailed, Conflict, NotFound, ValidationFailed
from services.core.policy import Action
from services.identity import auth, totp
from services.identity.accounts import check_current_password


@dataclass(frozen=True)
class TrustedBrowserInfo:
    id: uuid.UUID
    user_agent: str
    ip: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    required: bool
    recovery_codes_left: int
    trusted_browsers: tuple[TrustedBrowserInfo, ...]


@dataclass(frozen=True)
class CompanySecurity:
    require_two_factor: bool
    members_without_two_factor: int


# ---- the actor's own ---------------------------------------------------------------------------


def two_factor_status(session: Session, actor: Actor) -> TwoFactorStatus:
    user, company = _own(session, actor)
    browsers = totp.active_trusted_browsers(session, user.id)
    return TwoFactorStatus(
        enabled=totp.is_enabled(session, user.id),
        required=totp.is_required(user, company),
        recovery_codes_left=totp.recovery_codes_left(session, user.id),
        trusted_browsers=tuple(
            TrustedBrowserInfo(b.id, b.user_agent, b.ip, b.created_at, b.expires_at) for b in browsers
        ),
    )


def start_two_factor(session: Session, actor: Actor) -> totp.Enrolment:
    """A new key and recovery codes to show once; Conflict("error.two_factor_already_on") when it is on."""
    user, _company = _own(session, actor)
    return totp.begin_enrolment(session, user)


def confirm_two_factor(session: Session, actor: Actor, code: str) -> None:
    """Turn the started key on with one of its current codes: ValidationFailed("error.two_factor_code_wrong")
    otherwise (counted on the account's TWO_FACTOR_ACCOUNT throttle), NotFound when none was started."""
    user, _company = _own(session, actor)
    found = totp.credential(session, user.id)
    if found is None or found.confirmed_at is not None:
        raise NotFound("error.two_factor_not_started")
    _with_code_throttle(user, lambda: totp.confirm_enrolment(session, user.id, code))
    audit.record(
        session,
        actor=actor,
        action=AuditAction.TWO_FACTOR_ENABLED,
        company_id=user.company_id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={"at": "account"},
    )


def regenerate_recovery_codes(
    session: Session, actor: Actor, *, password: str, code: str, current_token: str | None
) -> tuple[str, ...]:
    """New recovery codes (the old ones stop working) after the password and a current code."""
    user, _company = _own(session, actor)
    if not totp.is_enabled(session, user.id):
        raise NotFound("error.two_factor_not_on")
    check_current_password(user, password)
    _with_code_throttle(user, lambda: totp.verify_code(session, user.id, code))
    codes = totp.replace_recovery_codes(session, user)
    ended = _end_other_sessions(session, actor, user, current_token, "recovery_codes_regenerated")
    audit.record(
        session,
        actor=actor,
        action=AuditAction.RECOVERY_CODES_REGENERATED,
        company_id=user.company_id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={"other_sessions_ended": ended},
    )
    return codes


def disable_two_factor(session: Session, actor: Actor, *, password: str, code: str, current_token: str | None) -> None:
    """Turn two-factor off after the password and a current code (or an unused recovery code)."""
    user, company = _own(session, actor)
    if not totp.is_enabled(session, user.id):
        raise NotFound("error.two_factor_not_on")
    if totp.is_required(user, company):
        raise Conflict("error.two_factor_required")
    check_current_password(user, password)
    _with_code_throttle(user, lambda: totp.verify_code_or_recovery(session, user.id, code) is not None)
    totp.remove(session, user.id)
    ended = _end_other_sessions(session, actor, user, current_token, "two_factor_disabled")
    audit.record(
        session,
        actor=actor,
        action=AuditAction.TWO_FACTOR_DISABLED,
        company_id=user.company_id,
        target_type=AuditTarget.USER,
        target_id=user.id,
        changes={"other_sessions_ended": ended},
    )


def revoke_trusted_browser(session: Session, actor: Actor, browser_id: uuid.UUID) -> None:
    """Stop trusting one of the actor's browsers: its next sign-in asks for a code again."""
    row = access_by_id(session, actor, Action.TWO_FACTOR_MANAGE, TrustedBrowser, browser_id, for_update=True)
    if row.revoked_at is not None or clock.now() >= row.expires_at:
        raise NotFound()
    row.revoked_at = clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.TRUSTED_BROWSER_REVOKED,
        company_id=actor.company_id,
        target_type=AuditTarget.USER,
        target_id=actor.user_id,
        changes={"browser": str(row.id), "user_agent": row.user_agent},
    )


# ---- the company's rule ------------------------------------------------------------------------


def company_security(session: Session, actor: Actor) -> CompanySecurity:
    company = access_by_id(session, actor, Action.COMPANY_SECURITY_EDIT, Company, company_id_of(actor))
    enrolled = select(TwoFactorCredential.user_id).where(col(TwoFactorCredential.confirmed_at).is_not(None))
    without = session.exec(
        select(sa.func.count()).where(
            col(User.company_id) == company.id,
            col(User.is_active).is_(True),
            col(User.id).not_in(enrolled),
        )
    ).one()
    return CompanySecurity(require_two_factor=company.require_two_factor, members_without_two_factor=int(without))


def set_two_factor_required(session: Session, actor: Actor, required: bool) -> None:
    company = access_by_id(session, actor, Action.COMPANY_SECURITY_EDIT, Company, company_id_of(actor), for_update=True)
    if company.require_two_factor == required:
        return
    company.require_two_factor = required
    session.add(company)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=AuditAction.COMPANY_SECURITY_CHANGED,
        company_id=company.id,
        target_type=AuditTarget.COMPANY,
        target_id=company.id,
        changes={"require_two_factor": required},
    )


# ---- the second step of a sign-in that must enrol ----------------------------------------------


def pending_step(pending_token: str | None) -> totp.SecondStep | None:
    """What the second step's page shows for this browser's pending sign-in (None: none, sign in again)."""
    found = totp.pending(pending_token)
    return found.step if found is not None else None


def start_sign_in_enrolment(session: Session, pending_token: str | None) -> totp.Enrolment:
    """A new key and recovery codes for the user of a pending sign-in that must enrol (system scope)."""
    found = totp.pending(pending_token)
    user = session.get(User, found.user_id) if found is not None else None
    if found is None or found.step is not totp.SecondStep.ENROL or user is None or not user.is_active:
        raise AuthenticationFailed("error.sign_in_expired")
    return totp.begin_enrolment(session, user, reuse_within=timedelta(seconds=totp.PENDING_SECONDS))


# ---- internals ---------------------------------------------------------------------------------


def _own(session: Session, actor: Actor) -> tuple[User, Company | None]:
    user = access_by_id(session, actor, Action.TWO_FACTOR_MANAGE, User, actor.user_id)
    company = session.get(Company, user.company_id) if user.company_id else None
    return user, company


def _with_code_throttle(user: User, check: Callable[[], bool]) -> None:
    """Run `check` (a code check) under the account's TWO_FACTOR_ACCOUNT throttle; a wrong code stays
    counted and raises ValidationFailed("error.two_factor_code_wrong")."""
    claim = throttle.begin((throttle.TWO_FACTOR_ACCOUNT, str(user.id)))
    try:
        accepted = bool(check())
    except BaseException:
        throttle.refund_all(claim)
        raise
    if not accepted:
        raise ValidationFailed("error.two_factor_code_wrong")
    throttle.settle(claim, clear=claim.keys)


def _end_other_sessions(session: Session, actor: Actor, user: User, current_token: str | None, reason: str) -> int:
    keep = auth.session_id_for_token(session, current_token, user.id)
    return auth.revoke_user_sessions(session, user.id, reason=reason, actor=actor, keep_session_id=keep)
