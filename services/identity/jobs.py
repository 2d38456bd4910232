"""Identity's periodic work, run by the job worker (services/worker.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from models import UserSession
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
