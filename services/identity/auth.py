"""Login, sessions and logout.

The browser holds a random session token in an HttpOnly cookie; the database holds only its SHA-256.
Every request resolves the Actor from it, checking idle and absolute expiry and revocation
(`resolve_actor`: through a per-process cache that every revocation empties on every process within
a second, see services/identity/session_cache.py).

Everything here runs in the caller's transaction and system scope (`services.core.db.system_scope()`);
nothing commits, with one exception: a failed login commits its `login_failed` audit entry before
raising, because the caller rolls its transaction back on the error and the entry must survive.

Login is throttled per account and per IP (services.core.throttle): unknown email and wrong password
cost the same (one argon2 verification each, against a dummy hash for unknown emails) and fail
with the same message. A browser that signed in to the account before presents a device cookie
(OWASP's "device cookies"): an HMAC under SECRET_KEY of the account's email, a random device id and
the issue time. With a valid one its attempts are counted on its own key (LOGIN_DEVICE) instead of
the account's, so strangers' failures cannot keep the owner out while unknown browsers still wait.
Signing in on a browser that still carries a session ends that session first (`previous_token`).

Two-factor (services/identity/totp.py): when the account has a second factor (and the browser is not
one it trusted), or must set one up, a right password opens no session: `login` raises
SecondFactorRequired with a pending sign-in's token, and `complete_sign_in` opens the session once a
current code or an unused recovery code (or, for an enrolment, the first code of the new key) is
given. Its guesses are throttled like passwords: per account (TWO_FACTOR_ACCOUNT) and per IP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from models import Company, CompanyStatus, Role, SsoProvider, User, UserSession
from services import audit
from services.audit import AuditAction, AuditTarget
from services.core import clock, throttle
from services.core.access import access_by_id
from services.core.actor import Actor
from services.core.db import system_scope
from services.core.errors import AuthenticationFailed, NotFound, ValidationFailed
from services.core.passwords import verify_password
from services.core.policy import Action, authorize
from services.core.settings import get_settings
from services.identity import session_cache, totp
from services.identity.session_cache import LAST_SEEN_EVERY, SessionCache

log = logging.getLogger(__name__)

SESSION_COOKIE = "wd_session"  # the base name: browsers get session_cookie_name()
MAX_EMAIL_LENGTH = 320
MAX_PASSWORD_LENGTH = 1024  # argon2 happily hashes megabytes; refuse to
MAX_TOKEN_LENGTH = 128
MAX_IP_LENGTH = 64
MAX_USER_AGENT_LENGTH = 512
DEVICE_COOKIE = "wd_device"  # the base name: browsers get device_cookie_name()
DEVICE_COOKIE_DAYS = 180
PENDING_COOKIE = "wd_pending"  # the base names: browsers get pending_cookie_name(), trusted_cookie_name()
TRUSTED_COOKIE = "wd_trusted"
MAX_DEVICE_COOKIE_LENGTH = 256


class SecondFactorRequired(Exception):
    """The password was right and a second step is due: no session is open. Raised rather than returned,
    so no caller of `login` can open a session past the second factor by overlooking a result."""

    def __init__(self, pending_token: str, step: totp.SecondStep) -> None:
        super().__init__(step.value)
        self.pending_token = pending_token
        self.step = step


@dataclass(frozen=True)
class SignedIn:
    """A completed second step: the session's token, its Actor, and a trusted browser's token if asked."""

    token: str
    actor: Actor
    trusted_token: str | None


@dataclass(frozen=True)
class SessionInfo:
    """One of the user's own active sessions, as "your sessions" shows it (no token, no hash)."""

    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    ip: str
    user_agent: str
    current: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def session_cookie_name() -> str:
    """The session cookie's name, for setting, clearing and reading it alike.

    With Secure cookies (production, https) it is `__Host-` prefixed: browsers then accept it only
    Secure, for Path=/ and without Domain, so a sibling subdomain can neither set nor overwrite it.
    """
    return f"__Host-{SESSION_COOKIE}" if get_settings().secure_cookies else SESSION_COOKIE


def session_max_age_seconds() -> int:
    return get_settings().session_absolute_hours * 3600


# ---- login ---------------------------------------------------------------------------------


