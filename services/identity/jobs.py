"""Identity's periodic work, run by the job worker (services/worker.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from models import Company, PasswordReset, SignupVerification, UserSession
from services.core import clock

# Keep ended sessions a while so "your sessions" and incident reviews can still see them.
SESSION_RETENTION = timedelta(days=30)


def purge_sessions(session: Session) -> int:
    """Delete sessions that ended (expired or revoked) more than SESSION_RETENTION ago."""
    cutoff = clock.now() - SESSION_RETENTION
    result = session.execute(
        sa.delete(UserSession).where(
            sa.or_(UserSession.absolute_expires_at < cutoff, UserSession.revoked_at < cutoff)  # type: ignore[arg-type,operator]
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def expire_sign_ups(session: Session) -> int:
    """Delete sign-ups whose link expired unopened, with their company (its inactive manager and the
    pending row go with it: ON DELETE CASCADE). Returns how many companies went."""
    expired = sa.select(col(SignupVerification.company_id)).where(col(SignupVerification.expires_at) <= clock.now())
    result = session.execute(sa.delete(Company).where(col(Company.id).in_(expired.scalar_subquery())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_password_resets(session: Session) -> int:
    """Delete reset links that expired (used or not) more than a day ago: nothing can use them."""
    cutoff = clock.now() - timedelta(days=1)
    result = session.execute(sa.delete(PasswordReset).where(col(PasswordReset.expires_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
