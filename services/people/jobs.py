"""People's periodic work, run by the job worker (services/worker.py) in `system_scope`.

`purge_invitations`: an invitation that can no longer be used (expired unaccepted, or revoked) stays
visible on the team page for INVITATION_RETENTION, so a manager can still see it and invite again;
after that its row is deleted. Accepted invitations are kept: they say who invited whom. Safe to run
twice (a second run finds nothing).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from models import Invitation
from services.core import clock

INVITATION_RETENTION = timedelta(days=30)


def purge_invitations(session: Session) -> int:
    """Delete unaccepted invitations that expired or were revoked more than INVITATION_RETENTION ago."""
    cutoff = clock.now() - INVITATION_RETENTION
    result = session.execute(
        sa.delete(Invitation).where(
            col(Invitation.accepted_at).is_(None),
            sa.or_(col(Invitation.expires_at) < cutoff, col(Invitation.revoked_at) < cutoff),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