def device_cookie_name() -> str:
    """The device cookie's name (`__Host-` prefixed with Secure cookies, like the session's)."""
    return f"__Host-{DEVICE_COOKIE}" if get_settings().secure_cookies else DEVICE_COOKIE


def device_cookie_max_age_seconds() -> int:
    return DEVICE_COOKIE_DAYS * 24 * 3600


def pending_cookie_name() -> str:
    """The cookie of a pending sign-in (between the password and the second step; HttpOnly, minutes)."""
    return f"__Host-{PENDING_COOKIE}" if get_settings().secure_cookies else PENDING_COOKIE


def trusted_cookie_name() -> str:
    """The cookie of a browser the user trusted to skip the second step (HttpOnly, 30 days)."""
    return f"__Host-{TRUSTED_COOKIE}" if get_settings().secure_cookies else TRUSTED_COOKIE


def _device_signature(email: str, device_id: str, issued: int) -> str:
    key = hashlib.sha256(b"device-cookie\x00" + get_settings().secret_key.get_secret_value().encode()).digest()
    mac = hmac.new(key, f"{normalize_email(email)}\x00{device_id}\x00{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def device_cookie_for(email: str) -> str:
    """A new device cookie for a browser that just signed in to `email`'s account."""
    device_id, issued = secrets.token_urlsafe(16), int(clock.now().timestamp())
    return f"{device_id}.{issued}.{_device_signature(email, device_id, issued)}"


def known_device(cookie: str | None, email: str) -> str | None:
    """The device id of `cookie` when it is a valid, unexpired device cookie of `email`'s account, else None."""
    if not cookie or len(cookie) > MAX_DEVICE_COOKIE_LENGTH or cookie.count(".") != 2:
        return None
    device_id, issued_text, signature = cookie.split(".")
    if not issued_text.isdigit() or not device_id:
        return None
    issued = int(issued_text)
    if clock.now().timestamp() - issued > device_cookie_max_age_seconds():
        return None
    expected = _device_signature(email, device_id, issued)
    return device_id if hmac.compare_digest(signature.encode(), expected.encode()) else None


def login(
    session: Session,
    email: str,
    password: str,
    *,
    user_agent: str = "",
    ip: str = "",
    device_cookie: str | None = None,
    previous_token: str | None = None,
    trusted_cookie: str | None = None,
) -> tuple[str, Actor]:
    """Check the password and open a session: (raw token, Actor).

    Unknown email, wrong password and inactive user all raise AuthenticationFailed("error.bad_credentials")
    after the same work; RateLimited when the account (or, with a valid `device_cookie`, this browser)
    or the IP must wait; ValidationFailed for empty input. On success the browser's previous session
    (`previous_token`, whoever's it was) is ended before the new one opens. SecondFactorRequired when a
    second step is due (`trusted_cookie`: a browser the user trusted skips the code); the caller's
    transaction may commit then (a rehashed password).
    """
    email = normalize_email(email or "")
    if not email or not password:
        raise ValidationFailed("error.login_required_fields")
    ip, user_agent = _clip(ip, MAX_IP_LENGTH), _clip(user_agent, MAX_USER_AGENT_LENGTH)
    attempted = email[:MAX_EMAIL_LENGTH]
    device = known_device(device_cookie, attempted)
    claim = throttle.begin_login(attempted, ip, device)  # RateLimited: nothing verified, nothing counted
    try:
        user, company, reason = _check_credentials(session, email, password)
    except BaseException:
        throttle.refund_all(claim)  # a database error is not a wrong guess
        raise
    if reason:
        _record_failed_login(session, attempted, user, reason, ip=ip, user_agent=user_agent)
        if reason == "company_deactivated":
            raise AuthenticationFailed("error.company_deactivated")
        if reason == "password_not_allowed":  # said only after the right password
            raise AuthenticationFailed("error.sso_only")
        raise AuthenticationFailed()
    if user is None:  # unreachable: no failure reason means the user was found and checked
        raise AuthenticationFailed()
    throttle.login_succeeded(claim, attempted, ip, device)
    step = totp.second_step_for(session, user, company, trusted_cookie)
    if step is not None:
        raise SecondFactorRequired(totp.begin_pending(user.id, step), step)
    logout(session, previous_token, ip=ip, user_agent=user_agent)
    token = open_session(session, user, ip=ip, user_agent=user_agent, company=company)
    return token, actor_for(user, company, ip=ip, user_agent=user_agent)


def complete_sign_in(
    session: Session,
    pending_token: str | None,
    code: str,
    *,
    ip: str = "",
    user_agent: str = "",
    previous_token: str | None = None,
    trust_browser: bool = False,
) -> SignedIn:
    """The second step: a current code of the user's key (never one accepted before) or an unused
    recovery code; for an enrolment, the first code of the key shown at the second step's page.

    AuthenticationFailed("error.sign_in_expired") when the pending sign-in is unknown, expired or done
    (sign in again), ("error.two_factor_code_wrong") for a wrong code (audited as login_failed, kept
    counted: TWO_FACTOR_ACCOUNT and the IP); RateLimited while they must wait.
    """
    ip, user_agent = _clip(ip, MAX_IP_LENGTH), _clip(user_agent, MAX_USER_AGENT_LENGTH)
    found = totp.pending(pending_token)
    user = session.get(User, found.user_id) if found is not None else None
    if found is None or user is None:
        raise AuthenticationFailed("error.sign_in_expired")
    claim = throttle.begin((throttle.TWO_FACTOR_ACCOUNT, str(user.id)), (throttle.LOGIN_IP, ip))
    try:
        if found.step is totp.SecondStep.ENROL:
            kind = "totp" if totp.confirm_enrolment(session, user.id, code) else None
        else:
            kind = totp.verify_code_or_recovery(session, user.id, code)
    except BaseException:
        throttle.refund_all(claim)
        raise
    if kind is None:
        _record_failed_login(session, normalize_email(user.email), user, "wrong_code", ip=ip, user_agent=user_agent)
        raise AuthenticationFailed("error.two_factor_code_wrong")
    if totp.take_pending(pending_token) is None:  # another request completed it meanwhile
        throttle.refund_all(claim)
        raise AuthenticationFailed("error.sign_in_expired")
    account_key = claim.key_for(throttle.TWO_FACTOR_ACCOUNT, str(user.id))
    ip_key = claim.key_for(throttle.LOGIN_IP, ip)
    throttle.settle(claim, clear=[k for k in (account_key,) if k], refund=[k for k in (ip_key,) if k])
    company = session.get(Company, user.company_id) if user.company_id else None
    actor = actor_for(user, company, ip=ip, user_agent=user_agent)
    if found.step is totp.SecondStep.ENROL:
        audit.record(
            session,
            actor=actor,
            action=AuditAction.TWO_FACTOR_ENABLED,
            company_id=user.company_id,
            target_type=AuditTarget.USER,
            target_id=user.id,
            changes={"at": "sign_in"},
        )
    logout(session, previous_token, ip=ip, user_agent=user_agent)
    token = open_session(session, user, ip=ip, user_agent=user_agent, method=f"password+{kind}", company=company)
    trusted = totp.trust_browser(session, user, ip=ip, user_agent=user_agent) if trust_browser else None
    return SignedIn(token=token, actor=actor, trusted_token=trusted)


def _check_credentials(session: Session, email: str, password: str) -> tuple[User | None, Company | None, str]:
    """(user, company, failure reason or ""). Always one argon2 verification unless the input is oversized."""
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        return None, None, "oversized_input"
    user = session.exec(select(User).where(func.lower(User.email) == email)).first()
    matches, new_hash = verify_password(password, user.password_hash if user else None)
    if user is None:
        return None, None, "unknown_email"
    if not matches:
        return user, None, "wrong_password"
    if not user.is_active:
        return user, None, "inactive_user"
    company = session.get(Company, user.company_id) if user.company_id else None
    if company is not None and company.status is not CompanyStatus.ACTIVE:
        return user, company, "company_deactivated"
    if company is not None and user.role is not Role.MANAGER and _sso_only(session, company.id):
        return user, company, "password_not_allowed"
    if new_hash:
        user.password_hash = new_hash
        session.add(user)
    return user, company, ""


def _sso_only(session: Session, company_id: uuid.UUID) -> bool:
    """The company signs its members in through its identity provider only (services/people/sso.py).
    Managers keep their password, so a broken provider cannot lock the company out."""
    query = select(SsoProvider.id).where(
        col(SsoProvider.company_id) == company_id, col(SsoProvider.allow_password).is_(False)
    )
    return session.exec(query).first() is not None


def _record_failed_login(
    session: Session, attempted_email: str, user: User | None, reason: str, *, ip: str, user_agent: str
) -> None:
    """Audit the failure and commit it: the caller's rollback on AuthenticationFailed must not erase it."""
    audit.record(
        session,
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        company_id=user.company_id if user else None,
        target_type=AuditTarget.USER if user else None,
        target_id=user.id if user else "",
        changes={"reason": reason},
        actor_email=attempted_email,
        ip=ip,
        user_agent=user_agent,
    )
    session.commit()
    log.info("login failed (%s)", reason)


# ---- sessions ------------------------------------------------------------------------------


def open_session(
    session: Session,
    user: User,
    *,
    ip: str,
    user_agent: str,
    method: str = "password",
    company: Company | None = None,
) -> str:
    """Start a session for `user` (already authenticated by the caller) and audit the login.

    Returns the raw token (for the cookie); only its hash is stored. Used by login, sign-up and
    invitation acceptance (`method` says which, in the audit entry).
    """
    if not user.is_active:
        raise AuthenticationFailed()
    if company is None and user.company_id is not None:
        company = session.get(Company, user.company_id)
    if company is not None and company.status is not CompanyStatus.ACTIVE:
        raise AuthenticationFailed("error.company_deactivated")
    ip, user_agent = _clip(ip, MAX_IP_LENGTH), _clip(user_agent, MAX_USER_AGENT_LENGTH)
    now = clock.now()
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=hash_token(token),
        user_agent=user_agent,
        ip=ip,
        created_at=now,
        last_seen_at=now,
        absolute_expires_at=now + timedelta(hours=get_settings().session_absolute_hours),
    )
    user.last_login_at = now
    session.add(row)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor_for(user, company, ip=ip, user_agent=user_agent),
        action=AuditAction.LOGIN,
        company_id=user.company_id,
        target_type=AuditTarget.SESSION,
        target_id=row.id,
        changes={"method": method},
    )
    return token


