"""Login, sessions and logout.

The browser holds a random session token in an HttpOnly cookie; the database holds only its SHA-256.
Every request resolves the Actor from it, checking idle and absolute expiry and revocation.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from models import Company, CompanyStatus, User, UserSession
from services import clock
from services.actor import Actor
from services.errors import AuthenticationFailed, ValidationFailed
from services.passwords import verify_password
from services.settings import get_settings

SESSION_COOKIE = "wd_session"
MAX_EMAIL_LENGTH = 320
MAX_PASSWORD_LENGTH = 1024  # argon2 happily hashes megabytes; refuse to


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def session_max_age_seconds() -> int:
    return get_settings().session_absolute_hours * 3600


def login(session: Session, email: str, password: str, *, user_agent: str = "", ip: str = "") -> tuple[str, Actor]:
    """Check the password and open a session. Unknown email and wrong password fail the same way."""
    email = normalize_email(email or "")
    if not email or not password:
        raise ValidationFailed("error.login_required_fields")
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise AuthenticationFailed()
    user = session.exec(select(User).where(func.lower(User.email) == email)).first()
    matches, new_hash = verify_password(password, user.password_hash if user else None)
    if user is None or not matches or not user.is_active:
        raise AuthenticationFailed()
    company = session.get(Company, user.company_id) if user.company_id else None
    if company is not None and company.status is not CompanyStatus.ACTIVE:
        raise AuthenticationFailed("error.company_deactivated")
    if new_hash:
        user.password_hash = new_hash
    now = clock.now()
    user.last_login_at = now
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=hash_token(token),
            user_agent=(user_agent or "")[:512],
            ip=(ip or "")[:64],
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=now + timedelta(hours=get_settings().session_absolute_hours),
        )
    )
    session.add(user)
    session.flush()
    return token, _actor(user, company)


def resolve_session(session: Session, token: str | None) -> Actor | None:
    """The Actor behind a session token, or None when it is unknown, expired, revoked or its user/company is off."""
    if not token or len(token) > 128:
        return None
    row = session.exec(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)  # type: ignore[arg-type]
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    now = clock.now()
    idle_limit = timedelta(minutes=get_settings().session_idle_minutes)
    if (
        user_session.revoked_at is not None
        or now >= user_session.absolute_expires_at
        or now - user_session.last_seen_at >= idle_limit
        or not user.is_active
    ):
        return None
    company = session.get(Company, user.company_id) if user.company_id else None
    if company is not None and company.status is not CompanyStatus.ACTIVE:
        return None
    # Write last_seen at most once a minute: a handler call should not always cost a write.
    if now - user_session.last_seen_at >= timedelta(minutes=1):
        user_session.last_seen_at = now
        session.add(user_session)
    return _actor(user, company)


def logout(session: Session, token: str | None) -> None:
    if not token:
        return
    user_session = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if user_session is not None and user_session.revoked_at is None:
        user_session.revoked_at = clock.now()
        session.add(user_session)


def _actor(user: User, company: Company | None) -> Actor:
    return Actor(
        user_id=user.id,
        company_id=user.company_id,
        role=user.role,
        full_name=user.full_name,
        email=user.email,
        company_name=company.name if company else "",
    )