def resolve_session(session: Session, token: str | None, *, ip: str = "", user_agent: str = "") -> Actor | None:
    """The Actor behind a session token (with this request's ip and user agent), or None when the
    token is unknown, expired (idle or absolute), revoked, or its user or company is deactivated."""
    found = _active_session(session, token)
    return None if found is None else actor_for(found[1], found[2], ip=ip, user_agent=user_agent)


def _active_session(session: Session, token: str | None) -> tuple[UserSession, User, Company | None] | None:
    found = _load_session(session, token)
    if found is None:
        return None
    user_session, user, company = found
    now = clock.now()
    if not _is_active(user_session, now) or not user.is_active:
        return None
    if company is not None and company.status is not CompanyStatus.ACTIVE:
        return None
    # Write last_seen at most once a minute: a handler call should not always cost a write.
    if now - user_session.last_seen_at >= LAST_SEEN_EVERY:
        user_session.last_seen_at = now
        session.add(user_session)
    return found


def cached_actor(token: str | None, *, ip: str = "", user_agent: str = "") -> Actor | None:
    """The Actor behind a session token if the process's session cache may answer for it, else None
    (then ask `resolve_actor`). No I/O: safe to call on an event loop."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    cache = session_cache.started_process_cache()  # resolve_actor starts it; no thread is started here
    actor = cache.get(hash_token(token)) if cache is not None else None
    if actor is None:
        return None
    return replace(actor, ip=_clip(ip, MAX_IP_LENGTH), user_agent=_clip(user_agent, MAX_USER_AGENT_LENGTH))


def resolve_actor(
    token: str | None, *, ip: str = "", user_agent: str = "", cache: SessionCache | None = None
) -> Actor | None:
    """The Actor behind a session token: the one way the websocket guard and the HTTP routes turn a
    cookie into an Actor. From the process's session cache when it may serve (services.identity.
    session_cache says when), else in its own short system-scope transaction (no tenant known yet),
    which refills the cache. `cache`: another instance than the process's (tests)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    cache = cache if cache is not None else session_cache.process_cache()
    key = hash_token(token)
    actor = cache.get(key)
    if actor is None:
        ticket = cache.ticket()
        with system_scope() as session:
            found = _active_session(session, token)
        if found is None:
            return None
        row, user, company = found
        actor = actor_for(user, company)
        valid_until = min(row.absolute_expires_at, row.last_seen_at + min(_idle_limit(), LAST_SEEN_EVERY))
        cache.put(key, ticket, actor=actor, session_id=row.id, valid_until=valid_until)
    return replace(actor, ip=_clip(ip, MAX_IP_LENGTH), user_agent=_clip(user_agent, MAX_USER_AGENT_LENGTH))


def list_sessions(session: Session, actor: Actor, *, current_token: str | None = None) -> list[SessionInfo]:
    """The actor's own active sessions, most recently used first; `current` marks the one of `current_token`."""
    authorize(actor, Action.SESSION_LIST)
    now = clock.now()
    current_hash = hash_token(current_token) if current_token and len(current_token) <= MAX_TOKEN_LENGTH else None
    rows = session.exec(
        select(UserSession)
        .where(
            col(UserSession.user_id) == actor.user_id,
            col(UserSession.revoked_at).is_(None),
            col(UserSession.absolute_expires_at) > now,
            col(UserSession.last_seen_at) > now - _idle_limit(),
        )
        .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.created_at).desc())
    ).all()
    return [
        SessionInfo(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            ip=row.ip,
            user_agent=row.user_agent,
            current=current_hash is not None and secrets.compare_digest(row.token_hash, current_hash),
        )
        for row in rows
    ]


def revoke_session(session: Session, actor: Actor, session_id: uuid.UUID) -> None:
    """End one of the actor's own sessions. Another user's, an ended or a missing one: NotFound."""
    row = access_by_id(session, actor, Action.SESSION_REVOKE, UserSession, session_id)
    if not _is_active(row, clock.now()):
        raise NotFound()
    row.revoked_at = clock.now()
    session.add(row)
    session.flush()
    session_cache.drop_after_commit(session, [row.id])
    audit.record(
        session,
        actor=actor,
        action=AuditAction.SESSION_REVOKED,
        company_id=actor.company_id,
        target_type=AuditTarget.SESSION,
        target_id=row.id,
        changes={"reason": "revoked_by_user"},
    )


def logout(session: Session, token: str | None, *, ip: str = "", user_agent: str = "") -> None:
    """End the session of `token`. Unknown, already ended or empty tokens are ignored."""
    found = _load_session(session, token)
    if found is None:
        return
    user_session, user, company = found
    if user_session.revoked_at is not None:
        return
    user_session.revoked_at = clock.now()
    session.add(user_session)
    session.flush()
    session_cache.drop_after_commit(session, [user_session.id])
    audit.record(
        session,
        actor=actor_for(user, company, ip=ip, user_agent=user_agent),
        action=AuditAction.LOGOUT,
        company_id=user.company_id,
        target_type=AuditTarget.SESSION,
        target_id=user_session.id,
    )


def logout_all(session: Session, actor: Actor) -> int:
    """End every session of the actor, this one included ("log out everywhere"). Returns how many."""
    authorize(actor, Action.SESSION_REVOKE)
    ended = _revoke(session, _unrevoked_sessions(session, user_id=actor.user_id))
    audit.record(
        session,
        actor=actor,
        action=AuditAction.LOGOUT_ALL,
        company_id=actor.company_id,
        target_type=AuditTarget.USER,
        target_id=actor.user_id,
        changes={"sessions": ended},
    )
    return ended


def revoke_user_sessions(
    session: Session,
    user_id: uuid.UUID,
    *,
    reason: str,
    actor: Actor | None = None,
    keep_session_id: uuid.UUID | None = None,
) -> int:
    """End a user's sessions (deactivated, password or role changed), except `keep_session_id`.

    For services that have already authorised the change. Audited (when any session ended) with the
    reason and `actor` (None: the system). Returns how many sessions ended.
    """
    rows = [row for row in _unrevoked_sessions(session, user_id=user_id) if row.id != keep_session_id]
    ended = _revoke(session, rows)
    if ended:
        user = session.get(User, user_id)
        audit.record(
            session,
            actor=actor,
            action=AuditAction.SESSION_REVOKED,
            company_id=user.company_id if user else None,
            target_type=AuditTarget.USER,
            target_id=user_id,
            changes={"reason": reason, "sessions": ended},
        )
    return ended


def revoke_company_sessions(
    session: Session, company_id: uuid.UUID, *, reason: str = "company_deactivated", actor: Actor | None = None
) -> int:
    """End every session of every user of a company (the company was deactivated). Returns how many."""
    ended = _revoke(session, _unrevoked_sessions(session, company_id=company_id))
    if ended:
        audit.record(
            session,
            actor=actor,
            action=AuditAction.SESSION_REVOKED,
            company_id=company_id,
            target_type=AuditTarget.COMPANY,
            target_id=company_id,
            changes={"reason": reason, "sessions": ended},
        )
    return ended


def refresh_company_sessions(session: Session, company_id: uuid.UUID) -> None:
    """Something every Actor of the company carries changed (its read-only moment): once the
    transaction commits, every process's session cache forgets the company's sessions, so the next
    call resolves them afresh. Nothing is revoked."""
    ids = session.exec(
        select(UserSession.id)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(col(User.company_id) == company_id, col(UserSession.revoked_at).is_(None))
    ).all()
    if ids:
        session_cache.drop_after_commit(session, list(ids))


def session_id_for_token(session: Session, token: str | None, user_id: uuid.UUID) -> uuid.UUID | None:
    """The id of `token`'s session if it belongs to `user_id` (whatever its state), else None."""
    found = _load_session(session, token)
    if found is None or found[0].user_id != user_id:
        return None
    return found[0].id


# ---- helpers -------------------------------------------------------------------------------


def _idle_limit() -> timedelta:
    return timedelta(minutes=get_settings().session_idle_minutes)


def _is_active(row: UserSession, now: datetime) -> bool:
    return row.revoked_at is None and now < row.absolute_expires_at and now - row.last_seen_at < _idle_limit()


def _load_session(session: Session, token: str | None) -> tuple[UserSession, User, Company | None] | None:
    """The session row of `token` with its user and company, in one round trip (every handler call pays it)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = session.exec(
        select(UserSession, User, Company)
        .join(User, col(User.id) == col(UserSession.user_id))
        .outerjoin(Company, col(Company.id) == col(User.company_id))
        .where(col(UserSession.token_hash) == hash_token(token))
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


def _unrevoked_sessions(
    session: Session, *, user_id: uuid.UUID | None = None, company_id: uuid.UUID | None = None
) -> list[UserSession]:
    """Sessions not yet revoked nor past their absolute expiry. Idle ones are included on purpose:
    they must stay dead even if the idle timeout is raised later."""
    query = select(UserSession).where(
        col(UserSession.revoked_at).is_(None), col(UserSession.absolute_expires_at) > clock.now()
    )
    if user_id is not None:
        query = query.where(col(UserSession.user_id) == user_id)
    if company_id is not None:
        query = query.join(User, col(User.id) == col(UserSession.user_id)).where(col(User.company_id) == company_id)
    return list(session.exec(query.with_for_update(of=UserSession)).all())


def _revoke(session: Session, rows: list[UserSession]) -> int:
    """Revoke `rows`; every process's session cache drops them once the transaction commits."""
    now = clock.now()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    if rows:
        session.flush()
        session_cache.drop_after_commit(session, [row.id for row in rows])
    return len(rows)


def _clip(value: str | None, limit: int) -> str:
    return (value or "")[:limit]


def actor_for(user: User, company: Company | None = None, *, ip: str = "", user_agent: str = "") -> Actor:
    """The Actor of `user` (company: the user's, for its name), with the request's ip and user agent
    (cut to MAX_IP_LENGTH and MAX_USER_AGENT_LENGTH)."""
    return Actor(
        user_id=user.id,
        company_id=user.company_id,
        role=user.role,
        full_name=user.full_name,
        email=user.email,
        company_name=company.name if company else "",
        read_only_at=company.read_only_at if company else None,
        ip=_clip(ip, MAX_IP_LENGTH),
        user_agent=_clip(user_agent, MAX_USER_AGENT_LENGTH),
    )
